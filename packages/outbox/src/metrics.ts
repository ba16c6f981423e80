/**
 * The outbox's Prometheus metrics, in the same plain-field families as @bulwark/telemetry's, and
 * registered in the application's prom-client registry. Relays and consumers of one process that
 * share a registry and prefix share one set of families.
 */
import {
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  type SeriesLimit,
} from '@bulwark/telemetry/internal';

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
/** Upper bounds (seconds) of a relay batch: claim, publish, mark, commit. */
const BATCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds (seconds) from enqueue to publish: milliseconds with NOTIFY, minutes in outages. */
const DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
/** Topics, streams and groups are names the application chose; this bounds a mistake. */
const SERIES_LIMIT: SeriesLimit = { maxSeries: 1000, refused: () => undefined };

export class OutboxMetrics {
  readonly lag: GaugeFamily;
  readonly published: CounterFamily;
  readonly failures: CounterFamily;
  readonly deadLettered: CounterFamily;
  readonly batchDuration: HistogramFamily;
  readonly publishDelay: HistogramFamily;
  readonly consumed: CounterFamily;
  readonly redeliveries: CounterFamily;

  constructor(registry: RegistryLike, prefix: string) {
    this.lag = new GaugeFamily(
      `${prefix}outbox_lag_seconds`,
      'Age of the oldest unpublished outbox row, as a relay last measured it.',
      ['outbox'],
    );
    this.published = new CounterFamily(
      `${prefix}outbox_published_total`,
      'Outbox messages the transport accepted and the relay marked published.',
      ['outbox', 'topic'],
      SERIES_LIMIT,
    );
    this.failures = new CounterFamily(
      `${prefix}outbox_publish_failures_total`,
      'Failed publish attempts: error (counted, retried after a backoff), unavailable (the broker was down; not counted), rejected (dead-lettered at once).',
      ['outbox', 'topic', 'reason'],
      SERIES_LIMIT,
    );
    this.deadLettered = new CounterFamily(
      `${prefix}outbox_dead_lettered_total`,
      'Outbox messages moved to the dead-letter table.',
      ['outbox', 'topic'],
      SERIES_LIMIT,
    );
    this.batchDuration = new HistogramFamily(
      `${prefix}outbox_relay_batch_duration_seconds`,
      'Relay batches that claimed rows, from the claim to the commit.',
      ['outbox'],
      BATCH_BUCKETS,
    );
    this.publishDelay = new HistogramFamily(
      `${prefix}outbox_publish_delay_seconds`,
      'From the start of the enqueueing transaction to the publish of the message.',
      ['outbox'],
      DELAY_BUCKETS,
    );
    this.consumed = new CounterFamily(
      `${prefix}outbox_consumer_messages_total`,
      'Messages a consumer group handled: processed, duplicate (the inbox had it), failed (left pending), dead-lettered.',
      ['stream', 'group', 'outcome'],
      SERIES_LIMIT,
    );
    this.redeliveries = new CounterFamily(
      `${prefix}outbox_consumer_redeliveries_total`,
      'Messages a consumer took over from another (or itself) after they sat pending too long.',
      ['stream', 'group'],
      SERIES_LIMIT,
    );
    const families = [
      this.lag,
      this.published,
      this.failures,
      this.deadLettered,
      this.batchDuration,
      this.publishDelay,
      this.consumed,
      this.redeliveries,
    ];
    registerFamilies(registry, families, 'the outbox');
  }
}

/**
 * Registers `families` in `registry`, all or none: a name already taken there is refused, naming
 * `owner` as the one to give another metrics prefix.
 */
export function registerFamilies(
  registry: RegistryLike,
  families: ReadonlyArray<{ readonly name: string }>,
  owner: string,
): void {
  for (const family of families) {
    if (registry.getSingleMetric(family.name) !== undefined) {
      throw new Error(
        `a metric named ${family.name} is already registered in this registry: give ${owner} another metrics prefix`,
      );
    }
  }
  for (const family of families) registry.registerMetric(family as never);
}

const shared = new WeakMap<RegistryLike, Map<string, OutboxMetrics>>();

/** The metrics for this registry and prefix, registered on first use. */
export function metricsFor(options: unknown, factory: string): OutboxMetrics | undefined {
  return sharedMetrics(
    options,
    factory,
    shared,
    (registry, prefix) => new OutboxMetrics(registry, prefix),
  );
}

/**
 * Checks `factory`'s `metrics` option and returns the metrics of its registry and prefix from
 * `cache`, made by `create` the first time: users of one registry and prefix share one set of
 * families, as prom-client allows a name once per registry.
 */
export function sharedMetrics<M>(
  options: unknown,
  factory: string,
  cache: WeakMap<RegistryLike, Map<string, M>>,
  create: (registry: RegistryLike, prefix: string) => M,
): M | undefined {
  if (options === undefined) return undefined;
  checkOptionsObject(`${factory}'s metrics`, options);
  checkKnownOptions(factory, options, ['registry', 'prefix'], 'metrics');
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
  let byPrefix = cache.get(registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    cache.set(registry, byPrefix);
  }
  let metrics = byPrefix.get(prefix);
  if (metrics === undefined) {
    metrics = create(registry, prefix);
    byPrefix.set(prefix, metrics);
  }
  return metrics;
}
