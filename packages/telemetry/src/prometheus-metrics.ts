import {
  CounterFamily,
  type Family,
  GaugeFamily,
  HistogramFamily,
  type SeriesLimit,
} from './metric-family.js';

/** The `code` of the warning a family emits, once, when it reaches its limit. */
export const SERIES_LIMIT_WARNING = 'BULWARK_TELEMETRY_SERIES_LIMIT';

/**
 * Every metric the Prometheus listener records, with its labels. The README's metrics table
 * documents the same list; keep the two together.
 */
export class PrometheusMetrics {
  readonly calls: CounterFamily;
  readonly callDuration: HistogramFamily;
  readonly attempts: CounterFamily;
  readonly attemptDuration: HistogramFamily;
  readonly retries: CounterFamily;
  readonly retryGaveUp: CounterFamily;
  readonly breakerState: GaugeFamily;
  readonly breakerTransitions: CounterFamily;
  readonly breakerRejected: CounterFamily;
  readonly bulkheadQueued: CounterFamily;
  readonly bulkheadRejected: CounterFamily;
  readonly bulkheadInFlight: GaugeFamily;
  readonly bulkheadQueueLength: GaugeFamily;
  readonly bulkheadLimit: GaugeFamily;
  readonly timeouts: CounterFamily;
  readonly deadlineExceeded: CounterFamily;
  readonly cacheLookups: CounterFamily;
  readonly cacheStaleServed: CounterFamily;
  readonly cacheRevalidations: CounterFamily;
  readonly cacheCoalesced: CounterFamily;
  readonly cacheStored: CounterFamily;
  readonly cacheNotStored: CounterFamily;
  readonly cacheInvalidations: CounterFamily;
  readonly cacheStoreErrors: CounterFamily;
  readonly seriesDropped: CounterFamily;
  /** Families already warned about, so each warns once. */
  private readonly warned = new Set<string>();

  /** Every family but `seriesDropped`, which counts what they refused, keeps `maxSeries` series. */
  constructor(prefix: string, buckets: readonly number[], maxSeries: number) {
    const p = prefix;
    const limit: SeriesLimit = { maxSeries, refused: (family) => this.refused(family) };
    this.calls = new CounterFamily(
      `${p}calls_total`,
      'Calls through a pipeline, by outcome.',
      ['operation', 'outcome'],
      limit,
    );
    this.callDuration = new HistogramFamily(
      `${p}call_duration_seconds`,
      'Duration of whole calls through a pipeline, retries and waits included.',
      ['operation', 'outcome'],
      buckets,
      limit,
    );
    this.attempts = new CounterFamily(
      `${p}attempts_total`,
      'Attempts made by retry policies, the first included, by outcome.',
      ['policy', 'operation', 'outcome'],
      limit,
    );
    this.attemptDuration = new HistogramFamily(
      `${p}attempt_duration_seconds`,
      'Duration of single attempts made by retry policies.',
      ['policy', 'operation', 'outcome'],
      buckets,
      limit,
    );
    this.retries = new CounterFamily(
      `${p}retries_total`,
      'Retries scheduled, by where the delay came from (backoff or server-hint).',
      ['policy', 'operation', 'delay_source'],
      limit,
    );
    this.retryGaveUp = new CounterFamily(
      `${p}retry_gave_up_total`,
      'Calls a retry policy stopped retrying, by reason (budget-exhausted: the retry budget was empty).',
      ['policy', 'operation', 'reason'],
      limit,
    );
    this.breakerState = new GaugeFamily(
      `${p}breaker_state`,
      'Circuit breaker state: 1 for the current state, 0 for the others.',
      ['policy', 'origin', 'state'],
      limit,
    );
    this.breakerTransitions = new CounterFamily(
      `${p}breaker_transitions_total`,
      'Circuit breaker state changes.',
      ['policy', 'origin', 'from', 'to'],
      limit,
    );
    this.breakerRejected = new CounterFamily(
      `${p}breaker_rejected_total`,
      'Calls a circuit breaker rejected without running them, by the state it was in.',
      ['policy', 'origin', 'state'],
      limit,
    );
    this.bulkheadQueued = new CounterFamily(
      `${p}bulkhead_queued_total`,
      'Calls that had to wait in a bulkhead queue.',
      ['policy', 'operation'],
      limit,
    );
    this.bulkheadRejected = new CounterFamily(
      `${p}bulkhead_rejected_total`,
      'Calls a bulkhead rejected, by reason (full or queue-timeout).',
      ['policy', 'operation', 'reason'],
      limit,
    );
    this.bulkheadInFlight = new GaugeFamily(
      `${p}bulkhead_in_flight`,
      'Calls running inside an observed bulkhead.',
      ['policy'],
      limit,
    );
    this.bulkheadQueueLength = new GaugeFamily(
      `${p}bulkhead_queue_length`,
      'Calls waiting in an observed bulkhead queue.',
      ['policy'],
      limit,
    );
    this.bulkheadLimit = new GaugeFamily(
      `${p}bulkhead_limit`,
      'Concurrency limit of a bulkhead (adaptive limits move).',
      ['policy'],
      limit,
    );
    this.timeouts = new CounterFamily(
      `${p}timeouts_total`,
      'Attempts cut short by their own timeout.',
      ['policy', 'operation'],
      limit,
    );
    this.deadlineExceeded = new CounterFamily(
      `${p}deadline_exceeded_total`,
      'Calls or attempts stopped because the overall deadline ran out.',
      ['policy', 'operation'],
      limit,
    );
    this.cacheLookups = new CounterFamily(
      `${p}cache_lookups_total`,
      'HTTP cache lookups, by result: hit (fresh), stale (served stale without asking the origin) or miss (the origin was asked).',
      ['policy', 'operation', 'result'],
      limit,
    );
    this.cacheStaleServed = new CounterFamily(
      `${p}cache_stale_served_total`,
      'Stale responses served by an HTTP cache, by reason (max-stale, stale-while-revalidate, stale-if-error).',
      ['policy', 'operation', 'reason'],
      limit,
    );
    this.cacheRevalidations = new CounterFamily(
      `${p}cache_revalidations_total`,
      'Stored responses validated with the origin, by outcome (not-modified, modified, failed).',
      ['policy', 'operation', 'outcome'],
      limit,
    );
    this.cacheCoalesced = new CounterFamily(
      `${p}cache_coalesced_total`,
      'Requests that joined an origin request already in flight for the same key.',
      ['policy', 'operation'],
      limit,
    );
    this.cacheStored = new CounterFamily(
      `${p}cache_stored_total`,
      'Responses an HTTP cache stored.',
      ['policy', 'operation'],
      limit,
    );
    this.cacheNotStored = new CounterFamily(
      `${p}cache_not_stored_total`,
      'Responses an HTTP cache did not store, by reason.',
      ['policy', 'operation', 'reason'],
      limit,
    );
    this.cacheInvalidations = new CounterFamily(
      `${p}cache_invalidations_total`,
      'URLs dropped from an HTTP cache because an unsafe request to them succeeded.',
      ['policy', 'operation'],
      limit,
    );
    this.cacheStoreErrors = new CounterFamily(
      `${p}cache_store_errors_total`,
      'Failed cache store commands (a failed read is a miss, a failed write is lost), by store operation.',
      ['policy', 'operation', 'store_operation'],
      limit,
    );
    this.seriesDropped = new CounterFamily(
      `${p}telemetry_series_dropped_total`,
      'New label combinations refused a series of their own because the metric reached maxSeries: counted under label values "other" (gauges: not exported).',
      ['metric'],
    );
  }

  private refused(family: Family<unknown>): void {
    const name = family.registeredName;
    this.seriesDropped.at([name]).value++;
    if (this.warned.has(name)) return;
    this.warned.add(name);
    const fate = family.type === 'gauge' ? 'are not exported' : 'are counted under "other"';
    process.emitWarning(
      `${name} has reached maxSeries: new label combinations ${fate} (see ${this.seriesDropped.registeredName})`,
      { code: SERIES_LIMIT_WARNING },
    );
  }

  all(): ReadonlyArray<Family<unknown>> {
    return [
      this.calls,
      this.callDuration,
      this.attempts,
      this.attemptDuration,
      this.retries,
      this.retryGaveUp,
      this.breakerState,
      this.breakerTransitions,
      this.breakerRejected,
      this.bulkheadQueued,
      this.bulkheadRejected,
      this.bulkheadInFlight,
      this.bulkheadQueueLength,
      this.bulkheadLimit,
      this.timeouts,
      this.deadlineExceeded,
      this.cacheLookups,
      this.cacheStaleServed,
      this.cacheRevalidations,
      this.cacheCoalesced,
      this.cacheStored,
      this.cacheNotStored,
      this.cacheInvalidations,
      this.cacheStoreErrors,
      this.seriesDropped,
    ] as ReadonlyArray<Family<unknown>>;
  }
}
