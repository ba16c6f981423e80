import { type BreakerState, bindSuccess } from '@bulwark/core';
import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
import type { BulwarkListener } from './events.js';
import { isFamily } from './metric-family.js';
import { promClient } from './peers.js';
import { type PrometheusMetrics, prometheusMetrics } from './prometheus-metrics.js';
import { PrometheusRecorder } from './prometheus-recorder.js';

/** Prometheus' own client libraries prefix metrics with the library's name. */
export const DEFAULT_PREFIX = 'bulwark_';

/** Seconds; the buckets of Prometheus' client libraries (client_golang's DefBuckets, prom-client's). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Distinct values each label may take before new ones are counted as "other". */
export const DEFAULT_MAX_LABEL_VALUES = 100;

/**
 * Series each metric may keep before new label combinations are counted as "other": label
 * values are capped one label at a time, but a family's series multiply across its labels.
 */
export const DEFAULT_MAX_SERIES = 500;

const MAX_BUCKETS = 64;
const METRIC_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

export type PrometheusRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

export interface PrometheusListenerOptions {
  /** The registry to record into. Default: prom-client's global `register`. */
  registry?: PrometheusRegistry;
  /** Prepended to every metric name. Default `bulwark_`. */
  prefix?: string;
  /** Upper bounds, in seconds, of the duration histograms' buckets. */
  buckets?: readonly number[];
  /** Distinct values each label (policy, operation, origin) may take; more become "other". */
  maxLabelValues?: number;
  /** Series each metric may keep; new label combinations past it become "other". Default 500. */
  maxSeries?: number;
}

/** What a Prometheus listener reads from a bulkhead at scrape time (a `@bulwark/bulkhead` one fits). */
export interface ObservedBulkhead {
  readonly active: number;
  readonly queued: number;
  readonly limit: number;
}

/** A breaker's state as a view (`BreakerRegistry.views()` returns these). */
export interface ObservedBreakerView {
  readonly key: string | undefined;
  readonly name?: string | undefined;
  readonly state: BreakerState;
}

/** A circuit breaker, or a registry of breakers, whose state is read at scrape time. */
export type ObservedBreakers =
  | { readonly state: BreakerState; readonly key?: string | undefined }
  | { views(): readonly ObservedBreakerView[] };

/** One endpoint as an observed service client reports it. */
export interface ObservedEndpointView {
  /** The endpoint's URL: the `endpoint` label. */
  readonly endpoint: string;
  /** `active`, `probation` or `ejected`. */
  readonly state: string;
  /** Requests on the wire to it now. */
  readonly inFlight: number;
}

/** A service client whose endpoints are read at scrape time (a `@bulwark/service-client` client fits). */
export interface ObservedEndpoints {
  endpoints(): readonly ObservedEndpointView[];
}

export interface ObserveEndpointsOptions {
  /** The `service` label: the service client's `name`, to match its events. */
  name: string;
}

export interface ObserveBulkheadOptions {
  /** The `policy` label: the bulkhead's `name` option, to match its events. */
  name: string;
}

export interface ObserveBreakersOptions {
  /** The `policy` label. Default: each view's `name`, else `circuit-breaker`. */
  name?: string;
}

/**
 * A telemetry listener that records prom-client metrics, and reads live gauges from the
 * bulkheads and breakers it is told to observe. It takes the rate limiters' and chaos policies'
 * events too.
 */
export interface PrometheusListener extends BulwarkListener {
  /**
   * Reports the bulkhead's `in_flight`, `queue_length` and `limit` gauges at every scrape, which
   * events alone cannot keep right (no event says a call left). Returns a function that stops.
   */
  observeBulkhead(bulkhead: ObservedBulkhead, options: ObserveBulkheadOptions): () => void;
  /**
   * Reports the state of a breaker, or of every breaker in a registry, at every scrape: a
   * breaker shows as closed before its first transition. Returns a function that stops.
   */
  observeBreakers(source: ObservedBreakers, options?: ObserveBreakersOptions): () => void;
  /**
   * Reports a service client's `endpoints`, `endpoints_ejected` and per-endpoint
   * `endpoint_in_flight` gauges at every scrape: an ejection ends by itself when its time is up,
   * and no event says a request left. Returns a function that stops and removes the in-flight
   * series.
   */
  observeEndpoints(source: ObservedEndpoints, options: ObserveEndpointsOptions): () => void;
}

interface MetricSet {
  readonly metrics: PrometheusMetrics;
  readonly listener: PrometheusListener;
  readonly buckets: readonly number[];
  readonly maxLabelValues: number;
  readonly maxSeries: number;
}

// One metric set per registry and prefix: every listener on it feeds the same series.
const setsByRegistry = new WeakMap<object, Map<string, MetricSet>>();

/**
 * A telemetry listener that records Bulwark's events as Prometheus metrics: calls and attempts
 * by outcome with duration histograms, retries, give-ups (retry-budget exhaustion among them),
 * breaker state and transitions, bulkhead rejections and queueing, timeouts and exceeded
 * deadlines, hedges, fallbacks, rate-limit decisions and chaos injections. See the README for
 * the metrics table.
 *
 * Give the same listener to the pipeline (`listener` option, for `calls`), to each policy, and to
 * rate limiters and chaos policies (their `listener` option).
 * Calling this again with the same registry and prefix returns the same listener.
 *
 * @example
 * const metrics = prometheusListener();
 * const policy = pipeline({ operation: 'get-user', listener: metrics }, retry({ listener: metrics }));
 */
export function prometheusListener(options: PrometheusListenerOptions = {}): PrometheusListener {
  checkOptionsObject('prometheusListener', options);
  checkKnownOptions('prometheusListener', options, [
    'registry',
    'prefix',
    'buckets',
    'maxLabelValues',
    'maxSeries',
  ]);
  const registry = options.registry ?? promClient('prometheusListener').register;
  checkRegistry(registry);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new TypeError(
      `expected prefix to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${describeValue(prefix)}`,
    );
  }
  const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
  checkBuckets(buckets);
  const maxLabelValues = options.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES;
  checkInteger('maxLabelValues', maxLabelValues, 1, 100_000);
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  checkInteger('maxSeries', maxSeries, 1, 1_000_000);

  let sets = setsByRegistry.get(registry);
  if (sets === undefined) {
    sets = new Map();
    setsByRegistry.set(registry, sets);
  }
  const existing = sets.get(prefix);
  // A registry that was cleared since no longer holds the set: build and register a new one.
  if (existing !== undefined && isRegistered(registry, existing)) {
    if (
      !sameNumbers(existing.buckets, buckets) ||
      existing.maxLabelValues !== maxLabelValues ||
      existing.maxSeries !== maxSeries
    ) {
      throw new Error(
        `the ${prefix}* metrics are already registered in this registry with other buckets, maxLabelValues or maxSeries: use another prefix or registry`,
      );
    }
    return existing.listener;
  }
  const set = createSet(registry, prefix, [...buckets], maxLabelValues, maxSeries);
  sets.set(prefix, set);
  return set.listener;
}

function createSet(
  registry: PrometheusRegistry,
  prefix: string,
  buckets: readonly number[],
  maxLabelValues: number,
  maxSeries: number,
): MetricSet {
  const metrics = prometheusMetrics(prefix, buckets, maxSeries);
  for (const family of metrics.all()) {
    const taken: unknown = registry.getSingleMetric(family.registeredName);
    if (taken !== undefined) {
      const by = isFamily(taken) ? ' by another copy of @bulwark/telemetry' : '';
      throw new Error(
        `a metric named ${family.registeredName} is already registered in this registry${by}`,
      );
    }
  }
  // Bulwark's families follow the contract prom-client's registry reads (name, help, type,
  // aggregator, get(), reset()); its types only list its own classes.
  for (const family of metrics.all()) registry.registerMetric(family as never);
  const recorder = new PrometheusRecorder(metrics, maxLabelValues);
  const listener = Object.assign(recorder.record, {
    [bindSuccess]: recorder.bindSuccess,
    observeBulkhead: (bulkhead: ObservedBulkhead, options: ObserveBulkheadOptions) =>
      observeBulkhead(recorder, bulkhead, options),
    observeBreakers: (source: ObservedBreakers, options?: ObserveBreakersOptions) =>
      observeBreakers(recorder, source, options),
    observeEndpoints: (source: ObservedEndpoints, options: ObserveEndpointsOptions) =>
      observeEndpoints(recorder, source, options),
  });
  return { metrics, listener, buckets, maxLabelValues, maxSeries };
}

function observeBulkhead(
  recorder: PrometheusRecorder,
  bulkhead: ObservedBulkhead,
  options: ObserveBulkheadOptions,
): () => void {
  const b = bulkhead as Partial<ObservedBulkhead> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.active !== 'number' ||
    typeof b.queued !== 'number' ||
    typeof b.limit !== 'number'
  ) {
    throw new TypeError(
      `expected bulkhead to have numeric active, queued and limit, got ${describeValue(bulkhead)}`,
    );
  }
  checkOptionsObject('observeBulkhead', options);
  checkString('name', options.name);
  const { metrics } = recorder;
  const labels = [recorder.policyLabel(options.name)];
  const inFlight = metrics.bulkheadInFlight.at(labels);
  const queued = metrics.bulkheadQueueLength.at(labels);
  const limit = recorder.limitCell(options.name);
  const stops = [
    metrics.bulkheadInFlight.addCollector(() => (inFlight.value = bulkhead.active)),
    metrics.bulkheadQueueLength.addCollector(() => (queued.value = bulkhead.queued)),
    metrics.bulkheadLimit.addCollector(() => (limit.value = bulkhead.limit)),
  ];
  return () => {
    for (const stop of stops) stop();
    // Only observation fed these two; the limit gauge also follows events, so it stays.
    metrics.bulkheadInFlight.delete(labels);
    metrics.bulkheadQueueLength.delete(labels);
  };
}

function observeBreakers(
  recorder: PrometheusRecorder,
  source: ObservedBreakers,
  options: ObserveBreakersOptions = {},
): () => void {
  checkOptionsObject('observeBreakers', options);
  if (options.name !== undefined) checkString('name', options.name);
  const s = source as { views?: unknown; state?: unknown } | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    (typeof s.views !== 'function' && typeof s.state !== 'string')
  ) {
    throw new TypeError(
      `expected a circuit breaker (with state) or a breaker registry (with views()), got ${describeValue(source)}`,
    );
  }
  const collect =
    'views' in source
      ? () => {
          for (const view of source.views()) {
            const policy = options.name ?? view.name ?? 'circuit-breaker';
            recorder.setBreakerState(recorder.breakerSlot(policy, view.key), view.state);
          }
        }
      : () => {
          const policy = options.name ?? 'circuit-breaker';
          recorder.setBreakerState(recorder.breakerSlot(policy, source.key), source.state);
        };
  return recorder.metrics.breakerState.addCollector(collect);
}

function observeEndpoints(
  recorder: PrometheusRecorder,
  source: ObservedEndpoints,
  options: ObserveEndpointsOptions,
): () => void {
  if (
    typeof source !== 'object' ||
    source === null ||
    typeof (source as Partial<ObservedEndpoints>).endpoints !== 'function'
  ) {
    throw new TypeError(
      `expected a service client (with endpoints()), got ${describeValue(source)}`,
    );
  }
  checkOptionsObject('observeEndpoints', options);
  checkString('name', options.name);
  const { metrics } = recorder;
  const service = recorder.policyLabel(options.name);
  const total = metrics.endpoints.at([service]);
  const ejected = metrics.endpointsEjected.at([service]);
  // The endpoints seen at the last scrape, so the series of one that has gone can go too.
  let shown = new Set<string>();
  const collectInFlight = (): void => {
    const now = new Set<string>();
    for (const view of source.endpoints()) {
      const endpoint = recorder.endpointLabel(view.endpoint);
      // Endpoints folded into "other" share one series: it shows their sum.
      const cell = metrics.endpointInFlight.at([service, endpoint]);
      cell.value = now.has(endpoint) ? cell.value + view.inFlight : view.inFlight;
      now.add(endpoint);
    }
    for (const endpoint of shown) {
      if (!now.has(endpoint)) metrics.endpointInFlight.delete([service, endpoint]);
    }
    shown = now;
  };
  const stops = [
    metrics.endpoints.addCollector(() => (total.value = source.endpoints().length)),
    metrics.endpointsEjected.addCollector(() => {
      ejected.value = source.endpoints().filter((view) => view.state === 'ejected').length;
    }),
    metrics.endpointInFlight.addCollector(collectInFlight),
  ];
  return () => {
    for (const stop of stops) stop();
    for (const endpoint of shown) metrics.endpointInFlight.delete([service, endpoint]);
    shown = new Set();
  };
}

function checkRegistry(value: unknown): asserts value is PrometheusRegistry {
  const r = value as { registerMetric?: unknown; getSingleMetric?: unknown } | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.registerMetric !== 'function' ||
    typeof r.getSingleMetric !== 'function'
  ) {
    throw new TypeError(
      `expected registry to be a prom-client Registry, got ${describeValue(value)}`,
    );
  }
}

function checkBuckets(value: unknown): asserts value is readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BUCKETS) {
    throw new TypeError(
      `expected buckets to be an array of 1 to ${MAX_BUCKETS} numbers, got ${describeValue(value)}`,
    );
  }
  (value as unknown[]).forEach((bound, i) => {
    const previous = i === 0 ? 0 : (value[i - 1] as number);
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      throw new RangeError(
        `expected buckets to be finite, positive and increasing, got ${describeValue(bound)} at index ${i}`,
      );
    }
  });
}

function isRegistered(registry: PrometheusRegistry, set: MetricSet): boolean {
  const calls: unknown = registry.getSingleMetric(set.metrics.calls.registeredName);
  return calls === set.metrics.calls;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
