import type { BulwarkEvent, BulwarkListener } from '@bulwark/telemetry';

/**
 * Events of packages outside `@bulwark/telemetry`'s `BulwarkEvent` union that the dashboard
 * shows, described by their shape (the fields it reads) so the listener can be given to
 * `@bulwark/idempotency` and the server adapters' `idempotency.listener` without this package
 * depending on them. Their own event types are assignable to these. (Health checks' events are
 * in `BulwarkEvent`: the Prometheus listener records them too.)
 */

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
export type DashboardEvent = BulwarkEvent | IdempotencyShape | EndpointEjectionShape;

/**
 * A telemetry listener that takes, besides Bulwark's policy, rate-limit, chaos and health events,
 * the idempotency gate's and the endpoints' ejections.
 */
export interface DashboardEventListener extends BulwarkListener {
  (event: DashboardEvent): void;
}
