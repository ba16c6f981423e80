/**
 * The cache's telemetry events are part of `@bulwark/core`'s `PolicyEvent` union (with
 * `policy: 'cache'`), so one `TelemetryListener` (a `prometheusListener()`, an
 * `openTelemetryListener()`) receives them with every policy's. They are re-exported here
 * under the names this package has always used.
 *
 * Events carry the normalised URL, never the cache key: a key can hold a caller's partition
 * (a user or tenant id) that must not leak into metrics or logs.
 */
import type { CacheEvent } from '@bulwark/core';

export type {
  CacheCoalescedEvent,
  CacheEvent,
  CacheHitEvent,
  CacheInvalidatedEvent,
  CacheMissEvent,
  CacheMissReason,
  CacheNotStoredEvent,
  CacheRevalidatedEvent,
  CacheStaleServedEvent,
  CacheStoredEvent,
  CacheStoreErrorEvent,
  NotStoredReason,
  StaleReason,
} from '@bulwark/core';

export type CacheEventType = CacheEvent['type'];

/**
 * Receives the cache's events. A `TelemetryListener` from `@bulwark/core` is one: give the cache
 * the same listener as the policies.
 */
export type CacheListener = (event: CacheEvent) => void;

/** What every event says about the request it concerns. */
export interface EventSubject {
  readonly method: string;
  readonly url: string;
  readonly operation: string | undefined;
}

/** Calls a listener, shielding the call from anything it throws. */
export function emitCacheEvent(listener: CacheListener, event: CacheEvent): void {
  try {
    listener(event);
  } catch {
    // A broken metrics exporter must never fail or alter the call it observes.
  }
}
