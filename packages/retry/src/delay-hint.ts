import { isBrokenCircuitError, isBulkheadRejectedError } from '@bulwark/core';
import { type DelayHint, type HeadersLike, delayFromHeaders } from './retry-after.js';

/** What a `delayHint` function is told about the failure it may find a hint in. */
export interface DelayHintArgs {
  /** The failure: the thrown error, or the result the classifier counted as a failure. */
  readonly error: unknown;
  /** True when `error` is a returned result rather than a thrown error. */
  readonly isResult: boolean;
  /** The attempt that failed, counting from 1. */
  readonly attempt: number;
  /** Wall-clock milliseconds (the policy clock's `dateNow()`), to read HTTP dates against. */
  readonly dateNow: number;
}

/**
 * Extracts a server delay hint from a failure: milliseconds to wait, `'do-not-retry'`, or
 * `undefined` for none. Anything else (NaN, a negative number, a non-number) counts as none.
 */
export type DelayHintFn = (args: DelayHintArgs) => DelayHint;

function isHeaders(value: unknown): value is HeadersLike {
  return typeof value === 'object' && value !== null;
}

/** Where HTTP and gRPC clients keep response headers on results and errors. */
function headersOf(value: unknown): HeadersLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // fetch's Response, undici's request() result, got/ky/axios responses; error.headers on some.
  const own = (value as { headers?: unknown }).headers;
  if (isHeaders(own)) return own;
  // axios, got and ky errors carry the response.
  const response = (value as { response?: unknown }).response;
  if (typeof response === 'object' && response !== null) {
    const headers = (response as { headers?: unknown }).headers;
    if (isHeaders(headers)) return headers;
  }
  // @grpc/grpc-js errors carry trailers as Metadata, whose get() returns an array.
  const metadata = (value as { metadata?: unknown }).metadata;
  return isHeaders(metadata) ? metadata : undefined;
}

/**
 * The default `delayHint`: the headers of the result, or of the error, its `response` or its
 * gRPC `metadata`, read by {@link delayFromHeaders}. Bulwark's own BrokenCircuitError and
 * BulkheadRejectedError carry `retryAfterMs`, used when a classifier chooses to retry them.
 */
export function defaultDelayHint({ error, isResult, dateNow }: DelayHintArgs): DelayHint {
  if (!isResult && (isBrokenCircuitError(error) || isBulkheadRejectedError(error))) {
    return error.retryAfterMs;
  }
  const headers = headersOf(error);
  return headers === undefined ? undefined : delayFromHeaders(headers, dateNow);
}
