import type { BulwarkEvent, BulwarkListener } from '@bulwark/telemetry';

/**
 * Events of packages outside `@bulwark/telemetry`'s `BulwarkEvent` union that the dashboard
 * shows, described by their shape (the fields it reads) so the listener can be given to
 * `@bulwark/idempotency` and the server adapters' `idempotency.listener` without this package
 * depending on them. Their own event types are assignable to these. (Health checks' events are
 * and a service client's endpoint events are in `BulwarkEvent`: the Prometheus listener records
 * them too.)
 */

/** What `@bulwark/idempotency` decided for a request, or did with its claim afterwards. */
export interface IdempotencyShape {
  readonly type: 'idempotency-decision' | 'idempotency-completion';
  /** `replay`, `conflict`, `mismatch`, `proceed`... for a decision; `stored`, `released`... after. */
  readonly outcome: string;
}

/** Every event the dashboard listener takes. */
export type DashboardEvent = BulwarkEvent | IdempotencyShape;

/**
 * A telemetry listener that takes, besides Bulwark's policy, rate-limit, chaos, health and
 * endpoint events, the idempotency gate's.
 */
export interface DashboardEventListener extends BulwarkListener {
  (event: DashboardEvent): void;
}
