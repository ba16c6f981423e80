/**
 * The orchestrator's Prometheus metrics, in the same plain-field families as @bulwark/telemetry's,
 * registered in the application's prom-client registry. Orchestrators of one process that share
 * a registry and prefix share one set of families.
 */
import {
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import { CounterFamily, HistogramFamily, type SeriesLimit } from '@bulwark/telemetry/internal';

/** Where the metrics go: a prom-client `Registry` (structurally), and a name prefix. */
export interface MetricsOptions {
  /** A prom-client `Registry`, such as its global `register`. */
  registry: RegistryLike;
  /** Prepended to every metric name. Default `bulwark_`. */
  prefix?: string;
}

/** The part of a prom-client `Registry` the metrics use. */
export interface RegistryLike {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

export const DEFAULT_METRICS_PREFIX = 'bulwark_';
/** Upper bounds (seconds) of one attempt of a step: in-process work to slow remote calls. */
const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Saga and step names come from definitions; this bounds a mistake all the same. */
const SERIES_LIMIT: SeriesLimit = { maxSeries: 1000, refused: () => undefined };

export class SagaMetrics {
  readonly started: CounterFamily;
  readonly finished: CounterFamily;
  readonly resumed: CounterFamily;
  readonly stepDuration: HistogramFamily;

  constructor(registry: RegistryLike, prefix: string) {
    this.started = new CounterFamily(
      `${prefix}saga_started_total`,
      'Sagas started by run().',
      ['saga'],
      SERIES_LIMIT,
    );
    this.finished = new CounterFamily(
      `${prefix}saga_finished_total`,
      'Sagas that ended: completed, compensated, or dead (dead-lettered for a person to resolve).',
      ['saga', 'outcome'],
      SERIES_LIMIT,
    );
    this.resumed = new CounterFamily(
      `${prefix}saga_resumed_total`,
      'Unfinished sagas an orchestrator claimed: left by a crash, a stop, or a lapsed lease.',
      ['saga'],
      SERIES_LIMIT,
    );
    this.stepDuration = new HistogramFamily(
      `${prefix}saga_step_duration_seconds`,
      'One attempt of a step’s action or compensation, by outcome (ok or error).',
      ['saga', 'step', 'phase', 'outcome'],
      STEP_BUCKETS,
      SERIES_LIMIT,
    );
    const families = [this.started, this.finished, this.resumed, this.stepDuration];
    for (const family of families) {
      if (registry.getSingleMetric(family.name) !== undefined) {
        throw new Error(
          `a metric named ${family.name} is already registered in this registry: give the orchestrator another metrics prefix`,
        );
      }
    }
    for (const family of families) registry.registerMetric(family as never);
  }
}

const shared = new WeakMap<RegistryLike, Map<string, SagaMetrics>>();

/** The metrics for this registry and prefix, registered on first use. */
export function metricsFor(options: unknown): SagaMetrics | undefined {
  if (options === undefined) return undefined;
  checkOptionsObject("createOrchestrator's metrics", options);
  checkKnownOptions('createOrchestrator', options, ['registry', 'prefix'], 'metrics');
  const { registry, prefix = DEFAULT_METRICS_PREFIX } = options as MetricsOptions;
  if (
    typeof registry !== 'object' ||
    registry === null ||
    typeof registry.registerMetric !== 'function' ||
    typeof registry.getSingleMetric !== 'function'
  ) {
    throw new TypeError(
      `expected metrics.registry to be a prom-client Registry, got ${describeValue(registry)}`,
    );
  }
  if (prefix !== '') checkString('metrics.prefix', prefix, 64);
  let byPrefix = shared.get(registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    shared.set(registry, byPrefix);
  }
  let metrics = byPrefix.get(prefix);
  if (metrics === undefined) {
    metrics = new SagaMetrics(registry, prefix);
    byPrefix.set(prefix, metrics);
  }
  return metrics;
}
