import {
  BulkheadRejectedError,
  DeadlineExceededError,
  ErrorCode,
  isBulwarkError,
} from '@bulwark/core';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '@bulwark/idempotency';

/** Retry-After when a 503 carries no better hint, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** The longest Retry-After passed on from a dependency's 429, in seconds. */
export const MAX_FORWARDED_RETRY_AFTER_SECONDS = 300;
/** What nginx and most proxies log when the client went away first; nobody reads the answer. */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The stable codes of `@bulwark/http-client`'s errors. They are matched by value, behind the
 * brand every Bulwark error carries, so the server needs neither the client nor the same
 * installed copy of it.
 */
const HttpClientCode = {
  HttpStatus: 'BULWARK_HTTP_STATUS',
  RetriesExhausted: 'BULWARK_RETRIES_EXHAUSTED',
  BodyTooLarge: 'BULWARK_BODY_TOO_LARGE',
  BodyNotReplayable: 'BULWARK_BODY_NOT_REPLAYABLE',
  Network: 'BULWARK_NETWORK',
} as const;

/** `@bulwark/rate-limit`'s refusal, matched by value like the client's codes. */
const RATE_LIMITED = 'BULWARK_RATE_LIMITED';
/**
 * `@bulwark/service-client`'s refusal when none of a service's endpoints can take a call (none
 * known, or all ejected or behind an open circuit), matched by value too.
 */
const NO_ENDPOINTS = 'BULWARK_NO_ENDPOINTS';

/** Each answer's problem, without a word about what failed inside: no URL, no error message. */
const PROBLEMS = {
  dependencyFailed: problem(
    'dependency-failed',
    'Dependency failed',
    502,
    'A service this request depends on failed or could not be reached.',
  ),
  dependencyTimeout: problem(
    'dependency-timeout',
    'Dependency timed out',
    504,
    'A service this request depends on did not answer in time.',
  ),
  deadlineExceeded: problem(
    'deadline-exceeded',
    'Deadline exceeded',
    504,
    "The request's time budget ran out before it could be completed.",
  ),
  dependencyUnavailable: problem(
    'dependency-unavailable',
    'Dependency unavailable',
    503,
    'A service this request depends on is failing, so calls to it are paused. Retry after the time in Retry-After.',
  ),
  dependencyRateLimited: problem(
    'dependency-rate-limited',
    'Dependency rate limit reached',
    503,
    'A service this request depends on refuses further calls for now. Retry after the time in Retry-After.',
  ),
  overloaded: problem(
    'overloaded',
    'Service overloaded',
    503,
    'The service is at capacity. Retry after the time in Retry-After.',
  ),
  rateLimited: problem(
    'rate-limited',
    'Too many requests',
    429,
    'This client has sent too many requests. Retry after the time in Retry-After.',
  ),
  rateLimitUnavailable: problem(
    'rate-limit-unavailable',
    'Rate limit unavailable',
    503,
    'The rate limit could not be checked, so the request was refused. Retry after the time in Retry-After.',
  ),
  clientClosed: problem(
    'client-closed-request',
    'Client closed request',
    CLIENT_CLOSED_REQUEST,
    'The client went away before the answer was ready.',
  ),
} as const;

/** How many wrapping errors deep a cause is looked for: the client wraps once. */
const MAX_CAUSE_DEPTH = 3;

/** An HTTP answer for an error: an RFC 9457 problem. */
export interface HttpAnswer {
  readonly statusCode: number;
  /** `content-type: application/problem+json`, and `retry-after` (seconds) for 503s. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemDetails;
}

function problem(name: string, title: string, status: number, detail: string): ProblemDetails {
  return Object.freeze({ type: `urn:bulwark:${name}`, title, status, detail });
}

const PLAIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': PROBLEM_CONTENT_TYPE,
});

/** Whole seconds, rounded up so a client never comes back early, and at least 1. */
export function retryAfterSeconds(ms: number | undefined): number {
  if (ms === undefined || !(ms > 0)) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil(ms / 1000));
}

function answer(body: ProblemDetails, retryAfter?: number): HttpAnswer {
  const headers =
    retryAfter === undefined
      ? PLAIN_HEADERS
      : { 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': String(retryAfter) };
  return { statusCode: body.status, headers, body };
}

/**
 * A dependency's `Retry-After` in seconds, when it is delta-seconds; read from the network, so
 * checked before use and capped. An HTTP-date is not worth a clock here: the default stands in.
 */
function forwardedRetryAfter(headers: unknown): number {
  const value =
    typeof headers === 'object' && headers !== null
      ? (headers as Record<string, unknown>)['retry-after']
      : undefined;
  if (typeof value !== 'string' || value.length > 10 || !/^\d+$/.test(value)) {
    return DEFAULT_RETRY_AFTER_SECONDS;
  }
  return Math.min(Math.max(Number(value), 1), MAX_FORWARDED_RETRY_AFTER_SECONDS);
}

function retryAfterMsOf(error: object): number | undefined {
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}

function answerForCode(error: object, code: unknown, depth: number): HttpAnswer | undefined {
  switch (code) {
    case ErrorCode.BulkheadRejected:
      return answer(PROBLEMS.overloaded, retryAfterSeconds(retryAfterMsOf(error)));
    case ErrorCode.BrokenCircuit:
    case ErrorCode.IsolatedCircuit:
    case NO_ENDPOINTS:
      return answer(PROBLEMS.dependencyUnavailable, retryAfterSeconds(retryAfterMsOf(error)));
    case ErrorCode.DeadlineExceeded:
      return answer(PROBLEMS.deadlineExceeded);
    case ErrorCode.Timeout:
      return answer(PROBLEMS.dependencyTimeout);
    case ErrorCode.Cancelled:
      return answer(PROBLEMS.clientClosed);
    case HttpClientCode.Network:
    case HttpClientCode.BodyTooLarge:
      return answer(PROBLEMS.dependencyFailed);
    case RATE_LIMITED:
      // An outbound quota (this service's own calls to a dependency) ran out; an inbound limit
      // is answered 429 by the adapters before the handler runs, never through this error.
      return answer(PROBLEMS.dependencyRateLimited, retryAfterSeconds(retryAfterMsOf(error)));
    case HttpClientCode.HttpStatus:
      // Our caller is not the one over the limit: the service cannot serve it for now.
      return (error as { status?: unknown }).status === 429
        ? answer(
            PROBLEMS.dependencyRateLimited,
            forwardedRetryAfter((error as { headers?: unknown }).headers),
          )
        : answer(PROBLEMS.dependencyFailed);
    case HttpClientCode.RetriesExhausted:
    case HttpClientCode.BodyNotReplayable: {
      // The caller waited out the last failure: a run of timeouts is a 504, of 429s a 503.
      const cause = (error as { cause?: unknown }).cause;
      const inner =
        depth < MAX_CAUSE_DEPTH && isBulwarkError(cause)
          ? answerForCode(cause, cause.code, depth + 1)
          : undefined;
      return inner ?? answer(PROBLEMS.dependencyFailed);
    }
    default:
      return undefined;
  }
}

/**
 * The HTTP answer for an error Bulwark or its HTTP client raised, as an RFC 9457 problem with
 * nothing internal in it: 502 for a dependency that failed or could not be reached, 504 for an
 * exceeded deadline or timeout, 503 with Retry-After for an open circuit, a service with no
 * endpoint available, a full bulkhead (or shedding), a dependency's rate limit or this service's
 * own outbound quota, 499 for a caller that went away. An error that wraps the
 * last failure (retries exhausted) is answered for that failure. Errors are recognised by their
 * brand and code, so a second installed copy of Bulwark is recognised too. Undefined for
 * anything else, which is left to the application.
 */
export function httpAnswerFor(error: unknown): HttpAnswer | undefined {
  if (!isBulwarkError(error)) return undefined;
  return answerForCode(error, error.code, 0);
}

/**
 * Gives an error Bulwark raised on its own account the fields frameworks' default error handlers
 * read (`statusCode`, `status`, `headers`, `expose`), so it is answered with the right status and
 * Retry-After even where the application's own error handler knows nothing of Bulwark. The
 * content type is left out: those handlers write their own body.
 */
export function withHttpFields<E extends Error>(error: E, answer: HttpAnswer): E {
  const fields: PropertyDescriptorMap = {
    statusCode: { value: answer.statusCode, configurable: true },
    status: { value: answer.statusCode, configurable: true },
    expose: { value: true, configurable: true },
  };
  const retryAfter = answer.headers['retry-after'];
  if (retryAfter !== undefined) {
    fields.headers = { value: { 'retry-after': retryAfter }, configurable: true };
  }
  return Object.defineProperties(error, fields);
}

/**
 * The problem of an inbound request refused by its caller's rate limit: 429, or 503 when the
 * limit's store failed and the limiter refuses in that case (`onStoreError: 'deny'`), as the
 * caller is then not the one over a limit.
 */
export function rateLimitedProblem(storeFailed: boolean): ProblemDetails {
  return storeFailed ? PROBLEMS.rateLimitUnavailable : PROBLEMS.rateLimited;
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
