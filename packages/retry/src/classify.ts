import {
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isTimeoutError,
} from '@bulwark/core';
import { isRetryableNetworkError } from './network-errors.js';

/**
 * HTTP statuses worth another attempt: the request timed out (408), came too early (425), hit a
 * rate limit (429), or met a server error that is usually transient (500, 502, 503, 504). Not
 * 501 or 505: those are permanent answers.
 */
export const RETRYABLE_STATUS_CODES: readonly number[] = Object.freeze([
  408, 425, 429, 500, 502, 503, 504,
]);

/** Status codes are three digits; anything else on a `status` field is not an HTTP status. */
const STATUS_LIMIT = 1000;

/**
 * Whether a thrown error should be retried. Predicates take the value itself rather than an
 * arguments object: the result predicate runs on every successful call, and a predicate of one
 * value has nothing to grow.
 */
export type ErrorPredicate = (error: unknown) => boolean;
/** Whether a returned value is a failure that should be retried. */
export type ResultPredicate = (result: unknown) => boolean;

/**
 * Which failures a retry policy retries, as a value. A missing predicate retries nothing of its
 * kind. Whatever the classifier says, a {@link CancelledError} or {@link DeadlineExceededError}
 * is never retried.
 */
export interface RetryClassifier {
  /** Thrown errors to retry. */
  readonly error?: ErrorPredicate;
  /** Returned values to treat as failures and retry (e.g. a 503 response). */
  readonly result?: ResultPredicate;
}

function numberField(value: object, key: 'status' | 'statusCode'): number | undefined {
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'number' ? field : undefined;
}

/**
 * The HTTP status a value carries: its own `status` or `statusCode` (fetch's Response, undici's
 * `request()`), else its `response`'s (axios, got and ky errors).
 */
export function statusOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const own = numberField(value, 'status') ?? numberField(value, 'statusCode');
  if (own !== undefined) return own;
  const response = (value as { response?: unknown }).response;
  if (typeof response !== 'object' || response === null) return undefined;
  return numberField(response, 'status') ?? numberField(response, 'statusCode');
}

/**
 * A predicate, for results or errors, that is true when the value's HTTP status (see
 * {@link statusOf}) is one of `codes`.
 */
export function retryableStatus(
  codes: Iterable<number> = RETRYABLE_STATUS_CODES,
): (value: unknown) => boolean {
  // A lookup table: the result predicate runs on every call, successful ones included.
  const table = new Uint8Array(STATUS_LIMIT);
  for (const code of codes) {
    if (!Number.isInteger(code) || code < 100 || code >= STATUS_LIMIT) {
      throw new RangeError(
        `expected codes to hold HTTP status codes between 100 and 999, got ${String(code)}`,
      );
    }
    table[code] = 1;
  }
  return (value) => {
    const status = statusOf(value);
    return status !== undefined && status >= 0 && status < STATUS_LIMIT && table[status] === 1;
  };
}

const hasRetryableStatus = retryableStatus();

/**
 * The default error predicate: transient network errors (also in the `cause` chain), Bulwark's
 * per-attempt {@link TimeoutError}, and errors carrying a retryable HTTP status. Never a
 * cancellation, an exceeded deadline, an open circuit or a full bulkhead: retrying into an open
 * breaker or a full bulkhead only adds load where it hurts.
 */
export function isRetryableError(error: unknown): boolean {
  if (
    isCancelledError(error) ||
    isDeadlineExceededError(error) ||
    isBrokenCircuitError(error) ||
    isBulkheadRejectedError(error)
  ) {
    return false;
  }
  return isTimeoutError(error) || isRetryableNetworkError(error) || hasRetryableStatus(error);
}

/** A predicate that is true when any of `predicates` is. */
export function anyOf(
  ...predicates: ReadonlyArray<(value: unknown) => boolean>
): (value: unknown) => boolean {
  predicates.forEach((predicate, index) => {
    if (typeof predicate !== 'function') {
      throw new TypeError(`expected anyOf argument ${index + 1} to be a function`);
    }
  });
  return (value) => predicates.some((predicate) => predicate(value));
}

/**
 * What `retry()` retries by default: {@link isRetryableError} for errors, and results whose HTTP
 * status is in {@link RETRYABLE_STATUS_CODES}.
 */
export const defaultClassifier: RetryClassifier = Object.freeze({
  error: isRetryableError,
  result: hasRetryableStatus,
});
