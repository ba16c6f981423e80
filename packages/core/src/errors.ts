import {
  BrokenCircuitError as CockatielBrokenCircuitError,
  BulkheadRejectedError as CockatielBulkheadRejectedError,
  TaskCancelledError as CockatielTaskCancelledError,
} from 'cockatiel';

/**
 * Errors carry a brand under a registered symbol, so `isX()` guards work even when two
 * copies of Bulwark are installed side by side and `instanceof` would fail.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable error codes. A code, once published, keeps its meaning. */
export const ErrorCode = {
  Timeout: 'BULWARK_TIMEOUT',
  DeadlineExceeded: 'BULWARK_DEADLINE_EXCEEDED',
  Cancelled: 'BULWARK_CANCELLED',
  BrokenCircuit: 'BULWARK_BROKEN_CIRCUIT',
  IsolatedCircuit: 'BULWARK_ISOLATED_CIRCUIT',
  BulkheadRejected: 'BULWARK_BULKHEAD_REJECTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface BulwarkErrorShape extends Error {
  readonly code: ErrorCode;
}

function brand(error: Error, code: ErrorCode, name: string): void {
  Object.defineProperty(error, BRAND, { value: true });
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  error.name = name;
}

function hasCode(error: unknown, code: ErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === code
  );
}

/** True for every error Bulwark raises on its own account. */
export function isBulwarkError(error: unknown): error is BulwarkErrorShape {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}

/** A per-attempt timeout elapsed. */
export class TimeoutError extends Error {
  declare readonly code: typeof ErrorCode.Timeout;
  constructor(
    /** The timeout that elapsed, in milliseconds. */
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`operation timed out after ${timeoutMs} ms`, options);
    brand(this, ErrorCode.Timeout, 'TimeoutError');
  }
}
export const isTimeoutError = (e: unknown): e is TimeoutError => hasCode(e, ErrorCode.Timeout);

/** The overall deadline budget ran out (or too little was left to start the next step). */
export class DeadlineExceededError extends Error {
  declare readonly code: typeof ErrorCode.DeadlineExceeded;
  constructor(
    /** The whole budget, in milliseconds, when known. */
    readonly budgetMs: number | undefined,
    message = budgetMs === undefined ? 'deadline exceeded' : `deadline of ${budgetMs} ms exceeded`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    brand(this, ErrorCode.DeadlineExceeded, 'DeadlineExceededError');
  }
}
export const isDeadlineExceededError = (e: unknown): e is DeadlineExceededError =>
  hasCode(e, ErrorCode.DeadlineExceeded);

/**
 * The caller aborted the operation. Extends cockatiel's `TaskCancelledError`, so code that
 * checks for cockatiel's error keeps working.
 */
export class CancelledError extends CockatielTaskCancelledError {
  declare readonly code: typeof ErrorCode.Cancelled;
  constructor(
    message = 'operation cancelled by the caller',
    /** The abort reason the caller gave, if any. */
    readonly reason?: unknown,
  ) {
    super(message);
    brand(this, ErrorCode.Cancelled, 'CancelledError');
  }
}
export const isCancelledError = (e: unknown): e is CancelledError =>
  hasCode(e, ErrorCode.Cancelled);

/** A circuit breaker is open (or half-open with no trial slot free). Extends cockatiel's. */
export class BrokenCircuitError extends CockatielBrokenCircuitError {
  declare readonly code: typeof ErrorCode.BrokenCircuit | typeof ErrorCode.IsolatedCircuit;
  constructor(
    message = 'circuit is open',
    /** The breaker's key, for keyed registries. */
    readonly key?: string,
    /** How long until the breaker lets a trial call through, in milliseconds, when known. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    // The code is defined once, read-only: a subclass cannot redefine it afterwards.
    if (this instanceof IsolatedCircuitError) {
      brand(this, ErrorCode.IsolatedCircuit, 'IsolatedCircuitError');
    } else {
      brand(this, ErrorCode.BrokenCircuit, 'BrokenCircuitError');
    }
  }
}
export const isBrokenCircuitError = (e: unknown): e is BrokenCircuitError =>
  hasCode(e, ErrorCode.BrokenCircuit) || hasCode(e, ErrorCode.IsolatedCircuit);

/** A circuit breaker was opened by hand with `isolate()`. */
export class IsolatedCircuitError extends BrokenCircuitError {
  declare readonly code: typeof ErrorCode.IsolatedCircuit;
  /** Cockatiel's duck-typed marker, so its `isIsolatedCircuitError()` recognises this error too. */
  readonly isIsolatedCircuitError = true;
  constructor(key?: string) {
    super(key === undefined ? 'circuit is isolated' : `circuit ${key} is isolated`, key);
  }
}
export const isIsolatedCircuitError = (e: unknown): e is IsolatedCircuitError =>
  hasCode(e, ErrorCode.IsolatedCircuit);

/** A bulkhead had no free slot and no queue space, or a queued call waited too long. */
export class BulkheadRejectedError extends CockatielBulkheadRejectedError {
  declare readonly code: typeof ErrorCode.BulkheadRejected;
  constructor(
    /** Why the call was rejected. */
    readonly reason: 'full' | 'queue-timeout' | 'shed',
    /** The concurrency limit at the time. */
    readonly limit: number,
    /** The queue size limit at the time. */
    readonly queueLimit: number,
    /** A hint for a 503's Retry-After, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(limit, queueLimit);
    this.message =
      reason === 'queue-timeout'
        ? `bulkhead queue timeout: no slot freed in time (limit ${limit}, queue ${queueLimit})`
        : reason === 'shed'
          ? `load shed: call rejected to protect the service (limit ${limit}, queue ${queueLimit})`
          : `bulkhead full: ${limit} calls running and ${queueLimit} queued`;
    brand(this, ErrorCode.BulkheadRejected, 'BulkheadRejectedError');
  }
}
export const isBulkheadRejectedError = (e: unknown): e is BulkheadRejectedError =>
  hasCode(e, ErrorCode.BulkheadRejected);

/**
 * Cockatiel's own errors, as Bulwark's equivalents: an open cockatiel breaker becomes a
 * {@link BrokenCircuitError} (or {@link IsolatedCircuitError}), a full cockatiel bulkhead a
 * {@link BulkheadRejectedError}, each with the original as `cause`. Bulwark's errors extend
 * cockatiel's classes, so `instanceof` checks written for cockatiel still hold. Anything else,
 * Bulwark's own errors included, is returned as it is. Pipelines apply this to what a cockatiel
 * policy inside them throws, so the `isX()` guards (and the HTTP answers built on them) work
 * whichever library raised the error.
 */
export function fromCockatielError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || isBulwarkError(error)) return error;
  const marked = error as {
    isBrokenCircuitError?: unknown;
    isIsolatedCircuitError?: unknown;
    isBulkheadRejectedError?: unknown;
    message?: unknown;
  };
  let translated: Error;
  if (marked.isIsolatedCircuitError === true) {
    translated = new IsolatedCircuitError();
  } else if (marked.isBrokenCircuitError === true) {
    translated = new BrokenCircuitError();
  } else if (marked.isBulkheadRejectedError === true) {
    // Cockatiel does not say how large its bulkhead was: the counts are unknown.
    translated = new BulkheadRejectedError('full', Number.NaN, Number.NaN);
    if (typeof marked.message === 'string') translated.message = marked.message;
  } else {
    return error;
  }
  Object.defineProperty(translated, 'cause', { value: error, configurable: true, writable: true });
  return translated;
}
