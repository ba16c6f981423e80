/**
 * Server-side request metrics, kept in plain fields and read by a prom-client registry when it
 * is scraped. prom-client's own histogram hashes the label set on every `observe()`, a cost of
 * the order of a bare route's (benchmarks/RESULTS.md, server stack); here a request finds its
 * series through a route map and two array indexes and bumps a counter.
 */

import {
  CounterFamily,
  type HistogramCell,
  HistogramFamily,
  type SeriesLimit,
} from '@bulwark/telemetry/internal';

/** Upper bounds in seconds: prom-client's defaults, which start too coarse for fast routes. */
export const DEFAULT_REQUEST_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Distinct routes recorded before new ones are counted under `route="other"`. */
export const MAX_ROUTES = 1000;
/**
 * Series of the request histogram before new label combinations share one series labelled
 * `other` throughout: the route, method and status caps multiply to far more than any scrape
 * should carry.
 */
export const DEFAULT_MAX_REQUEST_SERIES = 2000;
/** The process warning's code when the request histogram first reaches its series bound. */
export const SERIES_LIMIT_WARNING = 'BULWARK_SERVER_SERIES_LIMIT';
const OTHER = 'other';
/** Methods outside this list share one series: a client can send any token as a method. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const OTHER_METHOD = METHODS.length;
const MAX_STATUS = 599;

/** The part of a prom-client `Registry` this module uses. */
export interface RegistryLike {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

class RouteSlot {
  /** Per method index, per status code. */
  readonly byMethod: Array<Array<HistogramCell | undefined> | undefined> = [];
  constructor(readonly route: string) {}
}

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return OTHER_METHOD;
  }
}

/**
 * `<prefix>http_server_request_duration_seconds{method, route, status_code}`,
 * `<prefix>http_server_shed_total{reason}` and `<prefix>http_server_rate_limited_total{reason}`.
 */
export class RequestMetrics {
  private readonly routes = new Map<string, RouteSlot>();
  private readonly durations: HistogramFamily;
  private readonly shedCounter: CounterFamily;
  private readonly rateLimitedCounter: CounterFamily;
  private readonly statusLabels: string[] = [];

  constructor(
    private readonly registry: RegistryLike,
    prefix: string,
    buckets: readonly number[],
    maxSeries: number = DEFAULT_MAX_REQUEST_SERIES,
  ) {
    let warned = false;
    const limit: SeriesLimit = {
      maxSeries,
      refused: (family) => {
        if (warned) return;
        warned = true;
        process.emitWarning(
          `${family.registeredName} has reached metrics.maxSeries (${maxSeries}): new combinations of method, route and status code are counted under "other"`,
          { code: SERIES_LIMIT_WARNING },
        );
      },
    };
    this.durations = new HistogramFamily(
      `${prefix}http_server_request_duration_seconds`,
      'Duration of inbound HTTP requests, from arrival to the end of the response.',
      ['method', 'route', 'status_code'],
      buckets,
      limit,
    );
    this.shedCounter = new CounterFamily(
      `${prefix}http_server_shed_total`,
      'Inbound requests refused with 503 to protect the service, by reason.',
      ['reason'],
    );
    this.rateLimitedCounter = new CounterFamily(
      `${prefix}http_server_rate_limited_total`,
      "Inbound requests refused by their caller's rate limit, by reason: limit (429), or store-error (503, the limit's store failed).",
      ['reason'],
    );
    for (const family of this.families()) {
      if (registry.getSingleMetric(family.name) !== undefined) {
        throw new Error(
          `a metric named ${family.name} is already registered in this registry: give Bulwark another metrics prefix`,
        );
      }
    }
    for (const family of this.families()) registry.registerMetric(family as never);
  }

  /** Records one finished request. `route` is the matched route template ('' when none matched). */
  observe(method: string, route: string, statusCode: number, seconds: number): void {
    const slot = this.routes.get(route) ?? this.addRoute(route);
    const m = methodIndex(method);
    const byStatus = slot.byMethod[m] ?? (slot.byMethod[m] = []);
    const status = statusCode >= 100 && statusCode <= MAX_STATUS ? statusCode : 0;
    (byStatus[status] ?? this.addSeries(byStatus, slot.route, m, status)).observe(seconds);
  }

  shed(reason: string): void {
    this.shedCounter.at([reason]).value++;
  }

  /** Counts a request its caller's rate limit refused. */
  rateLimited(reason: 'limit' | 'store-error'): void {
    this.rateLimitedCounter.at([reason]).value++;
  }

  /** Takes the metrics out of the registry. */
  unregister(): void {
    for (const family of this.families()) {
      if (this.registry.getSingleMetric(family.name) === family)
        this.registry.removeSingleMetric(family.name);
    }
  }

  private families(): ReadonlyArray<HistogramFamily | CounterFamily> {
    return [this.durations, this.shedCounter, this.rateLimitedCounter];
  }

  private addRoute(route: string): RouteSlot {
    // Past the cap, unknown routes share one slot and are not remembered one by one.
    if (this.routes.size >= MAX_ROUTES || route.length > 256) {
      let other = this.routes.get(OTHER);
      if (other === undefined) {
        other = new RouteSlot(OTHER);
        this.routes.set(OTHER, other);
      }
      return other;
    }
    const slot = new RouteSlot(route);
    this.routes.set(route, slot);
    return slot;
  }

  private addSeries(
    byStatus: Array<HistogramCell | undefined>,
    route: string,
    m: number,
    status: number,
  ): HistogramCell {
    const series = this.durations.at([
      m === OTHER_METHOD ? 'other' : METHODS[m]!,
      route,
      this.statusLabels[status] ?? (this.statusLabels[status] = String(status)),
    ]);
    byStatus[status] = series;
    return series;
  }
}
