import { checkFunction, checkKnownOptions, describeValue } from '@bulwark/core/internal';

/** Whether a thrown error is a failure to fall back on. */
export type FallbackErrorPredicate = (error: unknown) => boolean;
/** Whether a returned value is a failure to fall back on (a 503 response, say). */
export type FallbackResultPredicate = (result: unknown) => boolean;

/**
 * Which failures a fallback answers for, as a value: the same shape as `@bulwark/retry`'s
 * classifier. A missing predicate answers for nothing of its kind. Whatever it says, a
 * cancellation is never answered for.
 */
export interface FallbackClassifier {
  readonly error?: FallbackErrorPredicate;
  readonly result?: FallbackResultPredicate;
}

function anyError(): boolean {
  return true;
}

/**
 * What `fallback()` answers for by default: every thrown error, so a broken circuit, a full
 * bulkhead or shed load, an exceeded deadline or timeout, a network error, an HTTP error a
 * client throws and the function's own errors; no returned value. A cancellation never is.
 */
export const DEFAULT_WHEN: FallbackClassifier = Object.freeze({ error: anyError });

/** The length past which an error's code or name is not a name but data, and not reported. */
const MAX_REASON_LENGTH = 64;

function shortText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_REASON_LENGTH
    ? value
    : undefined;
}

/**
 * A short, low-cardinality name for a failure, for events and error messages: its HTTP status
 * (a response's, or an HTTP error's), else an error's `code` (`BULWARK_BROKEN_CIRCUIT`,
 * `ECONNRESET`), else its class name.
 */
export function failureReason(failure: unknown, isResult: boolean): string {
  const fallbackName = isResult ? 'result' : 'unknown';
  if (typeof failure !== 'object' || failure === null) return fallbackName;
  const { status, statusCode, code, name } = failure as Record<string, unknown>;
  const httpStatus = typeof status === 'number' ? status : statusCode;
  if (typeof httpStatus === 'number' && Number.isInteger(httpStatus)) return String(httpStatus);
  if (isResult) return fallbackName;
  return shortText(code) ?? shortText(name) ?? fallbackName;
}

export function checkClassifier(value: unknown): asserts value is FallbackClassifier {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected when to be an object with error and/or result predicates, got ${describeValue(value)}`,
    );
  }
  checkKnownOptions('when', value, ['error', 'result']);
  const { error, result } = value as { error?: unknown; result?: unknown };
  if (error === undefined && result === undefined) {
    throw new TypeError('expected when to have an error or a result predicate, got neither');
  }
  if (error !== undefined) checkFunction('when.error', error);
  if (result !== undefined) checkFunction('when.result', result);
}
