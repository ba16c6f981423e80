export { httpCache, HttpCache } from './http-cache.js';
export type { CacheableMethod, HttpCacheOptions } from './options.js';
export type {
  CacheRequest,
  HandleOptions,
  Origin,
  OriginRequest,
  OriginResponse,
} from './origin.js';
export type { CacheResult } from './result.js';
export type { CacheStatus } from './cache-status.js';
export { splitSetCookie, type HeaderInput, type HeaderRecord } from './headers.js';
export type {
  CacheCoalescedEvent,
  CacheEvent,
  CacheEventType,
  CacheHitEvent,
  CacheInvalidatedEvent,
  CacheListener,
  CacheMissEvent,
  CacheMissReason,
  CacheNotStoredEvent,
  CacheRevalidatedEvent,
  CacheStaleServedEvent,
  CacheStoredEvent,
  CacheStoreErrorEvent,
  NotStoredReason,
  StaleReason,
} from './events.js';
export type { CacheStore, StoredRecord, StoredResponse, VaryMarker } from './stores/store.js';
export { memoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export {
  redisStore,
  type RedisLike,
  type RedisStoreErrorArgs,
  type RedisStoreOptions,
} from './stores/redis.js';
export {
  cachedFetch,
  type CachedFetch,
  type CachedResponse,
  type FetchLike,
} from './cached-fetch.js';
