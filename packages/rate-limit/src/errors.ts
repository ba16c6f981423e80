/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises this one too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of this package's errors. A code, once published, keeps its meaning. */
export const RateLimitErrorCode = {
  RateLimited: 'BULWARK_RATE_LIMITED',
} as const;
export type RateLimitErrorCode = (typeof RateLimitErrorCode)[keyof typeof RateLimitErrorCode];

/**
 * Why a call was refused:
 * - `limit`: no permit was free and the limiter has no queue;
 * - `queue-full`: no permit was free and the queue was full;
 * - `max-wait`: the permit would come (or has not come) within `maxWaitMs`;
 * - `store-error`: the store failed and `onStoreError` is `'deny'`.
 */
export type RateLimitedReason = 'limit' | 'queue-full' | 'max-wait' | 'store-error';

/**
 * A rate limiter refused a call. It never names the key: keys are often user or tenant ids,
 * and error messages end up in logs.
 */
export class RateLimitedError extends Error {
  declare readonly code: typeof RateLimitErrorCode.RateLimited;
  constructor(
    readonly reason: RateLimitedReason,
    /** The limiter's policy name (its `name` option, else `"default"`). */
    readonly policy: string,
    /** Permits per window. */
    readonly limit: number,
    /** When to try again, in milliseconds: the basis of a `Retry-After` header. */
    readonly retryAfterMs: number,
  ) {
    super(`rate limit "${policy}" ${describeReason(reason)}; retry after ${retryAfterMs} ms`);
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, 'code', {
      value: RateLimitErrorCode.RateLimited,
      enumerable: true,
    });
    this.name = 'RateLimitedError';
  }
}

function describeReason(reason: RateLimitedReason): string {
  switch (reason) {
    case 'limit':
      return 'exceeded';
    case 'queue-full':
      return 'exceeded and its queue is full';
    case 'max-wait':
      return 'exceeded for longer than the caller may wait';
    case 'store-error':
      return 'could not be checked (its store failed) and fails closed';
  }
}

/** True for a {@link RateLimitedError}, from any installed copy of this package. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === RateLimitErrorCode.RateLimited
  );
}
