import { STATUS_CODES } from 'node:http';
import {
  BulkheadRejectedError,
  DeadlineExceededError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isTimeoutError,
} from '@bulwark/core';

/** Retry-After when a 503 carries no better hint, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** What nginx and most proxies log when the client went away first; nobody reads the answer. */
export const CLIENT_CLOSED_REQUEST = 499;

/** The body of every answer made for a Bulwark error: the shape Fastify's error handler uses. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** An HTTP answer for an error. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Whole seconds, rounded up so a client never comes back early, and at least 1. */
export function retryAfterSeconds(ms: number | undefined): number {
  if (ms === undefined || !(ms > 0)) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil(ms / 1000));
}

function answer(
  statusCode: number,
  code: string,
  message: string,
  headers: Readonly<Record<string, string>> = NO_HEADERS,
): HttpAnswer {
  return {
    statusCode,
    headers,
    body: { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message },
  };
}

/**
 * The HTTP answer for an error Bulwark knows: 503 with Retry-After for shedding, a full bulkhead
 * or an open circuit; 504 for an exceeded deadline or timeout; 499 for a caller that went away;
 * the error's own status (400, 409, 422...) for errors that carry one, such as idempotency
 * conflicts. Undefined for anything else, which is left to the application.
 */
export function httpAnswerFor(error: unknown): HttpAnswer | undefined {
  if (isBulkheadRejectedError(error)) {
    return answer(503, error.code, error.message, {
      'retry-after': String(retryAfterSeconds(error.retryAfterMs)),
    });
  }
  if (isBrokenCircuitError(error)) {
    return answer(503, error.code, error.message, {
      'retry-after': String(retryAfterSeconds(error.retryAfterMs)),
    });
  }
  if (isDeadlineExceededError(error) || isTimeoutError(error)) {
    return answer(504, error.code, error.message);
  }
  if (isCancelledError(error)) return answer(CLIENT_CLOSED_REQUEST, error.code, error.message);
  return undefined;
}

/**
 * Gives an error Bulwark raised on its own account the fields frameworks' default error handlers
 * read (`statusCode`, `status`, `headers`, `expose`), so it is answered properly even where the
 * application's own error handler knows nothing of Bulwark.
 */
export function withHttpFields<E extends Error>(error: E, answer: HttpAnswer): E {
  const fields: PropertyDescriptorMap = {
    statusCode: { value: answer.statusCode, configurable: true },
    status: { value: answer.statusCode, configurable: true },
    expose: { value: true, configurable: true },
  };
  if (answer.headers !== NO_HEADERS) fields.headers = { value: answer.headers, configurable: true };
  return Object.defineProperties(error, fields);
}

/** A shedding rejection: the request was refused before it ran, to protect the process. */
export function shedError(
  reason: string,
  limit: number,
  queueLimit: number,
  retryAfterMs: number,
): BulkheadRejectedError {
  const error = new BulkheadRejectedError('shed', limit, queueLimit, retryAfterMs);
  error.message = `load shed (${reason}): request refused to protect the service`;
  return withHttpFields(error, httpAnswerFor(error)!);
}

/** The caller's budget was spent before the request could start. */
export function expiredBudgetError(): DeadlineExceededError {
  const error = new DeadlineExceededError(
    0,
    "the caller's deadline had passed when the request arrived",
  );
  return withHttpFields(error, httpAnswerFor(error)!);
}
