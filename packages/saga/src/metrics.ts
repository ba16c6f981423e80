/**
 * The orchestrator's Prometheus metrics, in the same plain-field families as @bulwark/telemetry's,
 * registered in the application's prom-client registry. Orchestrators of one process that share
 * a registry and prefix share one set of families.
 */
import { registerFamilies, sharedMetrics } from '@bulwark/outbox/internal';
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
    registerFamilies(registry, families, 'the orchestrator');
  }
}

const shared = new WeakMap<RegistryLike, Map<string, SagaMetrics>>();

/** The metrics for this registry and prefix, registered on first use. */
export function metricsFor(options: unknown): SagaMetrics | undefined {
  return sharedMetrics(
    options,
    'createOrchestrator',
    shared,
    (registry, prefix) => new SagaMetrics(registry, prefix),
  );
}
