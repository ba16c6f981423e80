import type { PolicyEvent, TelemetryListener } from '@bulwark/core';

/**
 * The events of `@bulwark/rate-limit`, `@bulwark/chaos` and `@bulwark/service-client`, which
 * are not (yet) in core's `PolicyEvent` union. They are described here by their shape, the
 * fields these listeners read, so that this package depends on none of them at run time and its
 * published types need none installed: a limiter's, a chaos policy's or a service client's own
 * event type is assignable to these, and the listeners can be given as their `listener` option.
 * Fields a listener does not read are left out; fields whose values may grow (a refusal's
 * reason, what chaos injected) are strings.
 */
interface ForeignEventBase {
  /** The limiter's, the chaos policy's or the service client's `name` option, when set. */
  readonly name: string | undefined;
  /** The operation of the call, when it was made through a pipeline. */
  readonly operation: string | undefined;
}

/** Permits were granted (`@bulwark/rate-limit`'s `RateLimitGrantedEvent`). */
export interface RateLimitGrantedShape extends ForeignEventBase {
  readonly type: 'rate-limit-granted';
  readonly policy: 'rate-limit';
  readonly permits: number;
  readonly remaining: number;
  readonly waitedMs: number;
}

/** A call joined the limiter's queue (`RateLimitQueuedEvent`). */
export interface RateLimitQueuedShape extends ForeignEventBase {
  readonly type: 'rate-limit-queued';
  readonly policy: 'rate-limit';
  readonly permits: number;
  readonly queued: number;
}

/** A call or a `take()` was refused (`RateLimitRejectedEvent`). */
export interface RateLimitRejectedShape extends ForeignEventBase {
  readonly type: 'rate-limit-rejected';
  readonly policy: 'rate-limit';
  /** `limit`, `queue-full`, `max-wait` or `store-error`. */
  readonly reason: string;
  readonly permits: number;
  readonly retryAfterMs: number;
}

/** The limiter's store failed; `mode` is what it did instead (`RateLimitStoreErrorEvent`). */
export interface RateLimitStoreErrorShape extends ForeignEventBase {
  readonly type: 'rate-limit-store-error';
  readonly policy: 'rate-limit';
  /** `allow` (the call went ahead unmetered) or `deny`. */
  readonly mode: string;
  readonly error: unknown;
}

/** Any event of a `@bulwark/rate-limit` limiter. */
export type RateLimitEventShape =
  RateLimitGrantedShape | RateLimitQueuedShape | RateLimitRejectedShape | RateLimitStoreErrorShape;

/**
 * One injection by a `@bulwark/chaos` policy or its HTTP interceptor (`ChaosEvent`). The fields
 * after `kind` depend on it, and are optional here for that reason.
 */
export interface ChaosEventShape extends ForeignEventBase {
  readonly type: 'chaos-injected';
  readonly policy: 'chaos';
  /** What was injected: `latency`, `fault`, `outcome`, `behavior`, `http-status`... */
  readonly kind: string;
  /** `latency`: how long the call was held. */
  readonly latencyMs?: number;
  /** `latency`: true when the deadline came first. */
  readonly cutByDeadline?: boolean;
  /** `fault`: the error the call fails with. */
  readonly error?: unknown;
  /** The HTTP interceptor's: the request's method. */
  readonly method?: string;
  /** `http-status`: the status answered. */
  readonly status?: number;
  /** `reset-after-headers`, `truncated-body`: body bytes passed on before the cut. */
  readonly afterBytes?: number;
  /** `slow-body`: how long each chunk is held. */
  readonly chunkDelayMs?: number;
}

/** A service client took an endpoint out of rotation (`@bulwark/service-client`'s `EndpointEjectedEvent`). */
export interface EndpointEjectedShape extends ForeignEventBase {
  readonly type: 'endpoint-ejected';
  readonly policy: 'service-client';
  /** The endpoint's URL: bounded by the service's configuration, so a label. */
  readonly endpoint: string;
  /** `consecutive-failures` or `success-rate`. */
  readonly reason: string;
  /** How many times it has been ejected, this one included. */
  readonly ejections: number;
  /** How long it stays out. */
  readonly durationMs: number;
  /** Endpoints out of rotation now, this one included. */
  readonly ejected: number;
  /** Endpoints the service has now. */
  readonly endpoints: number;
}

/** An ejected endpoint's time was up: it is back, on trial traffic (`EndpointReadmittedEvent`). */
export interface EndpointReadmittedShape extends ForeignEventBase {
  readonly type: 'endpoint-readmitted';
  readonly policy: 'service-client';
  readonly endpoint: string;
  readonly ejected: number;
  readonly endpoints: number;
}

/** The service's endpoints changed: a refresh or a DNS answer (`EndpointsUpdatedEvent`). */
export interface EndpointsUpdatedShape extends ForeignEventBase {
  readonly type: 'endpoints-updated';
  readonly policy: 'service-client';
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly endpoints: number;
}

/** Reading the endpoints failed; the last known ones stay (`EndpointsRefreshFailedEvent`). */
export interface EndpointsRefreshFailedShape extends ForeignEventBase {
  readonly type: 'endpoints-refresh-failed';
  readonly policy: 'service-client';
  readonly error: unknown;
  readonly endpoints: number;
}

/** Any event of a `@bulwark/service-client` client's endpoints. */
export type EndpointEventShape =
  | EndpointEjectedShape
  | EndpointReadmittedShape
  | EndpointsUpdatedShape
  | EndpointsRefreshFailedShape;

/** Every event `@bulwark/telemetry`'s listeners record. */
/**
 * One run of one health check ended (`@bulwark/health`'s `HealthCheckEvent`): give the listener
 * to `healthRegistry({ listener })`.
 */
export interface HealthCheckEventShape {
  readonly type: 'health-check';
  /** The check's registered name. */
  readonly name: string;
  /** `pass`, `warn` or `fail`. */
  readonly status: string;
  readonly durationMs: number;
  /** True when the check did not answer within its timeout. */
  readonly timedOut: boolean;
}

/** A health view was computed for a probe (`HealthReportEvent`). */
export interface HealthReportEventShape {
  readonly type: 'health-report';
  /** `liveness`, `readiness` or `startup`. */
  readonly kind: string;
  /** `pass`, `warn` or `fail`. */
  readonly status: string;
}

/** A step of a graceful shutdown (`ShutdownEvent`): taken, not recorded. */
export interface ShutdownEventShape {
  readonly type: 'shutdown';
}

/** Any event of a `@bulwark/health` registry or graceful shutdown. */
export type HealthEventShape = HealthCheckEventShape | HealthReportEventShape | ShutdownEventShape;

/** Every event `@bulwark/telemetry`'s listeners record. */
export type BulwarkEvent =
  PolicyEvent | RateLimitEventShape | ChaosEventShape | EndpointEventShape | HealthEventShape;

/**
 * A telemetry listener that also takes the rate limiters' and chaos policies' events: give it
 * to a pipeline and its policies, to a `tokenBucket()`/`slidingWindow()`, and to a chaos policy.
 */
export interface BulwarkListener extends TelemetryListener {
  (event: BulwarkEvent): void;
}
