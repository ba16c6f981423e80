/**
 * The cache's telemetry events. `@bulwark/core`'s `PolicyEvent` union has no cache events yet,
 * so they are defined here with the same shape (`type`, `policy`, `name`, `operation`); they
 * belong in core's union.
 *
 * Events carry the normalised URL, never the cache key: a key can hold a caller's partition
 * (a user or tenant id) that must not leak into metrics or logs.
 */
interface CacheEventBase {
  readonly policy: 'cache';
  /** The cache's `name` option, when set. */
  readonly name: string | undefined;
  /** The `operation` given to `handle()`, when set. */
  readonly operation: string | undefined;
  readonly method: string;
  /** The normalised target URI. */
  readonly url: string;
}

/** A fresh stored response was served without contacting the origin. */
export interface CacheHitEvent extends CacheEventBase {
  readonly type: 'cache-hit';
  readonly ageSeconds: number;
}

/** Why the origin was contacted. */
export type CacheMissReason = 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'store-error';

/** No stored response could be used as it is: the origin was asked. */
export interface CacheMissEvent extends CacheEventBase {
  readonly type: 'cache-miss';
  readonly reason: CacheMissReason;
}

/** A request joined an origin request already in flight for the same key. */
export interface CacheCoalescedEvent extends CacheEventBase {
  readonly type: 'cache-coalesced';
}

/** Why a stale response was served. */
export type StaleReason = 'max-stale' | 'stale-while-revalidate' | 'stale-if-error';

export interface CacheStaleServedEvent extends CacheEventBase {
  readonly type: 'cache-stale-served';
  readonly reason: StaleReason;
  readonly ageSeconds: number;
  /** For `stale-if-error`: the origin's error, or its 5xx status. */
  readonly error: unknown;
}

/** A stored response was validated with the origin. */
export interface CacheRevalidatedEvent extends CacheEventBase {
  readonly type: 'cache-revalidated';
  /** `not-modified`: a 304 refreshed it; `modified`: a new response replaced it; `failed`: error. */
  readonly outcome: 'not-modified' | 'modified' | 'failed';
  /** True for a stale-while-revalidate revalidation, which no caller waited for. */
  readonly background: boolean;
}

export interface CacheStoredEvent extends CacheEventBase {
  readonly type: 'cache-stored';
  readonly status: number;
  readonly bytes: number;
  readonly ttlMs: number;
}

/** Why a response was not stored. */
export type NotStoredReason =
  | 'request-no-store'
  | 'no-store'
  | 'status'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'invalid-vary'
  | 'too-large'
  | 'invalid-headers'
  | 'not-reusable';

export interface CacheNotStoredEvent extends CacheEventBase {
  readonly type: 'cache-not-stored';
  readonly status: number;
  readonly reason: NotStoredReason;
}

/** An unsafe request succeeded and its target (or Location / Content-Location) was dropped. */
export interface CacheInvalidatedEvent extends CacheEventBase {
  readonly type: 'cache-invalidated';
  /** The method of the unsafe request that caused it. */
  readonly cause: string;
}

/** The store failed: the lookup counted as a miss, or the write was lost. The caller never sees it. */
export interface CacheStoreErrorEvent extends CacheEventBase {
  readonly type: 'cache-store-error';
  /** The store method that failed. */
  readonly storeOperation: 'get' | 'set' | 'delete';
  readonly error: unknown;
}

export type CacheEvent =
  | CacheHitEvent
  | CacheMissEvent
  | CacheCoalescedEvent
  | CacheStaleServedEvent
  | CacheRevalidatedEvent
  | CacheStoredEvent
  | CacheNotStoredEvent
  | CacheInvalidatedEvent
  | CacheStoreErrorEvent;

export type CacheEventType = CacheEvent['type'];

export type CacheListener = (event: CacheEvent) => void;

/** Calls a listener, shielding the call from anything it throws. */
export function emitCacheEvent(listener: CacheListener, event: CacheEvent): void {
  try {
    listener(event);
  } catch {
    // A broken metrics exporter must never fail or alter the call it observes.
  }
}
