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

/** One attempt made by a retry policy ended. `attempt` counts from 1. */
export interface AttemptEvent extends EventBase {
  readonly type: 'attempt';
  readonly policy: 'retry';
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
  | 'hint-exceeds-max'
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
  readonly policy: 'timeout' | 'retry';
  /** The whole budget in milliseconds, when this policy set it. */
  readonly budgetMs: number | undefined;
}

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
  | DeadlineExceededEvent;

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
