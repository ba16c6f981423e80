import { type Clock, systemClock } from '@bulwark/core';
import { checkInteger, checkOptionsObject } from '@bulwark/core/internal';
import type { CompleteRecord, IdempotencyRecord, InProgressRecord } from '../record.js';
import type { IdempotencyStore } from './store.js';

/** Records kept at most; the oldest written goes first when full. */
export const DEFAULT_MAX_ENTRIES = 10_000;
/** How many of the oldest entries a full store inspects for expired ones before evicting. */
const EXPIRED_SCAN = 32;

export interface MemoryStoreOptions {
  /** Records kept at most. Default 10000. */
  maxEntries?: number;
  /** Measures expiry. Default: the system clock. */
  clock?: Clock;
}

interface Entry {
  readonly record: IdempotencyRecord;
  readonly expiresAt: number;
}

/** A bounded in-process store with TTLs. Expired records are dropped when met; no timer runs. */
export class MemoryStore implements IdempotencyStore {
  // A Map iterates in insertion order; every write re-inserts, so the head is the oldest write.
  private readonly entries = new Map<string, Entry>();

  /** @internal Use {@link memoryStore}. */
  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  /** Records held now, expired ones not yet dropped included. */
  get size(): number {
    return this.entries.size;
  }

  claim(key: string, claim: InProgressRecord, lockMs: number): IdempotencyRecord | undefined {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (entry.expiresAt > now) return entry.record;
      this.entries.delete(key);
    }
    this.makeRoom(now);
    this.entries.set(key, { record: claim, expiresAt: now + lockMs });
    return undefined;
  }

  complete(key: string, claim: InProgressRecord, record: CompleteRecord, ttlMs: number): boolean {
    const now = this.clock.now();
    if (!this.holds(key, claim, now)) return false;
    this.entries.delete(key);
    this.entries.set(key, { record, expiresAt: now + ttlMs });
    return true;
  }

  release(key: string, claim: InProgressRecord): boolean {
    if (!this.holds(key, claim, this.clock.now())) return false;
    this.entries.delete(key);
    return true;
  }

  private holds(key: string, claim: InProgressRecord, now: number): boolean {
    const entry = this.entries.get(key);
    return (
      entry !== undefined &&
      entry.expiresAt > now &&
      entry.record.state === 'in_progress' &&
      entry.record.token === claim.token
    );
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    let scanned = 0;
    for (const [key, entry] of this.entries) {
      if (scanned++ >= EXPIRED_SCAN) break;
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}

/**
 * The default store: records in this process's memory, bounded by `maxEntries`. Enough for a
 * single instance; a fleet behind a load balancer needs a shared store such as `redisStore`.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  checkOptionsObject('memoryStore', options);
  const { maxEntries = DEFAULT_MAX_ENTRIES, clock = systemClock } = options;
  checkInteger('maxEntries', maxEntries, 1);
  return new MemoryStore(maxEntries, clock);
}
