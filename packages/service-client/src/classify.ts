import { isBrokenCircuitError, isTimeoutError } from '@bulwark/core';
import { isNetworkError } from '@bulwark/http-client';
import { isLocalShutdown, isTransientFailure } from '@bulwark/http-client/internal';
import type { RetryClassifier } from '@bulwark/retry';

/**
 * Errors of a connection that was never made: nothing of the request was written, so it may go
 * to another endpoint whatever its method (Finagle calls these failures "restartable"). A reset
 * or a closed socket is not among them: a request may have left before it.
 */
export const NOT_SENT_CODES: readonly string[] = Object.freeze([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const notSentCodes = new Set(NOT_SENT_CODES);

/**
 * A failure that proves the request never reached the endpoint: its circuit breaker refused it,
 * or the connection could not be made.
 */
export function neverSent(error: unknown): boolean {
  if (isBrokenCircuitError(error)) return true;
  if (!isNetworkError(error) || error.committed) return false;
  const code = (error.cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && notSentCodes.has(code);
}

/**
 * An attempt's error that counts against its endpoint (for outlier detection and its latency
 * estimate): an attempt timeout or a network error. Not an open breaker (nothing was sent), not
 * the call's deadline or the caller's abort (the caller's doing), not a body over the size limit.
 */
export function isEndpointFailure(error: unknown): boolean {
  if (isTimeoutError(error)) return true;
  return isNetworkError(error) && !isLocalShutdown(error);
}

/** A status that counts against its endpoint: a server error. */
export function isEndpointFailureStatus(status: number): boolean {
  return status >= 500;
}

/**
 * Whether a failed attempt may be sent again: one that never left may always go (to another
 * endpoint); one that did only when the call may be repeated (an idempotent method, an
 * operation declared idempotent, or an Idempotency-Key) and the failure is transient (a timeout,
 * a network error that may not recur), and, for a call that is not idempotent by its method,
 * only before the endpoint answered: once the headers are in, the endpoint has acted.
 */
export function isRetryableError(
  error: unknown,
  repeatable: boolean,
  idempotent: boolean,
): boolean {
  if (neverSent(error)) return true;
  if (!repeatable || !isTransientFailure(error)) return false;
  return idempotent || !isNetworkError(error) || !error.committed;
}

/**
 * Failures (errors and responses) a call's attempts found worth another attempt. Each call
 * decides for its own attempts, as only it knows its method, key and endpoints; the retry or
 * hedging policy, shared by every call of an operation, asks here. Only failures enter.
 */
const markedRetryable = new WeakSet<object>();

export function markRetryable(failure: unknown): void {
  if (typeof failure === 'object' && failure !== null) markedRetryable.add(failure);
}

export function isMarkedRetryable(failure: unknown): boolean {
  return markedRetryable.has(failure as object);
}

/** The classifier of every operation's retry or hedging: exactly what the attempts marked. */
export const serviceRetryClassifier: RetryClassifier = Object.freeze({
  error: isMarkedRetryable,
  result: isMarkedRetryable,
});
