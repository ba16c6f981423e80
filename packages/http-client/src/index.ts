export {
  createHttpClient,
  type HttpClient,
  type HttpRequestOptions,
  type JsonRequestOptions,
} from './http-client.js';
export {
  DEFAULT_ATTEMPT_HEADER,
  DEFAULT_BULKHEAD,
  DEFAULT_CONNECTIONS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DEADLINE_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_ORIGINS,
  DEFAULT_RETRY_STATUSES,
  DEFAULT_TIMEOUT_MS,
  type AttemptHeadersArgs,
  type HttpBreakerOptions,
  type HttpBulkheadOptions,
  type HttpClientOptions,
  type HttpClientPolicies,
  type HttpRetryOptions,
  type IncomingContext,
} from './options.js';
export { IDEMPOTENT_METHODS, KEYED_METHODS } from './methods.js';
export { DEFAULT_IDEMPOTENCY_KEY_HEADER } from './idempotency-key.js';
export { EXTRA_RETRYABLE_CODES } from './call-attempts.js';
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
