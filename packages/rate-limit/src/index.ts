export { tokenBucket, type TokenBucketOptions } from './token-bucket.js';
export { slidingWindow, type SlidingWindowOptions } from './sliding-window.js';
export {
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_ON_STORE_ERROR,
  DEFAULT_POLICY,
  STORE_ERROR_RETRY_AFTER_MS,
  type AcquireOptions,
  type MemoryRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RedisRateLimiter,
  type StoreErrorMode,
} from './limiter.js';
export type { AlgorithmKind } from './algorithm.js';
export type { RateLimitDecision } from './decision.js';
export {
  rateLimit,
  type RateLimitPolicy,
  type RateLimitPolicyOptions,
} from './rate-limit-policy.js';
export {
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
  formatRateLimit,
  formatRateLimitPolicy,
  formatRetryAfter,
  rateLimitHeaders,
  retryAfterSeconds,
  type RateLimitHeaders,
} from './headers.js';
export {
  RateLimitErrorCode,
  RateLimitedError,
  isRateLimitedError,
  type RateLimitedReason,
} from './errors.js';
export type {
  RateLimitEvent,
  RateLimitEventType,
  RateLimitGrantedEvent,
  RateLimitListener,
  RateLimitQueuedEvent,
  RateLimitRejectedEvent,
  RateLimitStoreErrorEvent,
} from './events.js';
export {
  DEFAULT_MAX_KEYS,
  memoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from './stores/memory.js';
export {
  DEFAULT_PREFIX,
  DEFAULT_REDIS_TIMEOUT_MS,
  redisStore,
  type RedisLike,
  type RedisStore,
  type RedisStoreOptions,
} from './stores/redis.js';
