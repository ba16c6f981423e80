export {
  createHttpClient,
  type HttpClient,
  type HttpRequestOptions,
  type JsonRequestOptions,
} from './http-client.js';
export {
  type AttemptHeadersArgs,
  type HttpBreakerOptions,
  type HttpBulkheadOptions,
  type HttpClientOptions,
  type HttpClientPolicies,
  type HttpRetryOptions,
  type IncomingContext,
} from './options.js';
export type { BodyData, RequestBody } from './body.js';
export type { QueryValue } from './target.js';
export {
  HttpResponse,
  HttpStreamResponse,
  type ResponseCacheInfo,
  type ResponseHeaders,
} from './response.js';
export {
  BodyTooLargeError,
  HttpErrorCode,
  HttpStatusError,
  NetworkError,
  RetriesExhaustedError,
  StreamBodyNotReplayableError,
  isBodyTooLargeError,
  isHttpStatusError,
  isNetworkError,
  isRetriesExhaustedError,
  isStreamBodyNotReplayableError,
} from './errors.js';
// The core errors the client raises, so that one import serves a caller catching them.
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  TimeoutError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isBulwarkError,
  isCancelledError,
  isDeadlineExceededError,
  isTimeoutError,
} from '@bulwark/core';
