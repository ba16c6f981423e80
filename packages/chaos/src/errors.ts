/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises this one too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of this package's errors. A code, once published, keeps its meaning. */
export const ChaosErrorCode = {
  InjectedFault: 'BULWARK_CHAOS_FAULT',
} as const;
export type ChaosErrorCode = (typeof ChaosErrorCode)[keyof typeof ChaosErrorCode];

/**
 * What `chaosFault()` throws when it was given no `error` of its own. Its name and message say
 * that it was injected, so it cannot be mistaken for a real failure in a log.
 */
export class ChaosFaultError extends Error {
  declare readonly code: typeof ChaosErrorCode.InjectedFault;
  constructor(
    /** The injecting policy's `name` option, when set. */
    readonly policy: string | undefined,
  ) {
    super(
      policy === undefined
        ? 'fault injected by chaos'
        : `fault injected by chaos policy "${policy}"`,
    );
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, 'code', {
      value: ChaosErrorCode.InjectedFault,
      enumerable: true,
    });
    this.name = 'ChaosFaultError';
  }
}

/** True for a {@link ChaosFaultError}, from any installed copy of this package. */
export function isChaosFaultError(error: unknown): error is ChaosFaultError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === ChaosErrorCode.InjectedFault
  );
}
