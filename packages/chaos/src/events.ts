/**
 * The chaos events: one `chaos-injected` event per injection, so a rehearsal is never mistaken
 * for an outage. Every event has the same four fields as every Bulwark event (`type`, `policy`,
 * `name`, `operation`) plus `kind`, which says what was injected; the fields after `kind` depend
 * on it. The shape is stable: a metrics listener can count injections by `kind`, `name` and
 * `operation` (all three have few values), and must not label with anything else.
 */
interface ChaosEventBase {
  readonly type: 'chaos-injected';
  readonly policy: 'chaos';
  /** The policy's or interceptor's `name` option, when set. */
  readonly name: string | undefined;
  /**
   * The operation: a policy's from the execution context; the HTTP interceptor's is
   * `METHOD origin`, as `@bulwark/http-client` names its calls (never the path).
   */
  readonly operation: string | undefined;
}

/** What `chaosLatency()` injected. */
export interface ChaosLatencyEvent extends ChaosEventBase {
  readonly kind: 'latency';
  /** How long the call is held, in milliseconds: the latency, or what the deadline left if less. */
  readonly latencyMs: number;
  /**
   * True when the context's deadline comes before the latency's end: the wait ends at the
   * deadline, where the layer that set it (a timeout, a deadline) ends the call.
   */
  readonly cutByDeadline: boolean;
}

/** What `chaosFault()` injected. */
export interface ChaosFaultEvent extends ChaosEventBase {
  readonly kind: 'fault';
  /** The error the call fails with. */
  readonly error: unknown;
}

/** `chaosOutcome()` returned a result of its own instead of calling. */
export interface ChaosOutcomeEvent extends ChaosEventBase {
  readonly kind: 'outcome';
}

/** `chaosBehavior()` ran its behaviour before the call. */
export interface ChaosBehaviorEvent extends ChaosEventBase {
  readonly kind: 'behavior';
}

/** What the HTTP interceptor's events have besides the common fields. */
interface ChaosHttpEventBase extends ChaosEventBase {
  /** The request's method. */
  readonly method: string;
  /** The request's origin (`http://host:port`), never its path. */
  readonly origin: string;
}

/** The interceptor answered with a status of its own; the request was not sent. */
export interface ChaosHttpStatusEvent extends ChaosHttpEventBase {
  readonly kind: 'http-status';
  readonly status: number;
}

/** The interceptor failed the request as a connection reset before any response; it was not sent. */
export interface ChaosResetBeforeHeadersEvent extends ChaosHttpEventBase {
  readonly kind: 'reset-before-headers';
}

/** The request was sent; its response is cut by a connection reset after the headers. */
export interface ChaosResetAfterHeadersEvent extends ChaosHttpEventBase {
  readonly kind: 'reset-after-headers';
  /** Body bytes passed on before the reset, at most. */
  readonly afterBytes: number;
}

/** The request was sent; its response body ends early, as when the server closes mid-body. */
export interface ChaosTruncatedBodyEvent extends ChaosHttpEventBase {
  readonly kind: 'truncated-body';
  /** Body bytes passed on before the cut, at most. */
  readonly afterBytes: number;
}

/** The request was sent; each chunk of its response body is held before it is passed on. */
export interface ChaosSlowBodyEvent extends ChaosHttpEventBase {
  readonly kind: 'slow-body';
  readonly chunkDelayMs: number;
}

/** An injection by one of the HTTP interceptor's faults. */
export type ChaosHttpEvent =
  | ChaosHttpStatusEvent
  | ChaosResetBeforeHeadersEvent
  | ChaosResetAfterHeadersEvent
  | ChaosTruncatedBodyEvent
  | ChaosSlowBodyEvent;

export type ChaosEvent =
  ChaosLatencyEvent | ChaosFaultEvent | ChaosOutcomeEvent | ChaosBehaviorEvent | ChaosHttpEvent;

/** What was injected: an event's `kind`. */
export type ChaosKind = ChaosEvent['kind'];

/**
 * Receives chaos events, synchronously, on the call's path: keep it cheap. A listener that
 * throws is ignored, so it cannot change what the call does.
 */
export type ChaosListener = (event: ChaosEvent) => void;

/** Calls a listener, shielding the call from anything it throws. */
export function emitChaosEvent(listener: ChaosListener, event: ChaosEvent): void {
  try {
    listener(event);
  } catch {
    // A broken metrics exporter must never fail or alter the call it observes.
  }
}
