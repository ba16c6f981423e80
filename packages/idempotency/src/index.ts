export {
  idempotency,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_METHODS,
  DEFAULT_MAX_BODY_BYTES,
  defaultShouldStore,
  DEFAULT_REPLAY_HEADERS,
  DEFAULT_TTL_MS,
  REPLAYED_HEADER,
  type Idempotency,
  type IdempotencyBypass,
  type IdempotencyClaim,
  type IdempotencyDecision,
  type IdempotencyOptions,
  type IdempotencyRejection,
  type IdempotencyReplay,
  type IdempotencyRequest,
  type IdempotencyResponse,
  type ReleaseReason,
  type ReplayedResponse,
} from './idempotency.js';
export { DEFAULT_MAX_KEY_LENGTH, IDEMPOTENCY_KEY_HEADER } from './idempotency-key.js';
export { PROBLEM_CONTENT_TYPE, type ProblemDetails, type RejectReason } from './problem.js';
export type { CompleteRecord, IdempotencyRecord, InProgressRecord } from './record.js';
export type { IdempotencyStore } from './stores/store.js';
export {
  memoryStore,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_ENTRIES,
  MemoryStoreFullError,
  type MemoryStore,
  type MemoryStoreOptions,
} from './stores/memory.js';
export {
  redisStore,
  DEFAULT_PREFIX,
  DEFAULT_REDIS_TIMEOUT_MS,
  type RedisLike,
  type RedisStoreOptions,
} from './stores/redis.js';
export type {
  IdempotencyCompletionEvent,
  IdempotencyDecisionEvent,
  IdempotencyEvent,
  IdempotencyListener,
} from './events.js';
