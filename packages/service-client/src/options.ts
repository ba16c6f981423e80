import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { HttpCache, HttpCacheOptions } from '@bulwark/cache';
import type { CorrelationPropagator } from '@bulwark/correlation';
import type { HttpBreakerOptions, IncomingContext } from '@bulwark/http-client';
import type { AdaptiveDelay, HedgingDelayFn } from '@bulwark/hedging';
import type { RateLimitPolicyOptions } from '@bulwark/resilience';
import type { Backoff, RetryBudgetOptions } from '@bulwark/retry';
import type { PrometheusRegistry, TracedOperationOptions } from '@bulwark/telemetry';
import { MAX_TIMEOUT_MS } from '@bulwark/timeout';
import type { Dispatcher } from 'undici';
import {
  DEFAULT_BASE_EJECTION_MS,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_DNS_MAX_TTL_MS,
  DEFAULT_DNS_MIN_TTL_MS,
  DEFAULT_LATENCY_DECAY_MS,
  DEFAULT_MAX_EJECTION_MS,
  DEFAULT_MAX_EJECTION_PERCENT,
  DEFAULT_OUTLIER_INTERVAL_MS,
  DEFAULT_REFRESH_MS,
  DEFAULT_SUCCESS_RATE_MINIMUM_ENDPOINTS,
  DEFAULT_SUCCESS_RATE_REQUEST_VOLUME,
  DEFAULT_SUCCESS_RATE_STDEV_FACTOR,
} from './defaults.js';
import type { ServiceClientListener } from './events.js';
import type { OutlierSettings } from './outlier-detector.js';
import { type DnsResolver, DnsSource } from './sources/dns-source.js';
import { type EndpointsFn, FunctionSource } from './sources/function-source.js';
import { type EndpointSource, distinct, parseEndpoint } from './sources/source.js';
import { StaticSource } from './sources/static-source.js';

/** What messages about the client's options name. */
export const FACTORY = 'createServiceClient';

/** A DNS name whose A and AAAA records are the endpoints. */
export interface DnsEndpoints {
  /** The URL of the service by name: `http://inventory.internal:8080`. Each address takes its place. */
  dns: string | URL;
  /** What resolves the name. Default: a `Resolver` of `node:dns/promises` (DNS queries, not /etc/hosts). */
  resolver?: DnsResolver;
  /** `4` or `6` for one family only. Default: both. */
  family?: 4 | 6;
  /** An answer is kept at least this long (ms), whatever its TTL. Default 1 000. */
  minTtlMs?: number;
  /** An answer is asked again after this (ms) at the latest. Default 60 000. */
  maxTtlMs?: number;
}

/** Where the service's endpoints come from. */
export type EndpointsOption = readonly (string | URL)[] | EndpointsFn | DnsEndpoints;

/** Retries, for the service and (over the service's) for an operation. */
export interface RetryOverrides {
  /** Attempts in all, the first included (1–1000). Default 3. */
  maxAttempts?: number;
  /** The statuses retried. Default 408, 429, 500, 502, 503, 504. */
  statuses?: readonly number[];
  /** The delay before each retry when the server gives no hint. Default: 100 ms doubling to 2 s, full jitter. */
  backoff?: Backoff;
  /** Caps every backoff delay (ms). Default 30 000. */
  maxDelayMs?: number;
  /** Caps every server hint, such as Retry-After (ms). Default 60 000. */
  maxHintMs?: number;
  /** Random numbers in [0, 1) for the jitter (tests). Default `Math.random`. */
  random?: () => number;
}

/** Hedging, for the service and (over the service's) for an operation. */
export interface HedgeOverrides {
  /** Attempts beyond the first (1–10). Default 1. */
  maxHedgedAttempts?: number;
  /** How long to wait before the next hedge: ms, a function, or an `adaptiveDelay()`. Default: a new `adaptiveDelay()` per operation. */
  delay?: number | HedgingDelayFn | AdaptiveDelay;
}

/** Outlier ejection (Envoy's model). */
export interface OutlierDetectionOptions {
  /** Failures in a row (5xx, connect errors, timeouts) that eject, or `false`. Default 5. */
  consecutiveFailures?: number | false;
  /** An endpoint's n-th ejection lasts n times this (ms). Default 30 000. */
  baseEjectionMs?: number;
  /** No ejection lasts longer (ms). Default 300 000. */
  maxEjectionMs?: number;
  /** Endpoints out at once, as a share (0–100); one may always go, never the last. Default 50. */
  maxEjectionPercent?: number;
  /** How often success rates are compared, and how long in rotation forgives one ejection (ms). Default 10 000. */
  intervalMs?: number;
  /** Ejection of endpoints whose success rate is far below their peers', or `false`. */
  successRate?: SuccessRateOptions | false;
}

export interface SuccessRateOptions {
  /** Endpoints with enough requests needed for a comparison. Default 5. */
  minimumEndpoints?: number;
  /** Requests an endpoint needs in an interval to be judged. Default 100. */
  requestVolume?: number;
  /** Ejected below the mean by more than this many standard deviations. Default 1.9. */
  stdevFactor?: number;
}

export interface BalancerOptions {
  /** How fast an endpoint's latency estimate forgets (the Peak EWMA's decay time, ms). Default 10 000. */
  decayMs?: number;
}

/** The service's concurrency limit (`@bulwark/bulkhead`). */
export interface ServiceBulkheadOptions {
  /** Calls in flight at once, across every operation. */
  limit: number;
  /** Calls that may wait for a slot. Default 0. */
  queue?: number;
  /** How long a call may wait (ms). */
  queueTimeoutMs?: number;
}

export interface MetricsOptions {
  /** The prom-client registry. Default: prom-client's global `register` (the server adapters' default too). */
  registry?: PrometheusRegistry;
  /** Default `bulwark_`. */
  prefix?: string;
}

export interface TracingOptions {
  /** Where spans come from. Default: the global tracer provider's. */
  tracer?: TracedOperationOptions['tracer'];
  /** The query in each attempt span's `url.full`. Default `redact`. */
  urlQuery?: 'redact' | 'keep';
}

export interface ServiceClientOptions {
  /** The service's name: the operations are `<name>.<operation>` in metrics, spans and errors. */
  name: string;
  /** A list of URLs, a function returning one (re-read every `refreshMs`), or `{ dns }`. */
  endpoints: EndpointsOption;
  /** How often an endpoints function is called again (ms). Default 30 000. */
  refreshMs?: number;
  /** Each attempt's time limit (ms), or `false`. Default 3 000 (`@bulwark/resilience`'s). */
  timeoutMs?: number | false;
  /** The whole call's budget (ms), or `false`. Default 10 000 (`@bulwark/resilience`'s). */
  deadlineMs?: number | false;
  /** Retries, or `false`. Default: 3 attempts, exponential backoff with full jitter. */
  retry?: false | RetryOverrides;
  /** The retry budget every operation's retries and hedges share, or `false`. Default: 20% + 10/s over 10 s. */
  budget?: false | Omit<RetryBudgetOptions, 'clock'>;
  /** Hedging for the operations safe to repeat, unless they say otherwise. Default `false`. */
  hedge?: boolean | HedgeOverrides;
  /** A circuit breaker per endpoint, or `false`. Default: 50% of ≥ 20 attempts in 30 s, 5 s break. */
  breaker?: false | Omit<HttpBreakerOptions, 'maxOrigins'>;
  /** A concurrency limit over every call of the service, or `false`. Default `false`. */
  bulkhead?: false | ServiceBulkheadOptions;
  /** A rate limit over every call of the service (`rateLimit()` options), or `false`. Default `false`. */
  rateLimit?: false | RateLimitPolicyOptions;
  /** Outlier ejection, or `false`. Default: on (5 failures in a row; success rate off below 5 endpoints). */
  outlierDetection?: false | OutlierDetectionOptions;
  balancer?: BalancerOptions;
  /** Random numbers in [0, 1) for the balancer's choices: seed them in tests. Default `Math.random`. */
  random?: () => number;
  /** An HTTP cache for the operations that use one: an `httpCache()`, its options, or `false`. Default `false`. */
  cache?: false | HttpCache | HttpCacheOptions;
  /** Headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
  /** `'auto'`: each call of a POST or PATCH operation carries a generated Idempotency-Key. Default `false`. */
  idempotencyKey?: 'auto' | false;
  /** Default `idempotency-key`. */
  idempotencyKeyHeader?: string;
  /** The attempt number on each request, or `false`. Default `x-bulwark-attempt`. */
  attemptHeader?: string | false;
  /** The attempt's remaining budget on each request, or `false`. Default `x-bulwark-timeout-ms`. */
  budgetHeader?: string | false;
  /** Largest response body (bytes). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Sockets per endpoint. Default 128. */
  connections?: number;
  keepAliveTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** An undici dispatcher to send through instead of the client's own; `close()` leaves it open. */
  dispatcher?: Dispatcher;
  /** `@bulwark/correlation`'s headers on every attempt, and its context's deadline and signal. Default `true`. */
  correlation?: boolean | CorrelationPropagator;
  /** The deadline and signal of the work a call belongs to, in place of the correlation context's. */
  context?: () => IncomingContext | undefined;
  /** Receives every event: the policies' and the client's own. */
  listener?: ServiceClientListener;
  /** Prometheus metrics through `@bulwark/telemetry`: `true` (prom-client's global registry) or `{ registry }`. Default `false`. */
  metrics?: boolean | MetricsOptions;
  /** OpenTelemetry spans through `@bulwark/telemetry`: `true` or `{ tracer }`. Default `false`. */
  tracing?: boolean | TracingOptions;
  /** The clock for every timeout, deadline, delay, latency and refresh. Default: the system clock. */
  clock?: Clock;
}

/** The names of an options type, each once: the compiler keeps the list and the type together. */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): string[] {
  return Object.keys(names);
}

const OPTION_NAMES = optionNames<ServiceClientOptions>({
  name: true,
  endpoints: true,
  refreshMs: true,
  timeoutMs: true,
  deadlineMs: true,
  retry: true,
  budget: true,
  hedge: true,
  breaker: true,
  bulkhead: true,
  rateLimit: true,
  outlierDetection: true,
  balancer: true,
  random: true,
  cache: true,
  headers: true,
  idempotencyKey: true,
  idempotencyKeyHeader: true,
  attemptHeader: true,
  budgetHeader: true,
  maxBodyBytes: true,
  connections: true,
  keepAliveTimeoutMs: true,
  connectTimeoutMs: true,
  dispatcher: true,
  correlation: true,
  context: true,
  listener: true,
  metrics: true,
  tracing: true,
  clock: true,
});

export const RETRY_OPTION_NAMES = optionNames<RetryOverrides>({
  maxAttempts: true,
  statuses: true,
  backoff: true,
  maxDelayMs: true,
  maxHintMs: true,
  random: true,
});

export const HEDGE_OPTION_NAMES = optionNames<HedgeOverrides>({
  maxHedgedAttempts: true,
  delay: true,
});

const BUDGET_OPTION_NAMES = optionNames<Omit<RetryBudgetOptions, 'clock'>>({
  ratio: true,
  minRetriesPerSecond: true,
  windowMs: true,
});

const BREAKER_OPTION_NAMES = optionNames<Omit<HttpBreakerOptions, 'maxOrigins'>>({
  strategy: true,
  breakDurationMs: true,
  breakBackoff: true,
  halfOpenTrials: true,
  classify: true,
  name: true,
});

const BULKHEAD_OPTION_NAMES = optionNames<ServiceBulkheadOptions>({
  limit: true,
  queue: true,
  queueTimeoutMs: true,
});

const RATE_LIMIT_OPTION_NAMES = optionNames<RateLimitPolicyOptions>({
  limiter: true,
  key: true,
  permits: true,
});

const OUTLIER_OPTION_NAMES = optionNames<OutlierDetectionOptions>({
  consecutiveFailures: true,
  baseEjectionMs: true,
  maxEjectionMs: true,
  maxEjectionPercent: true,
  intervalMs: true,
  successRate: true,
});

const SUCCESS_RATE_OPTION_NAMES = optionNames<SuccessRateOptions>({
  minimumEndpoints: true,
  requestVolume: true,
  stdevFactor: true,
});

const BALANCER_OPTION_NAMES = optionNames<BalancerOptions>({ decayMs: true });

const DNS_OPTION_NAMES = optionNames<DnsEndpoints>({
  dns: true,
  resolver: true,
  family: true,
  minTtlMs: true,
  maxTtlMs: true,
});

const METRICS_OPTION_NAMES = optionNames<MetricsOptions>({ registry: true, prefix: true });

const TRACING_OPTION_NAMES = optionNames<TracingOptions>({ tracer: true, urlQuery: true });

/** Where the endpoints come from, and what requests to them carry because of it. */
export interface EndpointsSettings {
  readonly source: EndpointSource;
  /** A DNS source's name, for the `host` header and, over https, TLS's server name. */
  readonly hostname: string | undefined;
  /** A DNS source's `host[:port]`: the `host` header of its requests. */
  readonly host: string | undefined;
  /** A DNS source over https: its addresses are called with the name as TLS server name. */
  readonly tls: boolean;
}

/** The client's options that are its own (the rest go to the HTTP client and the policies). */
export interface ServiceSettings {
  readonly name: string;
  readonly endpoints: EndpointsSettings;
  readonly timeoutMs: number | false | undefined;
  readonly deadlineMs: number | false | undefined;
  readonly retry: RetryOverrides | false;
  readonly budget: Omit<RetryBudgetOptions, 'clock'> | false;
  readonly hedge: HedgeOverrides | false;
  readonly outliers: OutlierSettings | undefined;
  readonly decayMs: number;
  readonly random: () => number;
  readonly idempotencyKey: 'auto' | false;
  readonly idempotencyKeyHeader: string;
  readonly attemptHeader: string | undefined;
  readonly metrics: MetricsOptions | undefined;
  readonly tracing: TracingOptions | undefined;
  readonly clock: Clock;
}

/** An options object nested in the client's: checked as an object with known names. */
export function checkNested(
  factory: string,
  path: string,
  value: unknown,
  names: readonly string[],
): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${path} to be an object, got ${describeValue(value)}`);
  }
  checkKnownOptions(factory, value, names, path);
}

/** Retry overrides: the names here, their values by `retry()` when the policy is built. */
export function checkRetryOverrides(factory: string, path: string, value: unknown): void {
  if (value === false) return;
  checkNested(factory, path, value, RETRY_OPTION_NAMES);
  const statuses = value.statuses;
  if (statuses !== undefined) {
    if (!Array.isArray(statuses)) {
      throw new TypeError(
        `expected ${path}.statuses to be an array of status codes, got ${describeValue(statuses)}`,
      );
    }
    for (const status of statuses as unknown[])
      checkInteger(`${path}.statuses[]`, status, 100, 599);
  }
}

export function checkHedgeOverrides(factory: string, path: string, value: unknown): void {
  if (typeof value === 'boolean') return;
  checkNested(factory, path, value, HEDGE_OPTION_NAMES);
}

/** A value for a message: `true` and `false` by name, since a boolean is the likely mistake. */
export function shown(value: unknown): string {
  return typeof value === 'boolean' ? String(value) : describeValue(value);
}

function optionalMs(name: string, value: unknown): number | false | undefined {
  if (value === undefined || value === false) return value;
  checkInteger(name, value, 1, MAX_TIMEOUT_MS);
  return value;
}

function headerName(name: string, value: unknown, fallback: string): string {
  const header = value ?? fallback;
  checkString(name, header, 128);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(header)) {
    throw new TypeError(`expected ${name} to be an HTTP header name, got ${describeValue(header)}`);
  }
  return header.toLowerCase();
}

/** The client's options, checked at every depth, with its own settings worked out. */
export function parseServiceOptions(options: ServiceClientOptions): ServiceSettings {
  checkOptionsObject(FACTORY, options);
  checkKnownOptions(FACTORY, options, OPTION_NAMES);
  checkString('name', options.name, 64);
  const clock = options.clock ?? systemClock;
  checkClock(clock);
  if (options.retry !== undefined) checkRetryOverrides(FACTORY, 'retry', options.retry);
  if (options.budget !== undefined && options.budget !== false) {
    checkNested(FACTORY, 'budget', options.budget, BUDGET_OPTION_NAMES);
  }
  if (options.hedge !== undefined) checkHedgeOverrides(FACTORY, 'hedge', options.hedge);
  checkBreaker(options.breaker);
  if (options.bulkhead !== undefined && options.bulkhead !== false) {
    checkNested(FACTORY, 'bulkhead', options.bulkhead, BULKHEAD_OPTION_NAMES);
  }
  if (options.rateLimit !== undefined && options.rateLimit !== false) {
    checkNested(FACTORY, 'rateLimit', options.rateLimit, RATE_LIMIT_OPTION_NAMES);
  }
  if (options.balancer !== undefined) {
    checkNested(FACTORY, 'balancer', options.balancer, BALANCER_OPTION_NAMES);
  }
  const decayMs = options.balancer?.decayMs ?? DEFAULT_LATENCY_DECAY_MS;
  checkInteger('balancer.decayMs', decayMs, 1, MAX_TIMEOUT_MS);
  const random = options.random ?? Math.random;
  checkFunction('random', random);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (
    options.idempotencyKey !== undefined &&
    options.idempotencyKey !== 'auto' &&
    options.idempotencyKey !== false
  ) {
    throw new TypeError(
      `expected idempotencyKey to be 'auto' or false, got ${shown(options.idempotencyKey)}`,
    );
  }
  if (options.refreshMs !== undefined)
    checkInteger('refreshMs', options.refreshMs, 1, MAX_TIMEOUT_MS);
  return {
    name: options.name,
    endpoints: parseEndpoints(options.endpoints, options.refreshMs ?? DEFAULT_REFRESH_MS, clock),
    timeoutMs: optionalMs('timeoutMs', options.timeoutMs),
    deadlineMs: optionalMs('deadlineMs', options.deadlineMs),
    retry: options.retry ?? {},
    budget: options.budget ?? {},
    hedge: options.hedge === true ? {} : (options.hedge ?? false),
    outliers: parseOutliers(options.outlierDetection),
    decayMs,
    random,
    idempotencyKey: options.idempotencyKey ?? false,
    idempotencyKeyHeader: headerName(
      'idempotencyKeyHeader',
      options.idempotencyKeyHeader,
      'idempotency-key',
    ),
    attemptHeader:
      options.attemptHeader === false
        ? undefined
        : headerName('attemptHeader', options.attemptHeader, 'x-bulwark-attempt'),
    metrics: parseMetrics(options.metrics),
    tracing: parseTracing(options.tracing),
    clock,
  };
}

function checkBreaker(breaker: unknown): void {
  if (breaker === undefined || breaker === false) return;
  checkNested(FACTORY, 'breaker', breaker, BREAKER_OPTION_NAMES);
  const { breakBackoff, classify } = breaker;
  if (breakBackoff !== undefined) {
    checkNested(FACTORY, 'breaker.breakBackoff', breakBackoff, ['factor', 'maxMs']);
  }
  if (classify !== undefined) {
    checkNested(FACTORY, 'breaker.classify', classify, ['error', 'result']);
  }
}

function parseEndpoints(value: unknown, refreshMs: number, clock: Clock): EndpointsSettings {
  if (typeof value === 'function') {
    return {
      source: new FunctionSource(value as EndpointsFn, refreshMs, clock),
      hostname: undefined,
      host: undefined,
      tls: false,
    };
  }
  if (Array.isArray(value)) {
    const endpoints = value.map((item: unknown, i) => parseEndpoint(item, `endpoints[${i}]`));
    if (endpoints.length === 0) {
      throw new TypeError('expected endpoints to list at least one URL, got an empty array');
    }
    if (distinct(endpoints).length !== endpoints.length) {
      throw new TypeError('expected endpoints to be distinct URLs, got one twice');
    }
    return {
      source: new StaticSource(endpoints),
      hostname: undefined,
      host: undefined,
      tls: false,
    };
  }
  if (typeof value === 'object' && value !== null && !(value instanceof URL)) {
    return parseDns(value, clock);
  }
  throw new TypeError(
    `expected endpoints to be an array of URLs, a function returning one, or { dns: url }, got ${describeValue(value)}`,
  );
}

function parseDns(value: object, clock: Clock): EndpointsSettings {
  checkNested(FACTORY, 'endpoints', value, DNS_OPTION_NAMES);
  const options = value as unknown as DnsEndpoints;
  const parsed = parseEndpoint(options.dns, 'endpoints.dns');
  const url = new URL(parsed.url);
  if (url.hostname.startsWith('[') || /^[\d.]+$/.test(url.hostname)) {
    throw new TypeError(
      `expected endpoints.dns to name a host, got an IP address (${url.hostname}): list the URL in endpoints instead`,
    );
  }
  const resolver = options.resolver;
  if (
    resolver !== undefined &&
    (typeof resolver !== 'object' ||
      resolver === null ||
      typeof resolver.resolve4 !== 'function' ||
      typeof resolver.resolve6 !== 'function')
  ) {
    throw new TypeError(
      `expected endpoints.resolver to have resolve4() and resolve6() (a node:dns/promises Resolver), got ${describeValue(resolver)}`,
    );
  }
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) {
    throw new TypeError(
      `expected endpoints.family to be 4 or 6, got ${describeValue(options.family)}`,
    );
  }
  const minTtlMs = options.minTtlMs ?? DEFAULT_DNS_MIN_TTL_MS;
  checkInteger('endpoints.minTtlMs', minTtlMs, 1, MAX_TIMEOUT_MS);
  const maxTtlMs = options.maxTtlMs ?? Math.max(DEFAULT_DNS_MAX_TTL_MS, minTtlMs);
  checkInteger('endpoints.maxTtlMs', maxTtlMs, minTtlMs, MAX_TIMEOUT_MS);
  const protocol = url.protocol as 'http:' | 'https:';
  return {
    source: new DnsSource(
      {
        protocol,
        hostname: url.hostname,
        port: url.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(url.port),
        prefix: parsed.url.slice(parsed.origin.length),
        family: options.family,
        resolver,
        minTtlMs,
        maxTtlMs,
      },
      clock,
    ),
    hostname: url.hostname,
    host: url.host,
    tls: protocol === 'https:',
  };
}

function parseOutliers(value: unknown): OutlierSettings | undefined {
  if (value === false) return undefined;
  const options: OutlierDetectionOptions = value ?? {};
  if (value !== undefined) checkNested(FACTORY, 'outlierDetection', value, OUTLIER_OPTION_NAMES);
  const consecutive = options.consecutiveFailures ?? DEFAULT_CONSECUTIVE_FAILURES;
  if (consecutive !== false) {
    checkInteger('outlierDetection.consecutiveFailures', consecutive, 1, 1_000_000);
  }
  const baseEjectionMs = options.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
  checkInteger('outlierDetection.baseEjectionMs', baseEjectionMs, 1, MAX_TIMEOUT_MS);
  const maxEjectionMs = options.maxEjectionMs ?? Math.max(DEFAULT_MAX_EJECTION_MS, baseEjectionMs);
  checkInteger('outlierDetection.maxEjectionMs', maxEjectionMs, baseEjectionMs, MAX_TIMEOUT_MS);
  const maxEjectionPercent = options.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT;
  checkNumber('outlierDetection.maxEjectionPercent', maxEjectionPercent, 0, 100);
  const intervalMs = options.intervalMs ?? DEFAULT_OUTLIER_INTERVAL_MS;
  checkInteger('outlierDetection.intervalMs', intervalMs, 1, MAX_TIMEOUT_MS);
  return {
    consecutiveFailures: consecutive === false ? undefined : consecutive,
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent,
    intervalMs,
    successRate: parseSuccessRate(options.successRate),
  };
}

function parseSuccessRate(value: unknown): OutlierSettings['successRate'] {
  if (value === false) return undefined;
  const path = 'outlierDetection.successRate';
  if (value !== undefined) checkNested(FACTORY, path, value, SUCCESS_RATE_OPTION_NAMES);
  const options: SuccessRateOptions = value ?? {};
  const minimumEndpoints = options.minimumEndpoints ?? DEFAULT_SUCCESS_RATE_MINIMUM_ENDPOINTS;
  checkInteger(`${path}.minimumEndpoints`, minimumEndpoints, 2, 100_000);
  const requestVolume = options.requestVolume ?? DEFAULT_SUCCESS_RATE_REQUEST_VOLUME;
  checkInteger(`${path}.requestVolume`, requestVolume, 1, 1_000_000_000);
  const stdevFactor = options.stdevFactor ?? DEFAULT_SUCCESS_RATE_STDEV_FACTOR;
  checkNumber(`${path}.stdevFactor`, stdevFactor, 0, 100);
  return { minimumEndpoints, requestVolume, stdevFactor };
}

function parseMetrics(value: unknown): MetricsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  checkNested(FACTORY, 'metrics', value, METRICS_OPTION_NAMES);
  return value;
}

function parseTracing(value: unknown): TracingOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  checkNested(FACTORY, 'tracing', value, TRACING_OPTION_NAMES);
  return value;
}
