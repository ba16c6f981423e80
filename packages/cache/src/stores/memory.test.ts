import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import {
  ENTRY_OVERHEAD_BYTES,
  HEADER_OVERHEAD_BYTES,
  INDEX_BYTES_PER_SLOT,
  memoryStore,
} from './memory.js';
import type { StoredResponse } from './store.js';

function entry(bodyBytes: number): StoredResponse {
  return {
    kind: 'response',
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: new Uint8Array(bodyBytes),
    requestTime: 0,
    responseTime: 0,
    initialAgeMs: 0,
    freshnessMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    immutable: false,
    etag: undefined,
    lastModified: undefined,
    variant: undefined,
  };
}

describe('memoryStore', () => {
  it('answers synchronously with what was set', () => {
    const store = memoryStore();
    const e = entry(10);
    store.set('k', e, 1_000);
    expect(store.get('k')).toBe(e);
    store.delete('k');
    expect(store.get('k')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the least recently used', () => {
    const store = memoryStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) store.set(key, entry(1), 60_000);
    store.get('a');
    store.set('d', entry(1), 60_000);
    expect(store.size).toBe(3);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBeDefined();
  });

  it('holds at most maxBytes, counting the index, bodies, headers and per-entry overhead', () => {
    const store = memoryStore({ maxEntries: 100, maxBytes: 15_600 });
    for (let i = 0; i < 20; i++) store.set(`k${i}`, entry(2_000), 60_000);
    const perEntry =
      ENTRY_OVERHEAD_BYTES +
      2 +
      2_000 +
      HEADER_OVERHEAD_BYTES +
      'content-type'.length +
      'text/plain'.length;
    const forEntries = 15_600 - 100 * INDEX_BYTES_PER_SLOT;
    expect(store.indexBytes).toBe(5_600);
    expect(store.size).toBe(Math.floor(forEntries / perEntry));
    expect(store.bytes).toBeLessThanOrEqual(forEntries);
  });

  it('refuses an entry larger than the whole store', () => {
    const store = memoryStore({ maxEntries: 10, maxBytes: 4_656 });
    store.set('big', entry(10_000), 60_000);
    expect(store.get('big')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('drops an entry once its time to live has passed on the given clock', async () => {
    const clock = new FakeClock();
    const store = memoryStore({ clock });
    store.set('k', entry(1), 1_000);
    await clock.advance(999);
    expect(store.get('k')).toBeDefined();
    await clock.advance(2);
    expect(store.get('k')).toBeUndefined();
  });

  it('empties on clear()', () => {
    const store = memoryStore();
    store.set('k', entry(1), 1_000);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it('rejects bad options with a message naming them', () => {
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(
      new RangeError('expected maxEntries to be an integer >= 1, got 0'),
    );
    expect(() => memoryStore({ maxBytes: 10 })).toThrow(
      new RangeError('expected maxBytes to be an integer >= 564096, got 10'),
    );
    expect(() => memoryStore({ maxEntries: 1_000, maxBytes: 60_095 })).toThrow(
      new RangeError('expected maxBytes to be an integer >= 60096, got 60095'),
    );
    expect(() => memoryStore({ maxEntries: 'many' as unknown as number })).toThrow(
      new TypeError('expected maxEntries to be an integer >= 1, got "many"'),
    );
    expect(() => memoryStore({ maxSize: 1 } as object)).toThrow(
      new TypeError(
        'unknown option "maxSize" for memoryStore(); expected one of maxEntries, maxBytes, clock',
      ),
    );
    expect(() => memoryStore(null as unknown as object)).toThrow(
      new TypeError('expected the options of memoryStore() to be an object, got null'),
    );
  });
});
