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

/**
 * One whole call ended, with the outcome its caller got: a call through a pipeline, or one
 * request of `@bulwark/http-client` (`policy: 'http-client'`), which reports its calls itself.
 */
export interface CallEvent extends EventBase {
  readonly type: 'call';
  readonly policy: 'pipeline' | 'http-client';
  /**
   * `failure` when the call threw, and when it returned a value a policy counted as a failure
   * (a retry that gave up on a 503 response returns it).
   */
  readonly outcome: 'success' | 'failure';
  readonly durationMs: number;
  /** The error, or the value counted as a failure. */
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
  /**
   * The HTTP request this attempt sent, when an HTTP client ran it (`@bulwark/http-client`
   * describes its attempts); undefined for an attempt that sent none (a breaker rejected it)
   * and for calls that are not HTTP.
   */
  readonly http?: HttpAttemptInfo | undefined;
}

/** One HTTP request an attempt sent, and the status that came back. */
export interface HttpAttemptInfo {
  /** The request method, as sent. */
  readonly method: string;
  /**
   * The target URL, as sent, query included. A query can hold a token: whoever exports this
   * redacts it (`@bulwark/telemetry` does by default), and it is never a metrics label.
   */
  readonly url: string;
  /** The response status, when a response arrived. */
  readonly statusCode: number | undefined;
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

/**
 * A breaker came into being (built, or made by a registry for a new key), so its state can be
 * exported before it first changes.
 */
export interface BreakerCreatedEvent extends EventBase {
  readonly type: 'breaker-created';
  readonly policy: 'circuit-breaker';
  /** The breaker's key in a registry, when it has one. */
  readonly key: string | undefined;
  /** The state it starts in: `closed`, until a snapshot or an isolation moves it. */
  readonly state: BreakerState;
}

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

/**
 * A breaker met the first call of an operation: which breaker an operation's calls go through,
 * known before a transition or a rejection says so (a healthy breaker reports neither). Once per
 * operation name, and only for calls that carry one.
 */
export interface BreakerUsedEvent extends EventBase {
  readonly type: 'breaker-used';
  readonly policy: 'circuit-breaker';
  readonly operation: string;
  /** The breaker's key in a registry, when it has one. */
  readonly key: string | undefined;
  /** The state the call met. */
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

/** What started a hedged attempt: the hedging delay ran out, or an earlier attempt failed. */
export type HedgeTrigger = 'delay' | 'failure';

/** A hedging policy started another attempt of a call while earlier ones may still run. */
export interface HedgeStartedEvent extends EventBase {
  readonly type: 'hedge-started';
  readonly policy: 'hedging';
  /** The new attempt's number: 2 for the first hedge. */
  readonly attempt: number;
  /** How long after the previous attempt started this one did (0 when a failure started it). */
  readonly delayMs: number;
  readonly trigger: HedgeTrigger;
}

/** A call that started at least one hedge ended with an acceptable outcome of one attempt. */
export interface HedgeWonEvent extends EventBase {
  readonly type: 'hedge-won';
  readonly policy: 'hedging';
  /** The attempt whose outcome the call returned: 1 when the first attempt won after all. */
  readonly attempt: number;
  /** How many attempts the call started in all. */
  readonly attempts: number;
}

/** A hedging policy aborted attempts that were still running, because the call had ended. */
export interface HedgeCancelledEvent extends EventBase {
  readonly type: 'hedge-cancelled';
  readonly policy: 'hedging';
  /** How many attempts were aborted. */
  readonly count: number;
}

/** A fallback answered for a failure, or tried to (`@bulwark/fallback`). */
export interface FallbackEvent extends EventBase {
  readonly type: 'fallback';
  readonly policy: 'fallback';
  /**
   * Why: a short name for the failure: a result's HTTP status, else the error's `code`
   * (`BULWARK_BROKEN_CIRCUIT`, `ECONNRESET`), else its class name.
   */
  readonly reason: string;
  /** `success` when the fallback answered; `failure` when the fallback itself failed. */
  readonly outcome: 'success' | 'failure';
  /** How long the fallback ran (0 for a fixed value). */
  readonly durationMs: number;
  /** The failure the fallback answered for: an error, or a result its classifier rejected. */
  readonly error: unknown;
  /** The fallback's own error, when it failed. */
  readonly fallbackError: unknown;
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
  | BreakerCreatedEvent
  | BreakerStateEvent
  | BreakerRejectedEvent
  | BreakerUsedEvent
  | BulkheadRejectedEvent
  | BulkheadQueuedEvent
  | BulkheadLimitEvent
  | TimeoutEvent
  | DeadlineExceededEvent
  | HedgeStartedEvent
  | HedgeWonEvent
  | HedgeCancelledEvent
  | FallbackEvent
  | CacheEvent;

export type PolicyEventType = PolicyEvent['type'];

/**
 * The key of a listener's optional fast path for the events nearly every call reports: a
 * pipeline's successful `call` and a retry's successful first `attempt`. See
 * {@link TelemetryListener}.
 */
export const bindSuccess: unique symbol = Symbol.for('bulwark.telemetry.bindSuccess');

/** A successful `call` or `attempt` event with everything but its duration fixed. */
export type SuccessTemplate =
  | (Omit<CallEvent, 'durationMs' | 'outcome' | 'error'> & {
      readonly outcome: 'success';
      readonly error: undefined;
    })
  | (Omit<AttemptEvent, 'durationMs' | 'outcome' | 'error'> & {
      readonly outcome: 'success';
      readonly error: undefined;
    });

/** Records one success of `durationMs`, as the listener would record the whole event. */
export type SuccessRecorder = (durationMs: number) => void;

/**
 * Receives telemetry events. Listeners are called synchronously on the hot path: keep them
 * cheap, and never throw (a throwing listener is caught and ignored so it cannot change the
 * outcome of a call).
 *
 * A listener may also offer `[bindSuccess](template)`: given a success event without its
 * duration, it returns a function that records that event with a given duration, exactly as
 * calling the listener with the whole event would. A policy binds once per operation, and then
 * reports each success with a number instead of an event object; a metrics listener resolves its
 * series once instead of per event. A listener without it receives every event as usual.
 */
export interface TelemetryListener {
  (event: PolicyEvent): void;
  readonly [bindSuccess]?: (template: SuccessTemplate) => SuccessRecorder;
}

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
  const combined = (event: PolicyEvent): void => {
    for (const l of present) emit(l, event);
  };
  // Keep the fast path of the listeners that have one; the others get the whole event.
  if (!present.some((l) => typeof l[bindSuccess] === 'function')) return combined;
  const bind = (template: SuccessTemplate): SuccessRecorder => {
    const recorders = present.map(
      (l) => bindRecorder(l, template) ?? ((d: number) => emitSuccess(l, template, d)),
    );
    return (durationMs) => {
      for (const record of recorders) {
        try {
          record(durationMs);
        } catch {
          // As emit(): one broken listener must not keep the event from the others.
        }
      }
    };
  };
  return Object.assign(combined, { [bindSuccess]: bind });
}

/** The listener's fast path for `template`, or undefined when it has none or fails to bind. */
function bindRecorder(
  listener: TelemetryListener,
  template: SuccessTemplate,
): SuccessRecorder | undefined {
  const bind = listener[bindSuccess];
  if (typeof bind !== 'function') return undefined;
  try {
    const recorder: unknown = bind.call(listener, template);
    return typeof recorder === 'function' ? (recorder as SuccessRecorder) : undefined;
  } catch {
    return undefined;
  }
}

/** Reports the success `template` describes, lasting `durationMs`, as a whole event. */
function emitSuccess(listener: TelemetryListener, template: SuccessTemplate, durationMs: number) {
  emit(listener, { ...template, durationMs });
}

/** No recorder bound yet (undefined is a valid operation). */
const UNBOUND: unique symbol = Symbol('unbound');

/**
 * Reports one kind of success of one policy through a listener's fast path, bound per operation
 * (the last one remembered: a policy nearly always serves one). Made only for a listener that
 * has a fast path (see {@link successReporter}); one that fails to bind gets the whole event.
 */
export class SuccessReporter {
  private boundFor: string | undefined | typeof UNBOUND = UNBOUND;
  private recorder: SuccessRecorder | undefined = undefined;

  constructor(
    private readonly listener: TelemetryListener,
    private readonly template: (operation: string | undefined) => SuccessTemplate,
  ) {}

  report(operation: string | undefined, durationMs: number): void {
    if (operation !== this.boundFor) {
      this.recorder = bindRecorder(this.listener, this.template(operation));
      this.boundFor = operation;
    }
    const recorder = this.recorder;
    if (recorder === undefined) {
      emitSuccess(this.listener, this.template(operation), durationMs);
      return;
    }
    try {
      recorder(durationMs);
    } catch {
      // As emit(): a broken exporter must never fail the call it observes.
    }
  }
}

/** A reporter for a listener with a fast path; undefined for one without (emit events then). */
export function successReporter(
  listener: TelemetryListener | undefined,
  template: (operation: string | undefined) => SuccessTemplate,
): SuccessReporter | undefined {
  return listener !== undefined && typeof listener[bindSuccess] === 'function'
    ? new SuccessReporter(listener, template)
    : undefined;
}

/** The template of a pipeline's successful calls. */
export function callTemplate(operation: string | undefined): SuccessTemplate {
  return {
    type: 'call',
    policy: 'pipeline',
    name: undefined,
    operation,
    outcome: 'success',
    error: undefined,
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
