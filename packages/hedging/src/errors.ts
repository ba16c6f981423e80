/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of the hedging policy's own errors. A code, once published, keeps its meaning. */
export const HedgingErrorCode = {
  NotIdempotent: 'BULWARK_NOT_IDEMPOTENT',
} as const;
export type HedgingErrorCode = (typeof HedgingErrorCode)[keyof typeof HedgingErrorCode];

/**
 * A call reached a hedger built with `idempotent: 'marked'` without the mark of `idempotent()`.
 * Nothing ran: a call that may not be repeated is refused rather than run twice.
 */
export class NotIdempotentError extends Error {
  declare readonly code: typeof HedgingErrorCode.NotIdempotent;
  constructor(
    /** The operation from the execution context, when it has one. */
    readonly operation: string | undefined,
  ) {
    super(
      `${operation ?? 'a call'} is not marked safe to repeat: mark its function with idempotent() or keep it away from the hedger`,
    );
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, 'code', {
      value: HedgingErrorCode.NotIdempotent,
      enumerable: true,
    });
    this.name = 'NotIdempotentError';
  }
}

export const isNotIdempotentError = (e: unknown): e is NotIdempotentError =>
  typeof e === 'object' &&
  e !== null &&
  (e as Record<symbol, unknown>)[BRAND] === true &&
  (e as { code?: unknown }).code === HedgingErrorCode.NotIdempotent;
