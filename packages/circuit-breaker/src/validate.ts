import { describeValue } from '@bulwark/core/internal';

/**
 * A check core's `check*` helpers do not cover: a ratio with an exclusive lower bound (a
 * failure ratio of 0 would open the breaker on every call).
 */

/** A number in (0, 1]. */
export function checkRatio(name: string, value: unknown): asserts value is number {
  const expected = `expected ${name} to be a number > 0 and <= 1, got ${describeValue(value)}`;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(expected);
  if (!(value > 0 && value <= 1)) throw new RangeError(expected);
}
