import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { CompleteRecord, InProgressRecord } from '../record.js';
import { MemoryStoreFullError, memoryStore } from './memory.js';

const claim = (token: string): InProgressRecord => ({
  state: 'in_progress',
  token,
  fingerprint: 'f',
  startedAt: 0,
});
const done: CompleteRecord = {
  state: 'complete',
  fingerprint: 'f',
  status: 201,
  headers: {},
  body: new Uint8Array(),
  completedAt: 0,
};

describe('memoryStore', () => {
  it('claims a free key once and then returns the record that holds it', () => {
    const store = memoryStore({ clock: new FakeClock() });
    const mine = claim('a');
    expect(store.claim('k', mine, 1_000)).toBeUndefined();
    expect(store.claim('k', claim('b'), 1_000)).toBe(mine);
  });

  it('completes and releases only for the claim that holds the key', () => {
    const store = memoryStore({ clock: new FakeClock() });
    store.claim('k', claim('a'), 1_000);
    expect(store.complete('k', claim('b'), done, 1_000)).toBe(false);
    expect(store.release('k', claim('b'))).toBe(false);
    expect(store.complete('k', claim('a'), done, 1_000)).toBe(true);
    expect(store.claim('k', claim('c'), 1_000)).toBe(done);
    // A completed record is not a claim: it cannot be released.
    expect(store.release('k', claim('a'))).toBe(false);
  });

  it('does not complete a claim that expired', async () => {
    const clock = new FakeClock();
    const store = memoryStore({ clock });
    store.claim('k', claim('a'), 1_000);
    await clock.advance(1_000);
    expect(store.complete('k', claim('a'), done, 1_000)).toBe(false);
    expect(store.claim('k', claim('b'), 1_000)).toBeUndefined();
  });

  it('keeps a completed record for its TTL', async () => {
    const clock = new FakeClock();
    const store = memoryStore({ clock });
    store.claim('k', claim('a'), 1_000);
    store.complete('k', claim('a'), done, 5_000);
    await clock.advance(4_999);
    expect(store.claim('k', claim('b'), 1_000)).toBe(done);
    await clock.advance(1);
    expect(store.claim('k', claim('b'), 1_000)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping expired records first, then the oldest response', async () => {
    const clock = new FakeClock();
    const store = memoryStore({ clock, maxEntries: 3 });
    store.claim('short', claim('s'), 10);
    store.claim('a', claim('a'), 10_000);
    store.complete('a', claim('a'), done, 10_000);
    store.claim('b', claim('b'), 10_000);
    await clock.advance(10);
    store.claim('c', claim('c'), 10_000);
    expect(store.size).toBe(3);
    // 'short' had expired and went; 'a' is still stored.
    expect(store.claim('a', claim('x'), 10_000)).toBe(done);
    store.claim('d', claim('d'), 10_000);
    expect(store.size).toBe(3);
    // Nothing had expired: the oldest stored response, 'a', went; the claims stayed.
    expect(store.claim('b', claim('y'), 10_000)).toMatchObject({ token: 'b' });
    expect(store.claim('c', claim('y'), 10_000)).toMatchObject({ token: 'c' });
    expect(store.claim('d', claim('y'), 10_000)).toMatchObject({ token: 'd' });
  });

  it('never evicts a claim in progress: when only claims are left, claiming throws', () => {
    const store = memoryStore({ clock: new FakeClock(), maxEntries: 2 });
    store.claim('a', claim('a'), 10_000);
    store.claim('b', claim('b'), 10_000);
    expect(() => store.claim('c', claim('c'), 10_000)).toThrow(MemoryStoreFullError);
    expect(() => store.claim('c', claim('c'), 10_000)).toThrow(
      'idempotency memory store is full: all 2 entries are claims still in progress; raise maxEntries or use a shared store',
    );
    // Both claims still hold; once one is released there is room again.
    expect(store.claim('a', claim('x'), 10_000)).toMatchObject({ token: 'a' });
    expect(store.release('b', claim('b'))).toBe(true);
    expect(store.claim('c', claim('c'), 10_000)).toBeUndefined();
  });

  it('bounds the bytes of stored responses, evicting the oldest', () => {
    const body = (n: number): CompleteRecord => ({ ...done, body: new Uint8Array(n) });
    // Each record costs its body plus a 256-byte overhead estimate.
    const store = memoryStore({ clock: new FakeClock(), maxBytes: 3_000 });
    for (const key of ['a', 'b', 'c']) {
      store.claim(key, claim(key), 10_000);
      expect(store.complete(key, claim(key), body(700), 10_000)).toBe(true);
    }
    expect(store.bytes).toBe(3 * 956);
    store.claim('d', claim('d'), 10_000);
    expect(store.complete('d', claim('d'), body(700), 10_000)).toBe(true);
    expect(store.bytes).toBe(3 * 956);
    expect(store.claim('a', claim('z'), 10_000)).toBeUndefined();
    expect(store.claim('b', claim('z'), 10_000)).toMatchObject({ state: 'complete' });
    // A response bigger than the whole budget is not kept, and its key is free again.
    store.claim('huge', claim('h'), 10_000);
    expect(store.complete('huge', claim('h'), body(5_000), 10_000)).toBe(false);
    expect(store.claim('huge', claim('h2'), 10_000)).toBeUndefined();
  });

  it('validates its options', () => {
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(
      new RangeError('expected maxEntries to be an integer >= 1, got 0'),
    );
    expect(() => memoryStore({ maxBytes: 0.5 })).toThrow(
      new RangeError('expected maxBytes to be an integer >= 1, got 0.5'),
    );
    expect(() => memoryStore({ max: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "max" for memoryStore(); expected one of maxEntries, maxBytes, clock',
      ),
    );
  });
});
