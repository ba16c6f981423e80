/**
 * The server side of the page (in flight, queued, shed and rate-limited requests), read from the
 * same prom-client registry `/metrics` serves, once per tick: the page shows what the metrics
 * show, and this package needs no hook inside `@bulwark/server`.
 */

/** The part of a prom-client `Registry` the dashboard reads. */
export interface MetricsRegistryLike {
  getSingleMetric(name: string): unknown;
}

/** The `policy` label of the server adapters' shedding bulkhead. */
export const SERVER_BULKHEAD = 'http-server';

export interface ServerReading {
  /** Requests refused with 503 to protect the service, all reasons (a counter). */
  readonly shed: number | undefined;
  /** Requests refused by their caller's rate limit (a counter). */
  readonly rateLimited: number | undefined;
  readonly inFlight: number | undefined;
  readonly queued: number | undefined;
  readonly limit: number | undefined;
}

interface MetricValues {
  readonly values: ReadonlyArray<{
    readonly value: number;
    readonly labels: Readonly<Record<string, string | number>>;
  }>;
}

export class ServerSource {
  constructor(
    private readonly registry: MetricsRegistryLike,
    private readonly prefix: string,
  ) {}

  async read(): Promise<ServerReading> {
    const p = this.prefix;
    const [shed, rateLimited, inFlight, queued, limit] = await Promise.all([
      this.sum(`${p}http_server_shed_total`),
      this.sum(`${p}http_server_rate_limited_total`),
      this.sum(`${p}bulkhead_in_flight`, SERVER_BULKHEAD),
      this.sum(`${p}bulkhead_queue_length`, SERVER_BULKHEAD),
      this.sum(`${p}bulkhead_limit`, SERVER_BULKHEAD),
    ]);
    return { shed, rateLimited, inFlight, queued, limit };
  }

  /** The sum of a metric's series (those of one `policy`, when given); undefined when absent. */
  private async sum(name: string, policy?: string): Promise<number | undefined> {
    const metric = this.registry.getSingleMetric(name) as { get?: unknown } | undefined;
    if (metric === undefined || typeof metric.get !== 'function') return undefined;
    let read: MetricValues;
    try {
      read = (await (metric.get as () => Promise<MetricValues>).call(metric)) ?? { values: [] };
    } catch {
      return undefined;
    }
    let total: number | undefined;
    for (const { value, labels } of read.values) {
      if (policy !== undefined && labels.policy !== policy) continue;
      total = (total ?? 0) + value;
    }
    return policy === undefined ? (total ?? 0) : total;
  }
}
