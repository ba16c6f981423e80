/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of the fallback policy's own errors. A code, once published, keeps its meaning. */
export const FallbackErrorCode = {
  FallbackFailed: 'BULWARK_FALLBACK_FAILED',
} as const;
export type FallbackErrorCode = (typeof FallbackErrorCode)[keyof typeof FallbackErrorCode];

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'a non-error value';
}

/**
 * A fallback function failed: it threw, its promise rejected, or it ran past its time limit. The
 * failure it was answering for is the `cause`; its own error is `fallbackError`.
 */
export class FallbackFailedError extends Error {
  declare readonly code: typeof FallbackErrorCode.FallbackFailed;
  constructor(
    /** The failure the fallback was answering for: an error, or a result `when` rejected. */
    cause: unknown,
    /** What the fallback threw, or the `TimeoutError` (or `DeadlineExceededError`) that cut it short. */
    readonly fallbackError: unknown,
    /** The short name of `cause` that the `fallback` event reports as its `reason`. */
    readonly reason: string,
  ) {
    super(`the fallback for ${reason} failed: ${describeError(fallbackError)}`, { cause });
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, 'code', {
      value: FallbackErrorCode.FallbackFailed,
      enumerable: true,
    });
    this.name = 'FallbackFailedError';
  }
}

export const isFallbackFailedError = (e: unknown): e is FallbackFailedError =>
  typeof e === 'object' &&
  e !== null &&
  (e as Record<symbol, unknown>)[BRAND] === true &&
  (e as { code?: unknown }).code === FallbackErrorCode.FallbackFailed;
