import type { BulwarkEvent, BulwarkListener } from '@bulwark/telemetry';

/**
 * Events of packages outside core's `PolicyEvent` union that the dashboard shows, described by
 * their shape (the fields it reads) so the listener can be given to `healthRegistry()`,
 * `@bulwark/idempotency` and the server adapters' `idempotency.listener` without this package
 * depending on them. Their own event types are assignable to these.
 */

/** One run of one health check ended (`@bulwark/health`'s `HealthCheckEvent`). */
export interface HealthCheckShape {
  readonly type: 'health-check';
  /** The check's registered name. */
  readonly name: string;
  /** `pass`, `warn` or `fail`. */
  readonly status: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

/** The health registry's other events, which the page does not show. */
export interface HealthOtherShape {
  readonly type: 'health-report' | 'shutdown';
}

/** What `@bulwark/idempotency` decided for a request, or did with its claim afterwards. */
export interface IdempotencyShape {
  readonly type: 'idempotency-decision' | 'idempotency-completion';
  /** `replay`, `conflict`, `mismatch`, `proceed`... for a decision; `stored`, `released`... after. */
  readonly outcome: string;
}

/**
 * An endpoint of a downstream service taken out of rotation by outlier ejection, or put back. The
 * shape the dashboard reads from the service client's ejection events: any event with one of
 * these types and an `endpoint` name.
 */
export interface EndpointEjectionShape {
  readonly type: 'endpoint-ejected' | 'endpoint-restored';
  readonly name: string | undefined;
  readonly operation: string | undefined;
  /** The endpoint, as the service client names it (an origin: never with a query). */
  readonly endpoint: string;
}

/** Every event the dashboard listener takes. */
export type DashboardEvent =
  BulwarkEvent | HealthCheckShape | HealthOtherShape | IdempotencyShape | EndpointEjectionShape;

/**
 * A telemetry listener that takes, besides Bulwark's policy, rate-limit and chaos events, the
 * health checks' and the idempotency gate's.
 */
export interface DashboardEventListener extends BulwarkListener {
  (event: DashboardEvent): void;
}
