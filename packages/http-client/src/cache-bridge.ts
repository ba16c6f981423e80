import { STATUS_CODES } from 'node:http';
import {
  type CacheResult,
  type HeaderRecord,
  type HttpCache,
  splitSetCookie,
} from '@bulwark/cache';
import {
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  isTimeoutError,
} from '@bulwark/core';
import { isNetworkError, isRetriesExhaustedError } from './errors.js';
import type { CallState, PreparedRequest } from './http-client.js';
import {
  type ClientResponse,
  HttpResponse,
  type HttpStreamResponse,
  type ResponseCacheInfo,
  type ResponseHeaders,
} from './response.js';

/**
 * Runs one pass of a call through the resilience pipeline, with these headers and signal: the
 * client. The cache sits outside the pipeline and asks for a pass whenever it needs the origin.
 */
export interface PipelineRunner {
  run(
    request: PreparedRequest,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
    call: CallState,
  ): Promise<ClientResponse>;
}

/** Safe methods (RFC 9110 §9.2.1): a streamed one bypasses the cache, and invalidates nothing. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

const STALE_STATUSES: ReadonlySet<string> = new Set([
  'stale',
  'stale-while-revalidate',
  'stale-if-error',
]);

/**
 * Whether a call goes around the cache: a streamed safe request (caching would read its body
 * whole). A streamed unsafe one goes through it, to invalidate what it changed.
 */
export function bypassesCache(request: PreparedRequest): boolean {
  return request.streaming && SAFE_METHODS.has(request.method);
}

/**
 * A call through the cache: a fresh hit never enters the pipeline; a miss or a revalidation goes
 * through it; when it fails (retries exhausted, an open breaker, a timeout, the deadline) a stale
 * response may stand in.
 */
export async function cachedCall(
  cache: HttpCache,
  runner: PipelineRunner,
  request: PreparedRequest,
  call: CallState,
): Promise<HttpResponse> {
  // The last response the origin gave: a miss returns it as it came, headers and all.
  let last: HttpResponse | undefined;
  const result = await cache.handle(
    { method: request.method, url: request.origin + request.path, headers: request.headers },
    async (origin) => {
      // The origin request's signal: the caller's, or none for a background revalidation,
      // which must outlive the caller that triggered it.
      last = (await runner.run(request, origin.headers, origin.signal, call)) as HttpResponse;
      return last;
    },
    { signal: call.signal, operation: call.operation },
  );
  if (result.cacheStatus === 'stale-if-error' && !isOriginFailure(result.failure)) {
    // Not the origin failing (a body over maxBodyBytes, a bad body factory...): no stand-in.
    throw result.failure;
  }
  return cachedResponse(result, last);
}

/**
 * A streamed unsafe request: not cacheable, but when it succeeds it must invalidate what it
 * changed, which the cache decides from the status and headers alone.
 */
export async function streamedUnsafeCall(
  cache: HttpCache,
  runner: PipelineRunner,
  request: PreparedRequest,
  call: CallState,
): Promise<HttpStreamResponse> {
  let response: HttpStreamResponse | undefined;
  await cache.handle(
    { method: request.method, url: request.origin + request.path, headers: request.headers },
    async (origin) => {
      response = (await runner.run(
        request,
        origin.headers,
        origin.signal,
        call,
      )) as HttpStreamResponse;
      return { status: response.status, headers: response.headers };
    },
    { signal: call.signal, operation: call.operation },
  );
  return response!;
}

/**
 * Failures of the origin, or of the pipeline protecting the caller from it, that a stale
 * response may stand in for (stale-if-error): a 5xx, a network error, retries exhausted, an open
 * breaker, a full bulkhead, a timeout or the deadline. Not the caller's own mistakes.
 */
export function isOriginFailure(failure: unknown): boolean {
  return (
    typeof failure === 'number' ||
    isNetworkError(failure) ||
    isRetriesExhaustedError(failure) ||
    isTimeoutError(failure) ||
    isDeadlineExceededError(failure) ||
    isBrokenCircuitError(failure) ||
    isIsolatedCircuitError(failure) ||
    isBulkheadRejectedError(failure)
  );
}

/** The client's response for a cache result; `last` is the origin's latest response, if any. */
export function cachedResponse(result: CacheResult, last: HttpResponse | undefined): HttpResponse {
  const info: ResponseCacheInfo = {
    status: result.cacheStatus,
    age: result.age,
    stale: STALE_STATUSES.has(result.cacheStatus),
    failure: result.failure,
  };
  if (last !== undefined && result.body === last.body) {
    // The origin's own response: its headers as they came, with the cache's Cache-Status.
    const headers: Record<string, string | string[] | undefined> = {};
    for (const name in last.headers) headers[name] = last.headers[name];
    const status = result.headers['cache-status'];
    if (status !== undefined) headers['cache-status'] = status;
    return new HttpResponse(last.status, last.statusText, headers, last.body, last.attempts, info);
  }
  const body = result.body;
  return new HttpResponse(
    result.status,
    STATUS_CODES[result.status] ?? '',
    withCookieList(result.headers),
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    // A revalidation was answered by an attempt (the 304's); a hit or a stale answer by none.
    result.cacheStatus === 'revalidated' ? (last?.attempts ?? 0) : 0,
    info,
  );
}

/**
 * Stored headers as undici gives them: a private cache keeps the cookies of a Set-Cookie field
 * joined in one string, and undici hands several out as an array.
 */
function withCookieList(headers: HeaderRecord): ResponseHeaders {
  const joined = headers['set-cookie'];
  if (joined === undefined) return headers;
  const cookies = splitSetCookie(joined);
  return { ...headers, 'set-cookie': cookies.length === 1 ? cookies[0] : cookies };
}
