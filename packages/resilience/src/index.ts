export { standardPipeline, type StandardPipeline } from './standard-pipeline.js';
export { standardOrder, type StandardStages } from './standard-order.js';
export type { BreakerFor, StandardPipelineOptions } from './options.js';
export {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BREAKER_FAILURE_RATIO,
  DEFAULT_BREAKER_MIN_THROUGHPUT,
  DEFAULT_BREAKER_WINDOW_MS,
  DEFAULT_BREAK_DURATION_MS,
  DEFAULT_BULKHEAD_LIMIT,
  DEFAULT_BULKHEAD_QUEUE,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BREAK_DURATION_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
  DEFAULT_RETRY_BUDGET_RATIO,
  DEFAULT_RETRY_BUDGET_WINDOW_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
} from './defaults.js';

// The policies and the parts their options are built from, so that one install and one import
// configure every stage. Each is the same value its own package exports.
export {
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  isTimeoutError,
  pipeline,
  type ExecutionContext,
  type Policy,
  type TelemetryListener,
} from '@bulwark/core';
export { deadline, timeout } from '@bulwark/timeout';
export {
  constantBackoff,
  exponentialBackoff,
  linearBackoff,
  retry,
  retryBudget,
  type RetryBudget,
  type RetryOptions,
} from '@bulwark/retry';
export {
  breakerRegistry,
  circuitBreaker,
  consecutive,
  countWindow,
  timeWindow,
  type BreakerRegistry,
  type CircuitBreaker,
  type CircuitBreakerOptions,
} from '@bulwark/circuit-breaker';
export { adaptiveLimit, bulkhead, type Bulkhead, type BulkheadOptions } from '@bulwark/bulkhead';
export {
  isRateLimitedError,
  rateLimit,
  slidingWindow,
  tokenBucket,
  type RateLimitPolicyOptions,
} from '@bulwark/rate-limit';
export {
  adaptiveDelay,
  hedging,
  idempotent,
  isNotIdempotentError,
  type HedgingOptions,
} from '@bulwark/hedging';
export { fallback, isFallbackFailedError, type FallbackOptions } from '@bulwark/fallback';
