/**
 * Telemetry events. Every policy reports what it decides to an optional listener given at
 * construction. With no listener, no event object is built: the cost is one branch.
 *
 * Every event names the policy kind (`policy`), the policy's own `name` when it was given
 * one (to tell two retries apart), and the operation from the execution context.
 */
interface EventBase {
  /** Which policy instance reported it (its `name` option), when set. */
  readonly name: string | undefined;
  /** The operation name from the execution context, when set. */
  readonly operation: string | undefined;
}

/** One whole call through a pipeline ended. */
export interface CallEvent extends EventBase {
  readonly type: 'call';
  readonly policy: 'pipeline';
  readonly outcome: 'success' | 'failure';
  readonly durationMs: number;
  readonly error: unknown;
}

/**
 * One attempt ended. `attempt` counts from 1. Retry policies report each of theirs;
 * `@bulwark/http-client` reports the single attempt of a call made with retries off.
 */
export interface AttemptEvent extends EventBase {
  readonly type: 'attempt';
  readonly policy: 'retry' | 'http-client';
  readonly attempt: number;
  readonly outcome: 'success' | 'failure';
  readonly durationMs: number;
  /** The error, or the result that the classifier counted as a failure. */
  readonly error: unknown;
}

/** Why a retry was scheduled after a given delay. */
export type RetryDelaySource = 'backoff' | 'server-hint';

export interface RetryScheduledEvent extends EventBase {
  readonly type: 'retry-scheduled';
  readonly policy: 'retry';
  /** The attempt that failed, counting from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly delaySource: RetryDelaySource;
  readonly error: unknown;
}

/** Why a retry policy stopped retrying and let the failure surface. */
export type GiveUpReason =
  | 'not-retryable'
  | 'max-attempts'
  | 'budget-exhausted'
  | 'deadline'
  | 'hint-exceeds-deadline'
  | 'aborted';

export interface RetryGaveUpEvent extends EventBase {
  readonly type: 'retry-gave-up';
  readonly policy: 'retry';
  readonly attempt: number;
  readonly reason: GiveUpReason;
  readonly error: unknown;
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface BreakerStateEvent extends EventBase {
  readonly type: 'breaker-state';
  readonly policy: 'circuit-breaker';
  /** The breaker's key in a registry, when it has one. */
  readonly key: string | undefined;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

export interface BreakerRejectedEvent extends EventBase {
  readonly type: 'breaker-rejected';
  readonly policy: 'circuit-breaker';
  readonly key: string | undefined;
  readonly state: BreakerState;
}

export interface BulkheadRejectedEvent extends EventBase {
  readonly type: 'bulkhead-rejected';
  readonly policy: 'bulkhead';
  readonly reason: 'full' | 'queue-timeout';
  readonly active: number;
  readonly queued: number;
  readonly limit: number;
}

/** Reported when a call has to wait in a bulkhead's queue. */
export interface BulkheadQueuedEvent extends EventBase {
  readonly type: 'bulkhead-queued';
  readonly policy: 'bulkhead';
  readonly active: number;
  readonly queued: number;
}

/** An adaptive limit moved. */
export interface BulkheadLimitEvent extends EventBase {
  readonly type: 'bulkhead-limit';
  readonly policy: 'bulkhead';
  readonly from: number;
  readonly to: number;
}

export interface TimeoutEvent extends EventBase {
  readonly type: 'timeout';
  readonly policy: 'timeout';
  readonly timeoutMs: number;
}

export interface DeadlineExceededEvent extends EventBase {
  readonly type: 'deadline-exceeded';
  readonly policy: 'timeout';
  /** The whole budget in milliseconds, when this policy set it. */
  readonly budgetMs: number | undefined;
}

/**
 * The HTTP cache's events (`@bulwark/cache`). Besides the common fields they carry the method
 * and the normalised target URL, never the cache key: a key can hold a caller's partition (a
 * user or tenant id) that must not leak into metrics or logs. The URL is for logs and traces
 * only: never use it as a metrics label.
 */
interface CacheEventBase extends EventBase {
  readonly policy: 'cache';
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

export type PolicyEvent =
  | CallEvent
  | AttemptEvent
  | RetryScheduledEvent
  | RetryGaveUpEvent
  | BreakerStateEvent
  | BreakerRejectedEvent
  | BulkheadRejectedEvent
  | BulkheadQueuedEvent
  | BulkheadLimitEvent
  | TimeoutEvent
  | DeadlineExceededEvent
  | CacheEvent;

export type PolicyEventType = PolicyEvent['type'];

/**
 * Receives telemetry events. Listeners are called synchronously on the hot path: keep them
 * cheap, and never throw (a throwing listener is caught and ignored so it cannot change the
 * outcome of a call).
 */
export type TelemetryListener = (event: PolicyEvent) => void;

/** Calls a listener, shielding the call from anything it throws. */
export function emit(listener: TelemetryListener, event: PolicyEvent): void {
  try {
    listener(event);
  } catch {
    // A broken metrics exporter must never fail or alter the call it observes.
  }
}

/** One listener that forwards every event to each of the given ones. */
export function combineListeners(
  ...listeners: ReadonlyArray<TelemetryListener | undefined>
): TelemetryListener | undefined {
  const present = listeners.filter((l): l is TelemetryListener => l !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (event) => {
    for (const l of present) emit(l, event);
  };
}

/** Reports a pipeline's `call` event: one per execution, on either path a pipeline takes. */
export function emitCall(
  listener: TelemetryListener,
  operation: string | undefined,
  outcome: 'success' | 'failure',
  durationMs: number,
  error: unknown,
): void {
  emit(listener, {
    type: 'call',
    policy: 'pipeline',
    name: undefined,
    operation,
    outcome,
    durationMs,
    error,
  });
}
