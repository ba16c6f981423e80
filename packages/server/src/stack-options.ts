import {
  checkBoolean,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { AdaptiveLimit } from '@bulwark/bulkhead';
import { type CorrelationPropagator, correlationPropagator } from '@bulwark/correlation';
import type { HealthRegistry } from '@bulwark/health';
import type { PrometheusRegistry } from '@bulwark/telemetry';
import {
  DEFAULT_BUDGET_HEADER,
  DEFAULT_MAX_BUDGET_MS,
  ENVOY_TIMEOUT_HEADER,
  GRPC_TIMEOUT_HEADER,
  type ReadBudgetOptions,
} from '@bulwark/timeout';
import type {
  BulwarkOptions,
  CorrelationOptions,
  DeadlineOptions,
  HealthOptions,
  HealthPaths,
  MetricsOptions,
  SheddingOptions,
} from './options.js';
import type { IdempotencyOptions } from './idempotency-options.js';
import { defaultPromRegistry } from './peers.js';
import { DEFAULT_SAMPLE_INTERVAL_MS, type PressureLimits } from './pressure.js';
import { DEFAULT_MAX_REQUEST_SERIES, DEFAULT_REQUEST_BUCKETS } from './request-metrics.js';
import type { OwnRoute } from './ticket.js';

export const DEFAULT_LIVENESS_PATH = '/livez';
export const DEFAULT_READINESS_PATH = '/readyz';
export const DEFAULT_STARTUP_PATH = '/startupz';
export const DEFAULT_METRICS_PATH = '/metrics';
export const DEFAULT_METRICS_PREFIX = 'bulwark_';
/** The response header of the correlation ID when the inbound headers are the defaults. */
const DEFAULT_RESPONSE_HEADER = 'x-request-id';
/** Retry-After of a full fixed limit, as `@bulwark/bulkhead` hints for fixed limits. */
export const DEFAULT_LIMIT_RETRY_AFTER_MS = 1000;

/** What option errors name as the factory: the adapters' `bulwark()` and `bulwarkPlugin`. */
export const FACTORY = 'bulwark';
const METRIC_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const MAX_BUCKETS = 64;
const MAX_PATH_LENGTH = 1024;

/** Every option of `T` by name, so the compiler checks each list against its type. */
export function optionNames<T>(names: {
  readonly [K in keyof Required<T>]: true;
}): readonly string[] {
  return Object.keys(names);
}

export const BULWARK_OPTIONS = optionNames<BulwarkOptions>({
  correlation: true,
  deadline: true,
  idempotency: true,
  health: true,
  shedding: true,
  metrics: true,
  rateLimit: true,
  clock: true,
});
const CORRELATION_OPTIONS = optionNames<CorrelationOptions>({
  headers: true,
  responseHeader: true,
  generateId: true,
  onInvalidId: true,
  sampled: true,
  openTelemetry: true,
});
const DEADLINE_OPTIONS = optionNames<DeadlineOptions>({
  header: true,
  maxMs: true,
  fallbacks: true,
});
const HEALTH_OPTIONS = optionNames<HealthOptions>({ registry: true, paths: true, detailed: true });
const HEALTH_PATHS = optionNames<HealthPaths>({ liveness: true, readiness: true, startup: true });
const METRICS_OPTIONS = optionNames<MetricsOptions>({
  registry: true,
  path: true,
  prefix: true,
  buckets: true,
  maxSeries: true,
});
const SHEDDING_OPTIONS = optionNames<SheddingOptions>({
  limit: true,
  queue: true,
  queueTimeoutMs: true,
  maxEventLoopDelayMs: true,
  maxEventLoopUtilization: true,
  maxHeapUsedBytes: true,
  maxHeapUsedRatio: true,
  maxRssBytes: true,
  sampleIntervalMs: true,
  retryAfterMs: true,
});
export const IDEMPOTENCY_OPTIONS = optionNames<IdempotencyOptions>({
  identity: true,
  store: true,
  methods: true,
  required: true,
  ttlMs: true,
  lockTimeoutMs: true,
  maxKeyLength: true,
  replayHeaders: true,
  shouldStore: true,
  maxBodyBytes: true,
  listener: true,
});

export interface CorrelationSettings {
  readonly propagator: CorrelationPropagator;
  /** Where the ID is echoed; undefined for nowhere. */
  readonly responseHeader: string | undefined;
}

export interface DeadlineSettings {
  readonly read: ReadBudgetOptions;
  /** Every header a budget may come in: reading stops at once when none is there. */
  readonly headers: readonly string[];
}

export interface HealthSettings {
  /** The application's registry; undefined when the stack makes (and closes) its own. */
  readonly registry: HealthRegistry | undefined;
  readonly detailed: boolean;
}

export interface MetricsSettings {
  readonly registry: PrometheusRegistry;
  readonly prefix: string;
  readonly buckets: readonly number[];
  readonly maxSeries: number;
}

export interface SheddingSettings {
  /** Undefined when only pressure is checked. */
  readonly limit: number | AdaptiveLimit | undefined;
  /** A number without a queue: counted by `FixedSlots` rather than a bulkhead's policy. */
  readonly fixed: boolean;
  readonly queue: number | undefined;
  readonly queueTimeoutMs: number | undefined;
  /** The refusals' Retry-After, when set: else the limit's estimate. */
  readonly retryAfterMs: number | undefined;
  /** Undefined when no pressure limit is set. */
  readonly pressure: PressureLimits | undefined;
  readonly sampleIntervalMs: number;
  /** Retry-After of a refusal under pressure. */
  readonly pressureRetryAfterMs: number;
}

/** An option that is `true`/absent (the defaults), `false` (off) or an options object. */
export function featureOptions<T extends object>(
  name: string,
  value: unknown,
  onByDefault: boolean,
  known: readonly string[],
): T | undefined {
  if (value === undefined) return onByDefault ? ({} as T) : undefined;
  if (value === false) return undefined;
  if (value === true) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected ${name} to be a boolean or an options object, got ${describeValue(value)}`,
    );
  }
  checkKnownOptions(FACTORY, value, known, name);
  return value as T;
}

export function parseCorrelation(value: unknown): CorrelationSettings | undefined {
  const options = featureOptions<CorrelationOptions>(
    'correlation',
    value,
    true,
    CORRELATION_OPTIONS,
  );
  if (options === undefined) return undefined;
  const { responseHeader, ...propagatorOptions } = options;
  const propagator = correlationPropagator(propagatorOptions);
  if (responseHeader === false) return { propagator, responseHeader: undefined };
  if (responseHeader !== undefined) checkHeaderName('correlation.responseHeader', responseHeader);
  return {
    propagator,
    responseHeader: responseHeader ?? options.headers?.[0] ?? DEFAULT_RESPONSE_HEADER,
  };
}

export function parseDeadline(value: unknown, correlated: boolean): DeadlineSettings | undefined {
  const options = featureOptions<DeadlineOptions>('deadline', value, correlated, DEADLINE_OPTIONS);
  if (options === undefined) return undefined;
  if (!correlated) {
    throw new TypeError(
      'expected deadline to be false when correlation is false: the deadline lives in the request context',
    );
  }
  const header = options.header ?? DEFAULT_BUDGET_HEADER;
  checkHeaderName('deadline.header', header);
  const maxMs = options.maxMs ?? DEFAULT_MAX_BUDGET_MS;
  checkInteger('deadline.maxMs', maxMs, 1);
  const fallbacks = options.fallbacks ?? true;
  checkBoolean('deadline.fallbacks', fallbacks);
  return {
    read: { header, maxMs, fallbacks },
    headers: fallbacks ? [header, GRPC_TIMEOUT_HEADER, ENVOY_TIMEOUT_HEADER] : [header],
  };
}

/** Validates the health views and adds their paths to `routes`. */
export function parseHealth(
  value: unknown,
  routes: Map<string, OwnRoute>,
): HealthSettings | undefined {
  const options = featureOptions<HealthOptions>('health', value, true, HEALTH_OPTIONS);
  if (options === undefined) return undefined;
  const { registry, detailed = false, paths = {} } = options;
  if (registry !== undefined && !isHealthRegistry(registry)) {
    throw new TypeError(
      `expected health.registry to be a healthRegistry() from @bulwark/health, got ${describeValue(registry)}`,
    );
  }
  checkBoolean('health.detailed', detailed);
  checkOptionsObject('health.paths', paths);
  checkKnownOptions(FACTORY, paths, HEALTH_PATHS, 'health.paths');
  addRoute(routes, 'health.paths.liveness', paths.liveness, DEFAULT_LIVENESS_PATH, 'liveness');
  addRoute(routes, 'health.paths.readiness', paths.readiness, DEFAULT_READINESS_PATH, 'readiness');
  addRoute(routes, 'health.paths.startup', paths.startup, DEFAULT_STARTUP_PATH, 'startup');
  return { registry, detailed };
}

/** Validates the request metrics and adds the metrics page's path to `routes`. */
export function parseMetrics(
  value: unknown,
  routes: Map<string, OwnRoute>,
): MetricsSettings | undefined {
  const options = featureOptions<MetricsOptions>('metrics', value, false, METRICS_OPTIONS);
  if (options === undefined) return undefined;
  const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new TypeError(
      `expected metrics.prefix to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${describeValue(prefix)}`,
    );
  }
  const buckets = options.buckets ?? DEFAULT_REQUEST_BUCKETS;
  checkBuckets(buckets);
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_REQUEST_SERIES;
  checkInteger('metrics.maxSeries', maxSeries, 1, 1_000_000);
  addRoute(routes, 'metrics.path', options.path, DEFAULT_METRICS_PATH, 'metrics');
  // The registry itself is checked by @bulwark/telemetry's listener, which the stack builds.
  return { registry: options.registry ?? defaultPromRegistry(), prefix, buckets, maxSeries };
}

export function parseShedding(value: unknown): SheddingSettings | undefined {
  const options = featureOptions<SheddingOptions>('shedding', value, false, SHEDDING_OPTIONS);
  if (options === undefined) return undefined;
  const { limit, queue, queueTimeoutMs } = options;
  const sampleIntervalMs = options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
  checkInteger('shedding.sampleIntervalMs', sampleIntervalMs, 10, 60_000);
  const pressure = parsePressureLimits(options);
  const retryAfterMs = optionalNumber('shedding.retryAfterMs', options.retryAfterMs, 0);
  if (limit === undefined) {
    if (queue !== undefined || queueTimeoutMs !== undefined) {
      throw new TypeError(
        'expected shedding.limit to be set when shedding.queue or queueTimeoutMs is',
      );
    }
    if (pressure === undefined) {
      throw new TypeError(
        'expected shedding to set a limit or a pressure check (maxEventLoopDelayMs, maxEventLoopUtilization, maxHeapUsedBytes, maxHeapUsedRatio, maxRssBytes)',
      );
    }
  }
  // Queues and adaptive limits are validated by @bulwark/bulkhead, which the stack builds.
  const fixed = typeof limit === 'number' && (queue ?? 0) === 0 && queueTimeoutMs === undefined;
  if (fixed) checkInteger('shedding.limit', limit, 1);
  return {
    limit,
    fixed,
    queue,
    queueTimeoutMs,
    retryAfterMs,
    pressure,
    sampleIntervalMs,
    pressureRetryAfterMs: retryAfterMs ?? sampleIntervalMs,
  };
}

/** The pressure limits set, or undefined when none is: then pressure is never sampled. */
function parsePressureLimits(options: SheddingOptions): PressureLimits | undefined {
  const limits: PressureLimits = {
    maxEventLoopDelayMs: optionalNumber(
      'shedding.maxEventLoopDelayMs',
      options.maxEventLoopDelayMs,
      1,
    ),
    maxEventLoopUtilization: optionalNumber(
      'shedding.maxEventLoopUtilization',
      options.maxEventLoopUtilization,
      0,
      1,
    ),
    maxHeapUsedBytes: optionalNumber('shedding.maxHeapUsedBytes', options.maxHeapUsedBytes, 1),
    maxHeapUsedRatio: optionalNumber('shedding.maxHeapUsedRatio', options.maxHeapUsedRatio, 0, 1),
    maxRssBytes: optionalNumber('shedding.maxRssBytes', options.maxRssBytes, 1),
  };
  return Object.values(limits).some((v) => v !== undefined) ? limits : undefined;
}

function addRoute(
  routes: Map<string, OwnRoute>,
  name: string,
  value: string | false | undefined,
  fallback: string,
  route: OwnRoute,
): void {
  if (value === false) return;
  const path = value ?? fallback;
  checkString(name, path, MAX_PATH_LENGTH);
  if (!path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new TypeError(
      `expected ${name} to be a path starting with "/" without query or spaces, got ${describeValue(path)}`,
    );
  }
  if (routes.has(path)) {
    throw new TypeError(
      `expected ${name} to differ from the other health and metrics paths, got ${describeValue(path)}`,
    );
  }
  routes.set(path, route);
}

export function optionalNumber(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_VALUE,
): number | undefined {
  if (value === undefined) return undefined;
  checkNumber(name, value, min, max);
  return value;
}

function checkHeaderName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) {
    throw new TypeError(
      `expected ${name} to be a lowercase header name, got ${describeValue(value)}`,
    );
  }
}

function checkBuckets(value: unknown): asserts value is readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BUCKETS) {
    throw new TypeError(
      `expected metrics.buckets to be an array of 1 to ${MAX_BUCKETS} numbers, got ${describeValue(value)}`,
    );
  }
  (value as unknown[]).forEach((bound, i) => {
    const previous = i === 0 ? 0 : (value[i - 1] as number);
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      throw new RangeError(
        `expected metrics.buckets to be finite, positive and increasing, got ${describeValue(bound)} at index ${i}`,
      );
    }
  });
}

function isHealthRegistry(value: unknown): value is HealthRegistry {
  const r = value as Partial<HealthRegistry> | null;
  return typeof r === 'object' && r !== null && typeof r.report === 'function';
}
