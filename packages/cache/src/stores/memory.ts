import { type Clock, systemClock } from '@bulwark/core';
import { checkInteger, checkKnownOptions, checkOptionsObject } from '@bulwark/core/internal';
import { LRUCache } from 'lru-cache';
import type { CacheStore, StoredRecord } from './store.js';

/** How many entries the memory store holds by default. */
export const DEFAULT_MAX_ENTRIES = 10_000;
/** How many bytes the memory store holds by default: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/**
 * What one entry costs beyond its key, body and header characters: the entry object, its header
 * record, the typed array, the result cache and the LRU's map slot. Measured with V8's heap
 * figures (see `benchmarks/src/cache.mjs`), with a margin, so that `maxBytes` bounds the real heap.
 */
export const ENTRY_OVERHEAD_BYTES = 448;
/** What one header field costs beyond its characters: a property slot and a string header. */
export const HEADER_OVERHEAD_BYTES = 40;
/**
 * What the LRU allocates per `maxEntries` slot for its index (key, value, link, size and TTL
 * arrays), with a margin over what was measured (benchmarks/RESULTS.md, "Design figures"),
 * reserved from `maxBytes` up front.
 */
export const INDEX_BYTES_PER_SLOT = 56;

export interface MemoryStoreOptions {
  /** At most this many entries (variants and Vary markers count). Default 10 000. */
  maxEntries?: number;
  /**
   * At most this many bytes of heap in all: the LRU's index (56 bytes per `maxEntries` slot,
   * reserved up front), then bodies, headers and per-entry overhead. Default 64 MiB.
   */
  maxBytes?: number;
  /** Measures the entries' time to live. Default: the system clock. */
  clock?: Clock;
}

/** The memory store: synchronous, with its occupancy for metrics and tests. */
export interface MemoryStore extends CacheStore {
  get(key: string): StoredRecord | undefined;
  set(key: string, record: StoredRecord, ttlMs: number): void;
  delete(key: string): void;
  /** Entries held (expired ones included until they are touched or pushed out). */
  readonly size: number;
  /** Bytes accounted for the entries held (the index not included). */
  readonly bytes: number;
  /** Bytes reserved for the LRU's index: `maxEntries` x 56. `bytes + indexBytes <= maxBytes`. */
  readonly indexBytes: number;
  clear(): void;
}

/** The heap an entry holds, estimated from its parts (strings are one byte a character). */
function recordSize(record: StoredRecord, key: string): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length;
  if (record.kind === 'vary') return bytes + record.names.join().length + record.id.length;
  bytes += record.body.byteLength + (record.variant?.length ?? 0) + (record.etag?.length ?? 0);
  const headers = record.headers;
  for (const name in headers) bytes += HEADER_OVERHEAD_BYTES + name.length + headers[name]!.length;
  return bytes;
}

class LruStore implements MemoryStore {
  private readonly lru: LRUCache<string, StoredRecord>;
  readonly indexBytes: number;

  constructor(maxEntries: number, maxBytes: number, clock: Clock) {
    this.indexBytes = maxEntries * INDEX_BYTES_PER_SLOT;
    this.lru = new LRUCache<string, StoredRecord>({
      max: maxEntries,
      // The index is allocated up front: what is left of maxBytes is for the entries.
      maxSize: maxBytes - this.indexBytes,
      sizeCalculation: recordSize,
      // A fake clock moves in jumps: check it on every read rather than once a millisecond. The
      // LRU reads a start time of 0 as "no TTL", and a fake clock starts at 0: shift it by one.
      ...(clock === systemClock ? {} : { perf: { now: () => clock.now() + 1 }, ttlResolution: 0 }),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get(key: string): StoredRecord | undefined {
    return this.lru.get(key);
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    // An entry bigger than the whole store is refused by the LRU; it simply is not kept.
    this.lru.set(key, record, { ttl: ttlMs });
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }
}

/**
 * The default store: an LRU bounded by entry count and by bytes, whose entries expire with
 * their own time to live. Answers synchronously, so a fresh hit costs no extra promise turn.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  checkOptionsObject('memoryStore', options);
  checkKnownOptions('memoryStore', options, ['maxEntries', 'maxBytes', 'clock']);
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  checkInteger('maxEntries', maxEntries, 1);
  // Room for the index and at least one small entry.
  checkInteger('maxBytes', maxBytes, maxEntries * INDEX_BYTES_PER_SLOT + 4096);
  return new LruStore(maxEntries, maxBytes, options.clock ?? systemClock);
}
