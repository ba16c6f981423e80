import { type BulkheadRejectedError, type Clock, systemClock } from '@bulwark/core';
import {
  checkBoolean,
  checkInteger,
  checkNumber,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import { type Bulkhead, bulkhead } from '@bulwark/bulkhead';
import {
  type CorrelationPropagator,
  type RequestContext,
  correlationPropagator,
} from '@bulwark/correlation';
import {
  type HealthKind,
  type HealthRegistry,
  type HealthReport,
  healthRegistry,
} from '@bulwark/health';
import { type PrometheusRegistry, prometheusListener } from '@bulwark/telemetry';
import {
  DEFAULT_BUDGET_HEADER,
  DEFAULT_MAX_BUDGET_MS,
  ENVOY_TIMEOUT_HEADER,
  GRPC_TIMEOUT_HEADER,
  type ReadBudgetOptions,
  readBudget,
} from '@bulwark/timeout';
import { shedError, withHttpFields, httpAnswerFor } from './http-errors.js';
import { type IdempotencyGate, resolveIdempotency } from './idempotency-gate.js';
import type {
  BulwarkOptions,
  CorrelationOptions,
  DeadlineOptions,
  HealthOptions,
  MetricsOptions,
  SheddingOptions,
} from './options.js';
import { defaultPromRegistry } from './peers.js';
import { DEFAULT_SAMPLE_INTERVAL_MS, PressureMonitor, type PressureProbe } from './pressure.js';
import { DEFAULT_REQUEST_BUCKETS, RequestMetrics } from './request-metrics.js';
import { FixedSlots } from './slots.js';

export const DEFAULT_LIVENESS_PATH = '/livez';
export const DEFAULT_READINESS_PATH = '/readyz';
export const DEFAULT_STARTUP_PATH = '/startupz';
export const DEFAULT_METRICS_PATH = '/metrics';
export const DEFAULT_METRICS_PREFIX = 'bulwark_';
/** The `policy` label of the shedding bulkhead in Bulwark's policy metrics. */
export const SHEDDING_BULKHEAD_NAME = 'http-server';
/** Retry-After of a full fixed limit, as `@bulwark/bulkhead` hints for fixed limits. */
export const DEFAULT_LIMIT_RETRY_AFTER_MS = 1000;

const METRIC_PREFIX = /^(?:[a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const MAX_BUCKETS = 64;
const KNOWN_OPTIONS = [
  'correlation',
  'deadline',
  'idempotency',
  'health',
  'shedding',
  'metrics',
  'clock',
];

/** A route the stack answers itself: a health view or the metrics page. */
export type OwnRoute = HealthKind | 'metrics';

/** What a health or metrics route answers. */
export interface OwnAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Everything the Express middleware and the Fastify plugin share: the validated options and
 * the parts built from them. The adapters only translate between it and their framework.
 */
export class BulwarkStack<Req = unknown> {
  /** GET/HEAD routes answered by the stack itself, by path. Never shed, never correlated. */
  readonly ownRoutes = new Map<string, OwnRoute>();
  readonly propagator: CorrelationPropagator | undefined;
  /** The response header the correlation ID is echoed in. */
  readonly responseHeader: string | undefined;
  /** A fixed limit without a queue: a counter. */
  readonly slots: FixedSlots | undefined;
  /** A queue or an adaptive limit: `@bulwark/bulkhead`'s policy. */
  readonly limiter: Bulkhead | undefined;
  readonly pressure: PressureMonitor | undefined;
  readonly metrics: RequestMetrics | undefined;
  readonly idempotency: IdempotencyGate<Req> | undefined;
  readonly clock: Clock;
  private readonly budgetOptions: ReadBudgetOptions | undefined;
  private readonly budgetHeaders: readonly string[];
  /** The registry behind the health routes. */
  readonly healthRegistry: HealthRegistry | undefined;
  private readonly ownHealth: boolean;
  private readonly detailed: boolean;
  private readonly pressureRetryAfterMs: number;
  private readonly registry: PrometheusRegistry | undefined;
  private readonly stops: Array<() => void> = [];
  private readonly headerView = new NodeHeaders();

  constructor(options: BulwarkOptions<Req> = {}, probe?: PressureProbe) {
    checkOptionsObject('bulwark', options);
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.includes(key)) {
        throw new TypeError(
          `expected no option named ${JSON.stringify(key)}: bulwark takes ${KNOWN_OPTIONS.join(', ')}`,
        );
      }
    }
    this.clock = options.clock ?? systemClock;

    const correlation = part<CorrelationOptions>('correlation', options.correlation, true);
    if (correlation !== undefined) {
      const { responseHeader, ...propagatorOptions } = correlation;
      this.propagator = correlationPropagator(propagatorOptions);
      if (responseHeader !== undefined && responseHeader !== false) {
        checkHeaderName('correlation.responseHeader', responseHeader);
      }
      this.responseHeader =
        responseHeader === false
          ? undefined
          : (responseHeader ?? correlation.headers?.[0] ?? 'x-request-id');
    }

    const deadline = part<DeadlineOptions>('deadline', options.deadline, correlation !== undefined);
    if (deadline !== undefined) {
      if (correlation === undefined) {
        throw new TypeError(
          'expected deadline to be false when correlation is false: the deadline lives in the request context',
        );
      }
      const header = deadline.header ?? DEFAULT_BUDGET_HEADER;
      checkHeaderName('deadline.header', header);
      const maxMs = deadline.maxMs ?? DEFAULT_MAX_BUDGET_MS;
      checkInteger('deadline.maxMs', maxMs, 1);
      const fallbacks = deadline.fallbacks ?? true;
      checkBoolean('deadline.fallbacks', fallbacks);
      this.budgetOptions = { header, maxMs, fallbacks };
      this.budgetHeaders = fallbacks
        ? [header, GRPC_TIMEOUT_HEADER, ENVOY_TIMEOUT_HEADER]
        : [header];
    } else {
      this.budgetHeaders = [];
    }

    const health = part<HealthOptions>('health', options.health, true);
    this.ownHealth = false;
    this.detailed = false;
    if (health !== undefined) {
      if (health.registry !== undefined && !isHealthRegistry(health.registry)) {
        throw new TypeError(
          `expected health.registry to be a healthRegistry() from @bulwark/health, got ${describeValue(health.registry)}`,
        );
      }
      this.ownHealth = health.registry === undefined;
      this.healthRegistry = health.registry ?? healthRegistry({ clock: this.clock });
      this.detailed = health.detailed ?? false;
      checkBoolean('health.detailed', this.detailed);
      const paths = health.paths ?? {};
      checkOptionsObject('health.paths', paths);
      this.addRoute('health.paths.liveness', paths.liveness, DEFAULT_LIVENESS_PATH, 'liveness');
      this.addRoute('health.paths.readiness', paths.readiness, DEFAULT_READINESS_PATH, 'readiness');
      this.addRoute('health.paths.startup', paths.startup, DEFAULT_STARTUP_PATH, 'startup');
    }

    const metrics = part<MetricsOptions>('metrics', options.metrics, false);
    let listener: ReturnType<typeof prometheusListener> | undefined;
    if (metrics !== undefined) {
      const registry = metrics.registry ?? defaultPromRegistry();
      const prefix = metrics.prefix ?? DEFAULT_METRICS_PREFIX;
      if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
        throw new TypeError(
          `expected metrics.prefix to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${describeValue(prefix)}`,
        );
      }
      const buckets = metrics.buckets ?? DEFAULT_REQUEST_BUCKETS;
      checkBuckets(buckets);
      // The listener validates the registry and names Bulwark's policy metrics.
      listener = prometheusListener({ registry, prefix });
      this.registry = registry;
      this.metrics = new RequestMetrics(registry, prefix, [...buckets]);
      this.stops.push(() => this.metrics!.unregister());
      this.addRoute('metrics.path', metrics.path, DEFAULT_METRICS_PATH, 'metrics');
    }

    const shedding = part<SheddingOptions>('shedding', options.shedding, false);
    this.pressureRetryAfterMs = DEFAULT_SAMPLE_INTERVAL_MS;
    if (shedding !== undefined) {
      const interval = shedding.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
      checkInteger('shedding.sampleIntervalMs', interval, 10, 60_000);
      const limits = {
        maxEventLoopDelayMs: optionalNumber(
          'shedding.maxEventLoopDelayMs',
          shedding.maxEventLoopDelayMs,
          1,
        ),
        maxEventLoopUtilization: optionalNumber(
          'shedding.maxEventLoopUtilization',
          shedding.maxEventLoopUtilization,
          0,
          1,
        ),
        maxHeapUsedBytes: optionalNumber('shedding.maxHeapUsedBytes', shedding.maxHeapUsedBytes, 1),
        maxHeapUsedRatio: optionalNumber(
          'shedding.maxHeapUsedRatio',
          shedding.maxHeapUsedRatio,
          0,
          1,
        ),
        maxRssBytes: optionalNumber('shedding.maxRssBytes', shedding.maxRssBytes, 1),
      };
      const retryAfterMs = optionalNumber('shedding.retryAfterMs', shedding.retryAfterMs, 0);
      this.pressureRetryAfterMs = retryAfterMs ?? interval;
      const checksPressure = Object.values(limits).some((v) => v !== undefined);
      if (shedding.limit === undefined) {
        if (shedding.queue !== undefined || shedding.queueTimeoutMs !== undefined) {
          throw new TypeError(
            'expected shedding.limit to be set when shedding.queue or queueTimeoutMs is',
          );
        }
        if (!checksPressure) {
          throw new TypeError(
            'expected shedding to set a limit or a pressure check (maxEventLoopDelayMs, maxEventLoopUtilization, maxHeapUsedBytes, maxHeapUsedRatio, maxRssBytes)',
          );
        }
      } else if (
        typeof shedding.limit === 'number' &&
        (shedding.queue ?? 0) === 0 &&
        shedding.queueTimeoutMs === undefined
      ) {
        checkInteger('shedding.limit', shedding.limit, 1);
        this.slots = new FixedSlots(
          shedding.limit,
          retryAfterMs ?? DEFAULT_LIMIT_RETRY_AFTER_MS,
          SHEDDING_BULKHEAD_NAME,
          listener,
        );
        if (listener !== undefined) {
          this.stops.push(listener.observeBulkhead(this.slots, { name: SHEDDING_BULKHEAD_NAME }));
        }
      } else {
        this.limiter = bulkhead({
          limit: shedding.limit,
          queue: shedding.queue,
          queueTimeoutMs: shedding.queueTimeoutMs,
          retryAfterMs,
          name: SHEDDING_BULKHEAD_NAME,
          listener,
          clock: this.clock,
        });
        if (listener !== undefined) {
          this.stops.push(listener.observeBulkhead(this.limiter, { name: SHEDDING_BULKHEAD_NAME }));
        }
      }
      if (checksPressure) this.pressure = new PressureMonitor(limits, interval, this.clock, probe);
    }

    this.idempotency = resolveIdempotency(options.idempotency, this.clock);
  }

  /** Starts the pressure sampler (idempotent). */
  start(): void {
    this.pressure?.start();
  }

  /** Stops the sampler, takes the metrics out of the registry, closes a health registry it made. */
  close(): void {
    this.pressure?.stop();
    for (const stop of this.stops.splice(0)) stop();
    if (this.ownHealth) this.healthRegistry?.close();
  }

  /** The request context for inbound headers: correlation ID, trace, and deadline from the caller's budget. */
  context(
    headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  ): RequestContext {
    const budget = this.budget(headers);
    const view = this.headerView;
    view.headers = headers;
    try {
      return this.propagator!.extract(
        view,
        budget === undefined ? undefined : { deadline: this.clock.now() + budget },
      );
    } finally {
      view.headers = NO_HEADERS;
    }
  }

  /** The caller's remaining budget in ms, or undefined when none (or none valid) was sent. */
  budget(
    headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  ): number | undefined {
    const names = this.budgetHeaders;
    // Most requests carry no budget: look before paying for the parse.
    for (let i = 0; i < names.length; i++) {
      if (headers[names[i]!] !== undefined) return readBudget(headers, this.budgetOptions);
    }
    return undefined;
  }

  /** A refusal when the process is under pressure, else undefined. Counted in the metrics. */
  pressureRejection(): BulkheadRejectedError | undefined {
    const reason = this.pressure?.reason;
    if (reason === undefined) return undefined;
    this.metrics?.shed(reason);
    const limit = this.limiter ?? this.slots;
    return shedError(reason, limit?.limit ?? 0, limit?.queueLimit ?? 0, this.pressureRetryAfterMs);
  }

  /** Gives the limiter's rejection its HTTP fields and counts it. */
  limitRejection(error: BulkheadRejectedError): BulkheadRejectedError {
    this.metrics?.shed(error.reason === 'queue-timeout' ? 'queue-timeout' : 'limit');
    return withHttpFields(error, httpAnswerFor(error)!);
  }

  /** The answer of a health view or the metrics page. */
  async answer(route: OwnRoute): Promise<OwnAnswer> {
    if (route === 'metrics') {
      const registry = this.registry!;
      return {
        statusCode: 200,
        headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' },
        body: await registry.metrics(),
      };
    }
    const report: HealthReport = await this.healthRegistry!.report(route, {
      detailed: this.detailed,
    });
    return {
      statusCode: report.httpStatus,
      headers: report.headers,
      body: JSON.stringify(report.body),
    };
  }

  private addRoute(
    name: string,
    value: string | false | undefined,
    fallback: string,
    route: OwnRoute,
  ): void {
    if (value === false) return;
    const path = value ?? fallback;
    checkString(name, path, 1024);
    if (!path.startsWith('/') || /[?#\s]/.test(path)) {
      throw new TypeError(
        `expected ${name} to be a path starting with "/" without query or spaces, got ${describeValue(path)}`,
      );
    }
    if (this.ownRoutes.has(path)) {
      throw new TypeError(
        `expected ${name} to differ from the other health and metrics paths, got ${describeValue(path)}`,
      );
    }
    this.ownRoutes.set(path, route);
  }
}

const NO_HEADERS: Readonly<Record<string, string | readonly string[] | undefined>> = Object.freeze(
  {},
);

/**
 * Node's request headers as a `get()` source. Node names every header in lowercase, so a miss
 * is a miss: handed the record itself, the propagator would scan every header for other
 * casings of each one that is absent. One view is reused, as `extract()` is synchronous.
 */
class NodeHeaders {
  headers: Readonly<Record<string, string | readonly string[] | undefined>> = NO_HEADERS;
  get(name: string): string | undefined {
    const value = this.headers[name];
    if (typeof value === 'string') return value;
    // Node joins repeated headers, set-cookie aside; an array only comes from other sources.
    return value === undefined ? undefined : value.join(', ');
  }
}

/** An option that is `true`/absent (defaults), `false` (off) or an options object. */
function part<T extends object>(name: string, value: unknown, onByDefault: boolean): T | undefined {
  if (value === undefined) return onByDefault ? ({} as T) : undefined;
  if (value === false) return undefined;
  if (value === true) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected ${name} to be a boolean or an options object, got ${describeValue(value)}`,
    );
  }
  return value as T;
}

function optionalNumber(
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
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(value)) {
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
