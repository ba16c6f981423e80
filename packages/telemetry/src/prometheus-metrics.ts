import {
  CounterFamily,
  type Family,
  GaugeFamily,
  HistogramFamily,
  type SeriesLimit,
} from './metric-family.js';

/** The `code` of the warning a family emits, once, when it reaches its limit. */
export const SERIES_LIMIT_WARNING = 'BULWARK_TELEMETRY_SERIES_LIMIT';

/** One metric family: its name after the prefix, its help text and its labels. */
interface FamilySpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
}

const counter = (name: string, help: string, labels: readonly string[]) =>
  ({ type: 'counter', name, help, labels }) as const;
const gauge = (name: string, help: string, labels: readonly string[]) =>
  ({ type: 'gauge', name, help, labels }) as const;
const histogram = (name: string, help: string, labels: readonly string[]) =>
  ({ type: 'histogram', name, help, labels }) as const;

const POLICY_OPERATION = ['policy', 'operation'] as const;

/**
 * Every metric the Prometheus listener records, with its labels. The README's metrics table
 * documents the same list; keep the two together.
 */
const FAMILIES = {
  calls: counter('calls_total', 'Calls through a pipeline, by outcome.', ['operation', 'outcome']),
  callDuration: histogram(
    'call_duration_seconds',
    'Duration of whole calls through a pipeline, retries and waits included.',
    ['operation', 'outcome'],
  ),
  attempts: counter(
    'attempts_total',
    'Attempts made by retry policies, the first included, by outcome.',
    [...POLICY_OPERATION, 'outcome'],
  ),
  attemptDuration: histogram(
    'attempt_duration_seconds',
    'Duration of single attempts made by retry policies.',
    [...POLICY_OPERATION, 'outcome'],
  ),
  retries: counter(
    'retries_total',
    'Retries scheduled, by where the delay came from (backoff or server-hint).',
    [...POLICY_OPERATION, 'delay_source'],
  ),
  retryGaveUp: counter(
    'retry_gave_up_total',
    'Calls a retry policy stopped retrying, by reason (budget-exhausted: the retry budget was empty).',
    [...POLICY_OPERATION, 'reason'],
  ),
  breakerState: gauge(
    'breaker_state',
    'Circuit breaker state: 1 for the current state, 0 for the others.',
    ['policy', 'origin', 'state'],
  ),
  breakerTransitions: counter('breaker_transitions_total', 'Circuit breaker state changes.', [
    'policy',
    'origin',
    'from',
    'to',
  ]),
  breakerRejected: counter(
    'breaker_rejected_total',
    'Calls a circuit breaker rejected without running them, by the state it was in.',
    ['policy', 'origin', 'state'],
  ),
  bulkheadQueued: counter(
    'bulkhead_queued_total',
    'Calls that had to wait in a bulkhead queue.',
    POLICY_OPERATION,
  ),
  bulkheadRejected: counter(
    'bulkhead_rejected_total',
    'Calls a bulkhead rejected, by reason (full or queue-timeout).',
    [...POLICY_OPERATION, 'reason'],
  ),
  bulkheadInFlight: gauge('bulkhead_in_flight', 'Calls running inside an observed bulkhead.', [
    'policy',
  ]),
  bulkheadQueueLength: gauge(
    'bulkhead_queue_length',
    'Calls waiting in an observed bulkhead queue.',
    ['policy'],
  ),
  bulkheadLimit: gauge(
    'bulkhead_limit',
    'Concurrency limit of a bulkhead (adaptive limits move).',
    ['policy'],
  ),
  timeouts: counter('timeouts_total', 'Attempts cut short by their own timeout.', POLICY_OPERATION),
  deadlineExceeded: counter(
    'deadline_exceeded_total',
    'Calls or attempts stopped because the overall deadline ran out.',
    POLICY_OPERATION,
  ),
  cacheLookups: counter(
    'cache_lookups_total',
    'HTTP cache lookups, by result: hit (fresh), stale (served stale without asking the origin) or miss (the origin was asked).',
    [...POLICY_OPERATION, 'result'],
  ),
  cacheStaleServed: counter(
    'cache_stale_served_total',
    'Stale responses served by an HTTP cache, by reason (max-stale, stale-while-revalidate, stale-if-error).',
    [...POLICY_OPERATION, 'reason'],
  ),
  cacheRevalidations: counter(
    'cache_revalidations_total',
    'Stored responses validated with the origin, by outcome (not-modified, modified, failed).',
    [...POLICY_OPERATION, 'outcome'],
  ),
  cacheCoalesced: counter(
    'cache_coalesced_total',
    'Requests that joined an origin request already in flight for the same key.',
    POLICY_OPERATION,
  ),
  cacheStored: counter('cache_stored_total', 'Responses an HTTP cache stored.', POLICY_OPERATION),
  cacheNotStored: counter(
    'cache_not_stored_total',
    'Responses an HTTP cache did not store, by reason.',
    [...POLICY_OPERATION, 'reason'],
  ),
  cacheInvalidations: counter(
    'cache_invalidations_total',
    'URLs dropped from an HTTP cache because an unsafe request to them succeeded.',
    POLICY_OPERATION,
  ),
  cacheStoreErrors: counter(
    'cache_store_errors_total',
    'Failed cache store commands (a failed read is a miss, a failed write is lost), by store operation.',
    [...POLICY_OPERATION, 'store_operation'],
  ),
  rateLimitGranted: counter(
    'rate_limit_granted_total',
    'Calls or take()s a rate limiter granted permits to, at once or after waiting.',
    POLICY_OPERATION,
  ),
  rateLimitQueued: counter(
    'rate_limit_queued_total',
    'Calls that had to wait in a rate limiter queue for their permits.',
    POLICY_OPERATION,
  ),
  rateLimitRejected: counter(
    'rate_limit_rejected_total',
    'Calls or take()s a rate limiter refused, by reason (limit, queue-full, max-wait, store-error).',
    [...POLICY_OPERATION, 'reason'],
  ),
  rateLimitStoreErrors: counter(
    'rate_limit_store_errors_total',
    'Decisions a rate limiter store failed to make, by what the limiter did instead (allow: unmetered; deny: refused).',
    [...POLICY_OPERATION, 'mode'],
  ),
  hedges: counter(
    'hedges_total',
    'Hedged attempts started, by trigger (delay: the previous attempt was slow; failure: it failed).',
    [...POLICY_OPERATION, 'trigger'],
  ),
  hedgeWins: counter(
    'hedge_wins_total',
    'Hedged calls that ended with an acceptable outcome, by the attempt that gave it (1: the hedges were wasted).',
    [...POLICY_OPERATION, 'attempt'],
  ),
  hedgesCancelled: counter(
    'hedge_cancelled_attempts_total',
    'Attempts a hedging policy aborted because another attempt had settled the call.',
    POLICY_OPERATION,
  ),
  fallbacks: counter(
    'fallbacks_total',
    'Failures a fallback answered for, by the failure (an HTTP status, an error code or class) and whether the fallback answered (success) or failed itself.',
    [...POLICY_OPERATION, 'reason', 'outcome'],
  ),
  endpointEjections: counter(
    'endpoint_ejections_total',
    'Endpoints a service client took out of rotation (outlier ejection), by reason (consecutive-failures, success-rate).',
    ['service', 'endpoint', 'reason'],
  ),
  endpointsEjected: gauge(
    'endpoints_ejected',
    'Endpoints of a service client out of rotation now.',
    ['service'],
  ),
  endpoints: gauge('endpoints', 'Endpoints a service client knows now.', ['service']),
  endpointInFlight: gauge(
    'endpoint_in_flight',
    'Requests on the wire to each endpoint of an observed service client.',
    ['service', 'endpoint'],
  ),
  endpointRefreshFailures: counter(
    'endpoint_refresh_failures_total',
    "Failed reads of a service client's endpoints (its function, or DNS): the last known ones stay.",
    ['service'],
  ),
  chaosInjections: counter(
    'chaos_injections_total',
    'Faults, latency, outcomes and behaviours a chaos policy or interceptor injected, by kind: a rehearsal, not an outage.',
    [...POLICY_OPERATION, 'kind'],
  ),
  healthCheckStatus: gauge(
    'health_check_status',
    'The status of each health check at its last run: 1 for the current status (pass, warn, fail), 0 for the others.',
    ['check', 'status'],
  ),
  healthStatus: gauge(
    'health_status',
    'The status of each health view (liveness, readiness, startup) at its last probe: 1 for the current status, 0 for the others.',
    ['view', 'status'],
  ),
} as const satisfies Record<string, FamilySpec>;

/** The family class a spec builds. */
type FamilyOf<Spec extends FamilySpec> = Spec['type'] extends 'counter'
  ? CounterFamily
  : Spec['type'] extends 'gauge'
    ? GaugeFamily
    : HistogramFamily;

/** Every metric family of one registry and prefix, by the name the recorder uses. */
export type PrometheusMetrics = {
  readonly [Key in keyof typeof FAMILIES]: FamilyOf<(typeof FAMILIES)[Key]>;
} & {
  /** Counts what the others refused past `maxSeries`; it has no limit of its own. */
  readonly seriesDropped: CounterFamily;
  /** Every family, to register. */
  all(): ReadonlyArray<Family<unknown>>;
};

/** Builds every family: each but `seriesDropped` keeps at most `maxSeries` series. */
export function prometheusMetrics(
  prefix: string,
  buckets: readonly number[],
  maxSeries: number,
): PrometheusMetrics {
  const seriesDropped = new CounterFamily(
    `${prefix}telemetry_series_dropped_total`,
    'New label combinations refused a series of their own because the metric reached maxSeries: counted under label values "other" (gauges: not exported).',
    ['metric'],
  );
  const warned = new Set<string>();
  const limit: SeriesLimit = {
    maxSeries,
    refused: (family) => refused(family, seriesDropped, warned),
  };
  const families: Record<string, Family<unknown>> = {};
  for (const [key, spec] of Object.entries(FAMILIES) as Array<[string, FamilySpec]>) {
    families[key] = build(spec, prefix, buckets, limit);
  }
  const all = [...Object.values(families), seriesDropped];
  return {
    ...(families as Omit<PrometheusMetrics, 'seriesDropped' | 'all'>),
    seriesDropped,
    all: () => all,
  };
}

function build(
  spec: FamilySpec,
  prefix: string,
  buckets: readonly number[],
  limit: SeriesLimit,
): Family<unknown> {
  const name = `${prefix}${spec.name}`;
  switch (spec.type) {
    case 'counter':
      return new CounterFamily(name, spec.help, spec.labels, limit);
    case 'gauge':
      return new GaugeFamily(name, spec.help, spec.labels, limit);
    case 'histogram':
      return new HistogramFamily(name, spec.help, spec.labels, buckets, limit);
  }
}

/** Counts a refused label combination, and warns once per family. */
function refused(family: Family<unknown>, seriesDropped: CounterFamily, warned: Set<string>): void {
  const name = family.registeredName;
  seriesDropped.at([name]).value++;
  if (warned.has(name)) return;
  warned.add(name);
  const fate = family.type === 'gauge' ? 'are not exported' : 'are counted under "other"';
  process.emitWarning(
    `${name} has reached maxSeries: new label combinations ${fate} (see ${seriesDropped.registeredName})`,
    { code: SERIES_LIMIT_WARNING },
  );
}
