import type { RateLimitedReason } from './errors.js';

/**
 * The rate limiters' telemetry events. Like every policy's events they name the policy kind, the
 * limiter's `name` and the operation; unlike some, they never carry the key: a key is often a
 * user or tenant id, which must not reach metrics labels or logs.
 */
interface RateLimitEventBase {
  readonly policy: 'rate-limit';
  /** The limiter's `name` option, when set. */
  readonly name: string | undefined;
  /** The operation from the execution context (a policy's calls), else undefined. */
  readonly operation: string | undefined;
}

/** A permit was granted, at once or after waiting in the queue. */
export interface RateLimitGrantedEvent extends RateLimitEventBase {
  readonly type: 'rate-limit-granted';
  readonly permits: number;
  /** Permits left after this one (0 when the store failed and `onStoreError` allowed the call). */
  readonly remaining: number;
  /** How long the call waited in the queue (0 when it did not queue). */
  readonly waitedMs: number;
}

/** A call joined the queue to wait for its permits. */
export interface RateLimitQueuedEvent extends RateLimitEventBase {
  readonly type: 'rate-limit-queued';
  readonly permits: number;
  /** Calls waiting, this one included, over every key. */
  readonly queued: number;
}

/** A call was refused. */
export interface RateLimitRejectedEvent extends RateLimitEventBase {
  readonly type: 'rate-limit-rejected';
  readonly reason: RateLimitedReason;
  readonly permits: number;
  readonly retryAfterMs: number;
}

/** The store failed to decide (Redis down, slow or refusing): `mode` says what was done instead. */
export interface RateLimitStoreErrorEvent extends RateLimitEventBase {
  readonly type: 'rate-limit-store-error';
  /** `'allow'`: the call went ahead unmetered; `'deny'`: it was refused. */
  readonly mode: 'allow' | 'deny';
  readonly error: unknown;
}

export type RateLimitEvent =
  RateLimitGrantedEvent | RateLimitQueuedEvent | RateLimitRejectedEvent | RateLimitStoreErrorEvent;

export type RateLimitEventType = RateLimitEvent['type'];

/**
 * Receives a limiter's events, synchronously, on the hot path: keep it cheap. A listener that
 * throws is ignored, so it cannot change a decision.
 */
export type RateLimitListener = (event: RateLimitEvent) => void;

/** Calls a listener, shielding the decision from anything it throws. */
export function emitRateLimitEvent(listener: RateLimitListener, event: RateLimitEvent): void {
  try {
    listener(event);
  } catch {
    // A broken metrics exporter must never fail or alter the decision it observes.
  }
}
