import { describeValue } from '@bulwark/core/internal';

/**
 * Checks core's `check*` helpers do not cover: a ratio with an exclusive lower bound (a
 * failure ratio of 0 would open the breaker on every call) and nested option objects.
 */

/** A number in (0, 1]. */
export function checkRatio(name: string, value: unknown): asserts value is number {
  const expected = `expected ${name} to be a number > 0 and <= 1, got ${describeValue(value)}`;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(expected);
  if (!(value > 0 && value <= 1)) throw new RangeError(expected);
}

/** A plain object (not null, not an array). */
export function checkObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${name} to be an object, got ${describeValue(value)}`);
  }
}
