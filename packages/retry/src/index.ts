export {
  retry,
  type RetryOptions,
  type RetryPolicy,
  type RetryScheduledHintEvent,
} from './retry.js';
export {
  constantBackoff,
  exponentialBackoff,
  linearBackoff,
  type Backoff,
  type BackoffArgs,
  type ExponentialBackoffOptions,
  type Jitter,
  type LinearBackoffOptions,
} from './backoff.js';
export {
  RETRYABLE_STATUS_CODES,
  anyOf,
  defaultClassifier,
  isRetryableError,
  retryableStatus,
  statusOf,
  type ErrorPredicate,
  type ResultPredicate,
  type RetryClassifier,
} from './classify.js';
export {
  RETRYABLE_NETWORK_ERROR_CODES,
  errorCodeIn,
  isRetryableNetworkError,
} from './network-errors.js';
export { DO_NOT_RETRY, delayFromHeaders, type DelayHint, type HeadersLike } from './retry-after.js';
export { defaultDelayHint, type DelayHintArgs, type DelayHintFn } from './delay-hint.js';
export {
  retryBudget,
  type RetryBudget,
  type RetryBudgetOptions,
  type RetryBudgetState,
} from './retry-budget.js';
