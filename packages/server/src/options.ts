import type { Clock } from '@bulwark/core';
import type { AdaptiveLimit } from '@bulwark/bulkhead';
import type { InvalidIdArgs } from '@bulwark/correlation';
import type { HealthRegistry } from '@bulwark/health';
import type { IdempotencyOptions } from './idempotency-options.js';
import type { RateLimitOptions } from './rate-limit-options.js';
import type { PrometheusRegistry } from '@bulwark/telemetry';

/**
 * The options of `bulwark()` (Express) and `bulwarkPlugin` (Fastify): one shape, one meaning.
 * Every part is on by default except idempotency, shedding, metrics and rate limiting, which need
 * a decision (a store, limits, a registry, a limiter); `false` turns a part off. `Req` is the
 * framework's request type, which `idempotency.identity` and `rateLimit.identity` receive.
 */
export interface BulwarkOptions<Req = unknown> {
  /** A correlation context per request: ID, trace, deadline. Default: on. */
  correlation?: boolean | CorrelationOptions;
  /** The caller's remaining budget (`x-bulwark-timeout-ms`, `grpc-timeout`...) becomes the request's deadline. Default: on. */
  deadline?: boolean | DeadlineOptions;
  /** Idempotency-Key handling for unsafe methods. Default: off. */
  idempotency?: false | IdempotencyOptions<Req>;
  /** `/livez`, `/readyz` and `/startupz`, never shed. Default: on, with an empty registry. */
  health?: boolean | HealthOptions;
  /** A concurrency limit and pressure checks that answer 503 with Retry-After. Default: off. */
  shedding?: false | SheddingOptions;
  /** Request metrics and a `/metrics` route for a prom-client registry. Default: off. */
  metrics?: boolean | MetricsOptions;
  /** A rate limit per caller that answers 429 with Retry-After and RateLimit fields. Default: off. */
  rateLimit?: false | RateLimitOptions<Req>;
  /** Time for deadlines, pressure sampling, idempotency records and the limiters the stack builds. Default: the system clock. */
  clock?: Clock;
}

export interface CorrelationOptions {
  /** Inbound headers that may carry the correlation ID, lowercase, in order. Default `['x-request-id', 'x-correlation-id']`. */
  headers?: readonly string[];
  /** The response header the ID is echoed in; `false` for none. Default: the first of `headers`. */
  responseHeader?: string | false;
  /** Makes an ID when no valid one came in. Default: a UUIDv7. */
  generateId?: () => string;
  /** Told when an inbound ID is refused (the value itself is never passed on). */
  onInvalidId?: (args: InvalidIdArgs) => void;
  /** Whether traces this service begins are marked sampled. Default false. */
  sampled?: boolean;
  /** Follow an active OpenTelemetry span's trace when there is one. Default true. */
  openTelemetry?: boolean;
}

export interface DeadlineOptions {
  /** The header carrying the caller's remaining milliseconds. Default `x-bulwark-timeout-ms`. */
  header?: string;
  /** Budgets above this are capped to it. Default 300 000 (5 minutes). */
  maxMs?: number;
  /** Also read `grpc-timeout` and `x-envoy-expected-rq-timeout-ms`. Default true. */
  fallbacks?: boolean;
}

/** Where each health view is served; `false` leaves a view out. */
export interface HealthPaths {
  /** Default `/livez`. */
  liveness?: string | false;
  /** Default `/readyz`. */
  readiness?: string | false;
  /** Default `/startupz`. */
  startup?: string | false;
}

export interface HealthOptions {
  /** The checks behind the views. Default: a registry with no checks (every view passes). */
  registry?: HealthRegistry;
  paths?: HealthPaths;
  /** Include observed values, outputs and times in answers. Default false: they can leak internals. */
  detailed?: boolean;
}

export interface SheddingOptions {
  /** Requests handled at once: an integer >= 1 or `adaptiveLimit(...)` from `@bulwark/bulkhead`. Default: no limit. */
  limit?: number | AdaptiveLimit;
  /** Requests that may wait for a slot. Default 0: refused at once. */
  queue?: number;
  /** A request waiting longer than this is refused. Needs `queue >= 1`. Default: no timeout. */
  queueTimeoutMs?: number;
  /** Refuse while the event loop's p99 delay over the last interval exceeds this. Default: not checked. */
  maxEventLoopDelayMs?: number;
  /** Refuse while the event loop was busier than this (0–1) over the last interval. Default: not checked. */
  maxEventLoopUtilization?: number;
  /** Refuse while the V8 heap in use exceeds this many bytes. Default: not checked. */
  maxHeapUsedBytes?: number;
  /** Refuse while the V8 heap in use exceeds this share (0–1) of its limit. Default: not checked. */
  maxHeapUsedRatio?: number;
  /** Refuse while the resident set exceeds this many bytes. Default: not checked. */
  maxRssBytes?: number;
  /** How often pressure is measured. Default 1000 ms. */
  sampleIntervalMs?: number;
  /** The Retry-After hint of refusals, in milliseconds (rounded up to seconds). Default: the limit's estimate, or `sampleIntervalMs` under pressure. */
  retryAfterMs?: number;
}

export interface MetricsOptions {
  /** The prom-client registry. Default: prom-client's global `register`. */
  registry?: PrometheusRegistry;
  /** Where the registry is served; `false` for no route. Default `/metrics`. */
  path?: string | false;
  /** Prepended to metric names. Default `bulwark_`. */
  prefix?: string;
  /** Upper bounds, in seconds, of the request duration histogram. */
  buckets?: readonly number[];
  /**
   * Series the request duration histogram keeps, 1 to 1,000,000. Past it, a new combination of
   * method, route and status code counts in one series labelled `other` throughout, and the
   * first such request emits a `BULWARK_SERVER_SERIES_LIMIT` process warning. Default 2,000.
   */
  maxSeries?: number;
}
