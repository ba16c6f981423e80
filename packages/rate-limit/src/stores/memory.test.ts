import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_KEYS, memoryStore } from './memory.js';

describe('memoryStore', () => {
  it('defaults to 10 000 keys per limiter, as a frozen value', () => {
    const store = memoryStore();
    expect(store).toEqual({ kind: 'memory', maxKeys: DEFAULT_MAX_KEYS });
    expect(DEFAULT_MAX_KEYS).toBe(10_000);
    expect(Object.isFrozen(store)).toBe(true);
  });

  it.each([
    [{ maxKeys: 0 }, RangeError, 'expected maxKeys to be an integer between 1 and 1000000, got 0'],
    [
      { maxKeys: 1_000_001 },
      RangeError,
      'expected maxKeys to be an integer between 1 and 1000000, got 1000001',
    ],
    [
      { maxKeys: Number.NaN },
      TypeError,
      'expected maxKeys to be an integer between 1 and 1000000, got NaN',
    ],
    [
      { max: 5 },
      TypeError,
      'unknown option "max" for memoryStore(); did you mean "maxKeys"? expected one of maxKeys',
    ],
    [null, TypeError, 'expected the options of memoryStore() to be an object, got null'],
  ])('rejects %o', (options, Kind, message) => {
    expect(() => memoryStore(options as never)).toThrow(new Kind(message));
  });
});
