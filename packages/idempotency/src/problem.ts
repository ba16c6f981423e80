import type { KeyProblem } from './idempotency-key.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** A concurrent duplicate may try again shortly: the first request is still running. */
export const CONFLICT_RETRY_AFTER_S = 1;
/** The store is down: give it a moment before trying again. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** An RFC 9457 problem details object. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

/** Why a request was refused. */
export type RejectReason = 'missing' | 'invalid' | 'conflict' | 'mismatch' | 'unavailable';

const TYPE_BASE = 'urn:bulwark:idempotency:';

const KEY_DETAIL: Readonly<Record<KeyProblem, (maxLength: number) => string>> = {
  empty: () => 'The Idempotency-Key header is empty.',
  'too-long': (max) => `The Idempotency-Key header is longer than ${max} characters.`,
  characters: () => 'The Idempotency-Key header contains characters outside printable ASCII.',
  syntax: () =>
    'The Idempotency-Key header must be a quoted string ("...") or a token, with nothing after it.',
  multiple: () => 'The request carries more than one Idempotency-Key header.',
};

export function missingKeyProblem(): ProblemDetails {
  return {
    type: `${TYPE_BASE}key-missing`,
    title: 'Idempotency-Key is missing',
    status: 400,
    detail: 'This operation requires an Idempotency-Key header.',
  };
}

export function invalidKeyProblem(problem: KeyProblem, maxLength: number): ProblemDetails {
  return {
    type: `${TYPE_BASE}key-invalid`,
    title: 'Idempotency-Key is invalid',
    status: 400,
    detail: KEY_DETAIL[problem](maxLength),
  };
}

export function unfingerprintableProblem(): ProblemDetails {
  return {
    type: `${TYPE_BASE}body-invalid`,
    title: 'Request body cannot be fingerprinted',
    status: 400,
    detail: 'The request body is circular or nested too deeply to compare with a retry.',
  };
}

export function conflictProblem(): ProblemDetails {
  return {
    type: `${TYPE_BASE}request-in-progress`,
    title: 'A request with this Idempotency-Key is in progress',
    status: 409,
    detail: 'Retry after the first request has finished to receive its response.',
  };
}

export function mismatchProblem(): ProblemDetails {
  return {
    type: `${TYPE_BASE}key-reused`,
    title: 'Idempotency-Key is already used',
    status: 422,
    detail:
      'This Idempotency-Key was used for a request with a different method, path or body. Use a new key for a new request.',
  };
}

export function unavailableProblem(): ProblemDetails {
  return {
    type: `${TYPE_BASE}store-unavailable`,
    title: 'Idempotency cannot be guaranteed right now',
    status: 503,
    detail: 'The request was not executed. Retry it later with the same Idempotency-Key.',
  };
}
