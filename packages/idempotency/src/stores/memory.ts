import { type Clock, systemClock } from '@bulwark/core';
import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import type { CompleteRecord, IdempotencyRecord, InProgressRecord } from '../record.js';
import type { IdempotencyStore } from './store.js';

/** Records kept at most, claims and stored responses together. */
export const DEFAULT_MAX_ENTRIES = 10_000;
/** Bytes of stored responses (bodies and headers) kept at most: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** What a record costs beyond its body and headers: key, record object, map slot. A measured estimate. */
const RECORD_OVERHEAD_BYTES = 256;
/** How many of the oldest entries a full store inspects for expired ones before evicting. */
const EXPIRED_SCAN = 32;

export interface MemoryStoreOptions {
  /** Records kept at most, claims in progress included. Default 10000. */
  maxEntries?: number;
  /** Bytes of stored responses kept at most (bodies, headers, per-record overhead). Default 64 MiB. */
  maxBytes?: number;
  /** Measures expiry. Default: the system clock. */
  clock?: Clock;
}

const OPTION_NAMES = optionNames<MemoryStoreOptions>({
  maxEntries: true,
  maxBytes: true,
  clock: true,
});

/** Thrown by `claim()` when the store is full of claims still in progress. The request answers 503. */
export class MemoryStoreFullError extends Error {
  readonly code = 'ERR_BULWARK_IDEMPOTENCY_STORE_FULL';
  constructor(readonly claims: number) {
    super(
      `idempotency memory store is full: all ${claims} entries are claims still in progress; ` +
        'raise maxEntries or use a shared store',
    );
    this.name = 'MemoryStoreFullError';
  }
}

interface Entry<R extends IdempotencyRecord> {
  readonly record: R;
  readonly expiresAt: number;
  readonly bytes: number;
}

function recordBytes(record: CompleteRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + record.body.byteLength;
  for (const name in record.headers) {
    const value = record.headers[name]!;
    bytes += name.length + (typeof value === 'string' ? value.length : value.join('').length);
  }
  return bytes;
}

/**
 * A bounded in-process store with TTLs. Expired records are dropped when met; no timer runs.
 *
 * Eviction never touches a claim that is still in progress: dropping one would let a duplicate
 * run while the first is still running, the one thing this package exists to prevent. When room
 * is needed, expired records go first, then the oldest stored responses (a late retry of one of
 * those runs again, which is why the bounds should sit well above the peak); when only live
 * claims are left, `claim()` throws {@link MemoryStoreFullError} and the request answers 503.
 */
export class MemoryStore implements IdempotencyStore {
  // A Map iterates in insertion order, so each head is the oldest write.
  private readonly claims = new Map<string, Entry<InProgressRecord>>();
  private readonly records = new Map<string, Entry<CompleteRecord>>();
  private recordBytes = 0;

  /** @internal Use {@link memoryStore}. */
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly clock: Clock,
  ) {}

  /** Records held now (claims and responses), expired ones not yet dropped included. */
  get size(): number {
    return this.claims.size + this.records.size;
  }

  /** Bytes held by stored responses, as counted against `maxBytes`. */
  get bytes(): number {
    return this.recordBytes;
  }

  claim(key: string, claim: InProgressRecord, lockMs: number): IdempotencyRecord | undefined {
    const now = this.clock.now();
    const held = this.claims.get(key);
    if (held !== undefined) {
      if (held.expiresAt > now) return held.record;
      this.claims.delete(key);
    }
    const stored = this.records.get(key);
    if (stored !== undefined) {
      if (stored.expiresAt > now) return stored.record;
      this.dropRecord(key, stored);
    }
    this.makeRoom(now, 1, 0);
    this.claims.set(key, { record: claim, expiresAt: now + lockMs, bytes: 0 });
    return undefined;
  }

  complete(key: string, claim: InProgressRecord, record: CompleteRecord, ttlMs: number): boolean {
    const now = this.clock.now();
    if (!this.holds(key, claim, now)) return false;
    const bytes = recordBytes(record);
    this.claims.delete(key);
    // A response larger than the whole budget is not kept: the key is freed, as if released.
    if (bytes > this.maxBytes) return false;
    this.makeRoom(now, 1, bytes);
    this.records.set(key, { record, expiresAt: now + ttlMs, bytes });
    this.recordBytes += bytes;
    return true;
  }

  release(key: string, claim: InProgressRecord): boolean {
    if (!this.holds(key, claim, this.clock.now())) return false;
    this.claims.delete(key);
    return true;
  }

  private holds(key: string, claim: InProgressRecord, now: number): boolean {
    const entry = this.claims.get(key);
    return entry !== undefined && entry.expiresAt > now && entry.record.token === claim.token;
  }

  private dropRecord(key: string, entry: Entry<CompleteRecord>): void {
    this.records.delete(key);
    this.recordBytes -= entry.bytes;
  }

  private full(entries: number, bytes: number): boolean {
    return this.size + entries > this.maxEntries || this.recordBytes + bytes > this.maxBytes;
  }

  /** Makes room for `entries` more entries and `bytes` more bytes, or throws. */
  private makeRoom(now: number, entries: number, bytes: number): void {
    if (!this.full(entries, bytes)) return;
    let scanned = 0;
    for (const [key, entry] of this.records) {
      if (scanned++ >= EXPIRED_SCAN) break;
      if (entry.expiresAt <= now) this.dropRecord(key, entry);
    }
    scanned = 0;
    for (const [key, entry] of this.claims) {
      if (scanned++ >= EXPIRED_SCAN) break;
      if (entry.expiresAt <= now) this.claims.delete(key);
    }
    while (this.full(entries, bytes)) {
      const oldest = this.records.entries().next();
      if (oldest.done === true) break;
      this.dropRecord(oldest.value[0], oldest.value[1]);
    }
    if (this.full(entries, bytes)) throw new MemoryStoreFullError(this.claims.size);
  }
}

/**
 * The default store: records in this process's memory, bounded by `maxEntries` and `maxBytes`.
 * Enough for a single instance; a fleet behind a load balancer needs a shared store such as
 * `redisStore`.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  checkOptionsObject('memoryStore', options);
  checkKnownOptions('memoryStore', options, OPTION_NAMES);
  const {
    maxEntries = DEFAULT_MAX_ENTRIES,
    maxBytes = DEFAULT_MAX_BYTES,
    clock = systemClock,
  } = options;
  checkInteger('maxEntries', maxEntries, 1);
  checkInteger('maxBytes', maxBytes, 1);
  return new MemoryStore(maxEntries, maxBytes, clock);
}
