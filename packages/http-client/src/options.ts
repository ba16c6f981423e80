import {
  type AnyPolicy,
  type Clock,
  type ExecutionContext,
  type TelemetryListener,
  systemClock,
} from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { BulkheadOptions } from '@bulwark/bulkhead';
import { type HttpCache, type HttpCacheOptions, httpCache } from '@bulwark/cache';
import { type CorrelationPropagator, correlationPropagator } from '@bulwark/correlation';
import type {
  BreakBackoffOptions,
  BreakerClassify,
  RegistryBreakerOptions,
} from '@bulwark/circuit-breaker';
import type { Backoff, DelayHintFn, RetryBudgetOptions } from '@bulwark/retry';
import { DEFAULT_BUDGET_HEADER, MAX_TIMEOUT_MS } from '@bulwark/timeout';
import type { Dispatcher } from 'undici';
import { DEFAULT_IDEMPOTENCY_KEY_HEADER } from './idempotency-key.js';
import { checkHeaderName, copyHeaders, lowerHeaders } from './headers.js';
import { type Base, parseBase } from './target.js';

/** Per attempt, unless the deadline leaves less. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** For the whole call: every attempt and every wait between them. */
export const DEFAULT_DEADLINE_MS = 30_000;
/** Response bodies above this fail with a BodyTooLargeError: 16 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** The statuses retried (RFC 9110 §15: timeouts, rate limits and transient server errors). */
export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([
  408, 429, 500, 502, 503, 504,
]);
/** Tells the server which attempt this is, so it can tell a retry from a first call. */
export const DEFAULT_ATTEMPT_HEADER = 'x-bulwark-attempt';
/** Sockets per origin. */
export const DEFAULT_CONNECTIONS = 128;
/** Calls per origin at once, and how many may wait for a slot. */
export const DEFAULT_BULKHEAD: Readonly<HttpBulkheadOptions> = Object.freeze({
  limit: 256,
  queue: 512,
  queueTimeoutMs: 5_000,
});
/** Idle keep-alive sockets close after this (undici's default). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Origins (and their policies) remembered; the oldest is forgotten beyond it. */
export const DEFAULT_MAX_ORIGINS = 1000;
/** A status code is three digits. */
const STATUS_LIMIT = 1000;
/** What messages about the client's options name. */
const FACTORY = 'createHttpClient';

/** What `attemptHeaders` is told about each attempt. */
export interface AttemptHeadersArgs {
  /** The attempt about to be sent, counting from 1. */
  readonly attempt: number;
  readonly method: string;
  readonly origin: string;
  /** The path and query: do not put it in metrics labels (it holds IDs). */
  readonly path: string;
  /** The attempt's execution context: its deadline, `remaining()`, operation. */
  readonly context: ExecutionContext;
}

/** Where a request's deadline and cancellation can come from besides its own options. */
export interface IncomingContext {
  /** Absolute deadline on the client's clock (`performance.now()` for the system clock); `Infinity` for none. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface HttpRetryOptions {
  /** Attempts in all, the first included (1–1000). Default 3. */
  maxAttempts?: number;
  /** Statuses retried. Default 408, 429, 500, 502, 503, 504. */
  statuses?: readonly number[];
  /** Delay between attempts when the server gives no hint. Default: exponential, 100 ms to 10 s, full jitter. */
  backoff?: Backoff;
  /** Caps every backoff delay (ms). Default 30 000. */
  maxDelayMs?: number;
  /** Caps every server hint, such as Retry-After (ms). Default 60 000. */
  maxHintMs?: number;
  /** Reads a server's delay hint. Default: Retry-After, RateLimit-Reset and friends. */
  delayHint?: DelayHintFn;
  /**
   * A retry budget per origin, so retries cannot multiply load on a failing origin; `false` for
   * none. Default `{}` (20% + 10/s). It runs on the client's `clock`.
   */
  budget?: HttpRetryBudgetOptions | false;
  /** Random numbers in [0, 1) for jitter (tests). Default `Math.random`. */
  random?: () => number;
}

/** A per-origin retry budget's options: every budget runs on the client's `clock`. */
export type HttpRetryBudgetOptions = Omit<RetryBudgetOptions, 'clock'>;

export interface HttpBreakerOptions extends RegistryBreakerOptions {
  /** Breakers kept (one per origin). Default 1000. */
  maxOrigins?: number;
}

export type HttpBulkheadOptions = Pick<BulkheadOptions, 'limit' | 'queue' | 'queueTimeoutMs'>;

export interface HttpClientOptions {
  /** The origin (and base path) for requests made with a path. */
  baseUrl?: string | URL;
  /** Headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
  /** Headers added to each attempt (correlation, tracing). Called once per attempt. */
  attemptHeaders?: (args: AttemptHeadersArgs) => Readonly<Record<string, string>> | undefined;
  /** Per-attempt timeout (ms), or `false` for none. Default 10 000. */
  timeoutMs?: number | false;
  /** Budget for the whole call (ms), or `false` for none. Default 30 000. */
  deadlineMs?: number | false;
  /**
   * The deadline and signal of the work this call is part of (an incoming request's context).
   * Given, it replaces the deadline and signal taken from `@bulwark/correlation`'s context.
   */
  context?: () => IncomingContext | undefined;
  /**
   * Inside `runWithContext()` of `@bulwark/correlation`: every attempt carries the correlation
   * ID, `traceparent` (a new span ID per attempt) and `tracestate`, and the call takes the
   * context's deadline and signal. `true` (default) uses the default header names; pass a
   * `correlationPropagator()` for others, or `false` for none. Headers the caller sets win.
   */
  correlation?: boolean | CorrelationPropagator;
  /**
   * An RFC 9111 cache in front of the resilience pipeline: an `httpCache()` (shareable between
   * clients), its options (a cache of the client's own, on the client's clock and listener), or
   * `false` (default) for none.
   */
  cache?: HttpCache | HttpCacheOptions | false;
  /** Retry settings, or `false` to send every request once. */
  retry?: HttpRetryOptions | false;
  /** Per-origin circuit breakers, or `false` for none. Default: 5 failures in a row open for 30 s. */
  breaker?: HttpBreakerOptions | false;
  /** Per-origin concurrency limit, or `false` for none. Default 256 at once, 512 waiting up to 5 s. */
  bulkhead?: HttpBulkheadOptions | false;
  /** `'auto'`: POST and PATCH carry a generated Idempotency-Key (and become retryable). Default `false`. */
  idempotencyKey?: 'auto' | false;
  /** The Idempotency-Key header's name. Default `idempotency-key`. */
  idempotencyKeyHeader?: string;
  /** The attempt number header, or `false`. Default `x-bulwark-attempt`. */
  attemptHeader?: string | false;
  /** The remaining-budget header, or `false`. Default `x-bulwark-timeout-ms`. */
  budgetHeader?: string | false;
  /** Largest response body read (bytes). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Sockets per origin. Default 128. */
  connections?: number;
  /** Idle keep-alive sockets close after this (ms). Default 4 000. */
  keepAliveTimeoutMs?: number;
  /** TCP (and TLS) connect timeout (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Use this undici dispatcher instead of the client's own; `close()` then leaves it open. */
  dispatcher?: Dispatcher;
  /** Origins remembered with their policies. Default 1000. */
  maxOrigins?: number;
  /** The operation name in telemetry. Default `METHOD origin` (never the path, which holds IDs). */
  operation?: string;
  /** Names every policy of this client in telemetry events. */
  name?: string;
  /** Receives every policy's telemetry events, and a `call` event per request. */
  listener?: TelemetryListener;
  /** The clock for every timeout, deadline and delay. Default: the system clock. */
  clock?: Clock;
  /**
   * Policies of your own in the client's pipeline: `call` outermost, around everything a request
   * goes through; `attempt` directly inside the retry, around each attempt. For tracing, give
   * `@bulwark/telemetry`'s `tracedOperation()` and `tracedAttempt()`: each request then gets an
   * operation span, each attempt a live span with its HTTP request and response inside it.
   */
  policies?: HttpClientPolicies;
}

/** See {@link HttpClientOptions.policies}. */
export interface HttpClientPolicies {
  readonly call?: AnyPolicy;
  readonly attempt?: AnyPolicy;
}

/**
 * The names of an options type, each listed once: the compiler rejects a list that misses a
 * name or holds one the type does not have, so the unknown-option checks cannot drift from it.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): string[] {
  return Object.keys(names);
}

const OPTION_NAMES = optionNames<HttpClientOptions>({
  baseUrl: true,
  headers: true,
  attemptHeaders: true,
  timeoutMs: true,
  deadlineMs: true,
  context: true,
  correlation: true,
  cache: true,
  retry: true,
  breaker: true,
  bulkhead: true,
  idempotencyKey: true,
  idempotencyKeyHeader: true,
  attemptHeader: true,
  budgetHeader: true,
  maxBodyBytes: true,
  connections: true,
  keepAliveTimeoutMs: true,
  connectTimeoutMs: true,
  dispatcher: true,
  maxOrigins: true,
  operation: true,
  name: true,
  listener: true,
  clock: true,
  policies: true,
});

const RETRY_OPTION_NAMES = optionNames<HttpRetryOptions>({
  maxAttempts: true,
  statuses: true,
  backoff: true,
  maxDelayMs: true,
  maxHintMs: true,
  delayHint: true,
  budget: true,
  random: true,
});

const BUDGET_OPTION_NAMES = optionNames<HttpRetryBudgetOptions>({
  ratio: true,
  minRetriesPerSecond: true,
  windowMs: true,
});

const BREAKER_OPTION_NAMES = optionNames<HttpBreakerOptions>({
  strategy: true,
  breakDurationMs: true,
  breakBackoff: true,
  halfOpenTrials: true,
  classify: true,
  name: true,
  maxOrigins: true,
});

const BREAK_BACKOFF_OPTION_NAMES = optionNames<BreakBackoffOptions>({ factor: true, maxMs: true });

const CLASSIFY_OPTION_NAMES = optionNames<BreakerClassify>({ error: true, result: true });

const BULKHEAD_OPTION_NAMES = optionNames<HttpBulkheadOptions>({
  limit: true,
  queue: true,
  queueTimeoutMs: true,
});

const CACHE_OPTION_NAMES = optionNames<HttpCacheOptions>({
  type: true,
  store: true,
  methods: true,
  partition: true,
  defaultTtlMs: true,
  staleIfErrorMs: true,
  keepStaleMs: true,
  isFailureResponse: true,
  storeFailureResponses: true,
  maxEntryBytes: true,
  maxHeaderBytes: true,
  cacheStatus: true,
  listener: true,
  name: true,
  clock: true,
});

const POLICIES_OPTION_NAMES = optionNames<HttpClientPolicies>({ call: true, attempt: true });

/** The options, checked and with defaults filled in. */
export interface ClientSettings {
  readonly base: Base | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly attemptHeaders: HttpClientOptions['attemptHeaders'];
  readonly timeoutMs: number | undefined;
  readonly deadlineMs: number | undefined;
  readonly context: HttpClientOptions['context'];
  /** The propagator of correlation headers, `undefined` when correlation is off. */
  readonly correlation: CorrelationPropagator | undefined;
  readonly cache: HttpCache | undefined;
  /** The retry options, `undefined` when retries are off. */
  readonly retry: HttpRetryOptions | undefined;
  /** 1 at each retried status. */
  readonly retryStatuses: Uint8Array;
  readonly breaker: HttpBreakerOptions | undefined;
  readonly bulkhead: HttpBulkheadOptions | undefined;
  readonly autoKey: boolean;
  readonly keyHeader: string;
  readonly attemptHeader: string | undefined;
  readonly budgetHeader: string | undefined;
  readonly maxBodyBytes: number;
  readonly connections: number;
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly dispatcher: Dispatcher | undefined;
  readonly maxOrigins: number;
  readonly operation: string | undefined;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
  readonly policies: HttpClientPolicies;
}

function checkPolicies(value: unknown): HttpClientPolicies {
  if (value === undefined) return {};
  checkObject('policies', value);
  checkKnownOptions(FACTORY, value, POLICIES_OPTION_NAMES, 'policies');
  for (const name of ['call', 'attempt'] as const) {
    const policy = value[name];
    if (
      policy !== undefined &&
      (typeof policy !== 'object' ||
        policy === null ||
        typeof (policy as { execute?: unknown }).execute !== 'function')
    ) {
      throw new TypeError(
        `expected policies.${name} to be a policy with an execute() method, got ${describeValue(policy)}`,
      );
    }
  }
  return value;
}

function checkObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${name} to be an object, got ${describeValue(value)}`);
  }
}

/**
 * Checks the names in the nested options objects the client hands to its policies, which would
 * otherwise drop a misspelt name without a word. Their values are checked by the policies.
 */
function checkNestedOptions(options: HttpClientOptions): void {
  const retry = options.retry;
  if (retry !== undefined && retry !== false) {
    checkObject('retry', retry);
    checkKnownOptions(FACTORY, retry, RETRY_OPTION_NAMES, 'retry');
    const budget = retry.budget;
    if (budget !== undefined && budget !== false) {
      checkObject('retry.budget', budget);
      checkKnownOptions(FACTORY, budget, BUDGET_OPTION_NAMES, 'retry.budget');
    }
  }
  const breaker = options.breaker;
  if (breaker !== undefined && breaker !== false) {
    checkObject('breaker', breaker);
    checkKnownOptions(FACTORY, breaker, BREAKER_OPTION_NAMES, 'breaker');
    const { breakBackoff, classify } = breaker;
    if (breakBackoff !== undefined) {
      checkObject('breaker.breakBackoff', breakBackoff);
      checkKnownOptions(FACTORY, breakBackoff, BREAK_BACKOFF_OPTION_NAMES, 'breaker.breakBackoff');
    }
    if (classify !== undefined) {
      checkObject('breaker.classify', classify);
      checkKnownOptions(FACTORY, classify, CLASSIFY_OPTION_NAMES, 'breaker.classify');
    }
  }
  const bulkhead = options.bulkhead;
  if (bulkhead !== undefined && bulkhead !== false) {
    checkObject('bulkhead', bulkhead);
    checkKnownOptions(FACTORY, bulkhead, BULKHEAD_OPTION_NAMES, 'bulkhead');
  }
}

function optionalMs(name: string, value: unknown, fallback: number): number | undefined {
  if (value === false) return undefined;
  if (value === undefined) return fallback;
  checkInteger(name, value, 1, MAX_TIMEOUT_MS);
  return value;
}

function headerOption(name: string, value: unknown, fallback: string): string | undefined {
  if (value === false) return undefined;
  if (value === undefined) return fallback;
  return checkHeaderName(name, value);
}

/** 1 at each status retried. The rest of the retry options are checked by retry() itself. */
function parseRetryStatuses(options: HttpRetryOptions | undefined): Uint8Array {
  const statuses: unknown = options?.statuses ?? DEFAULT_RETRY_STATUSES;
  if (!Array.isArray(statuses)) {
    throw new TypeError(
      `expected retry.statuses to be an array of status codes, got ${describeValue(statuses)}`,
    );
  }
  const statusTable = new Uint8Array(STATUS_LIMIT);
  for (const status of statuses as unknown[]) {
    checkInteger('retry.statuses[]', status, 100, STATUS_LIMIT - 1);
    statusTable[status] = 1;
  }
  // RFC 9110 §15: a client processes a status outside 100-599 as a server error, that is a 500.
  if (statusTable[500] === 1) statusTable.fill(1, 600);
  return statusTable;
}

let defaultPropagator: CorrelationPropagator | undefined;

function parseCorrelation(
  value: HttpClientOptions['correlation'],
): CorrelationPropagator | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return (defaultPropagator ??= correlationPropagator());
  if (!isPropagator(value)) {
    throw new TypeError(
      `expected correlation to be a boolean or a correlationPropagator(), got ${describeValue(value)}`,
    );
  }
  return value;
}

function isPropagator(value: unknown): value is CorrelationPropagator {
  if (typeof value !== 'object' || value === null) return false;
  const { inject, headers } = value as Record<string, unknown>;
  return typeof inject === 'function' && typeof headers === 'function';
}

function parseCache(
  value: unknown,
  clock: Clock,
  listener: TelemetryListener | undefined,
  name: string | undefined,
): HttpCache | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected cache to be an httpCache(), httpCache() options or false, got ${describeValue(value)}`,
    );
  }
  const candidate = value as { handle?: unknown; invalidate?: unknown };
  if (typeof candidate.handle === 'function' && typeof candidate.invalidate === 'function') {
    return value as HttpCache;
  }
  checkKnownOptions(FACTORY, value, CACHE_OPTION_NAMES, 'cache');
  // A cache of the client's own: on its clock, reporting to its listener under its name.
  const own: HttpCacheOptions = { ...(value as HttpCacheOptions) };
  own.clock ??= clock;
  if (own.listener === undefined && listener !== undefined) own.listener = listener;
  if (own.name === undefined && name !== undefined) own.name = name;
  return httpCache(own);
}

export function parseOptions(options: HttpClientOptions): ClientSettings {
  checkOptionsObject(FACTORY, options);
  checkKnownOptions(FACTORY, options, OPTION_NAMES);
  checkNestedOptions(options);
  if (options.attemptHeaders !== undefined) checkFunction('attemptHeaders', options.attemptHeaders);
  if (options.context !== undefined) checkFunction('context', options.context);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (options.operation !== undefined) checkString('operation', options.operation);
  if (options.name !== undefined) checkString('name', options.name);
  if (
    options.idempotencyKey !== undefined &&
    options.idempotencyKey !== 'auto' &&
    options.idempotencyKey !== false
  ) {
    throw new TypeError(
      `expected idempotencyKey to be 'auto' or false, got ${describeValue(options.idempotencyKey)}`,
    );
  }
  if (options.dispatcher !== undefined) {
    const dispatch = (options.dispatcher as { dispatch?: unknown } | null)?.dispatch;
    if (typeof dispatch !== 'function') {
      throw new TypeError(
        `expected dispatcher to be an undici Dispatcher, got ${describeValue(options.dispatcher)}`,
      );
    }
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  checkInteger('maxBodyBytes', maxBodyBytes, 0);
  const connections = options.connections ?? DEFAULT_CONNECTIONS;
  checkInteger('connections', connections, 1);
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  checkInteger('keepAliveTimeoutMs', keepAliveTimeoutMs, 1, MAX_TIMEOUT_MS);
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  checkInteger('connectTimeoutMs', connectTimeoutMs, 1, MAX_TIMEOUT_MS);
  const maxOrigins = options.maxOrigins ?? DEFAULT_MAX_ORIGINS;
  checkInteger('maxOrigins', maxOrigins, 1);
  const clock = options.clock ?? systemClock;
  checkClock(clock);
  return {
    base: options.baseUrl === undefined ? undefined : parseBase(options.baseUrl),
    headers:
      options.headers === undefined ? {} : copyHeaders(lowerHeaders('headers', options.headers)),
    attemptHeaders: options.attemptHeaders,
    timeoutMs: optionalMs('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS),
    deadlineMs: optionalMs('deadlineMs', options.deadlineMs, DEFAULT_DEADLINE_MS),
    context: options.context,
    correlation: parseCorrelation(options.correlation),
    cache: parseCache(options.cache, clock, options.listener, options.name),
    retry: options.retry === false ? undefined : (options.retry ?? {}),
    retryStatuses: parseRetryStatuses(options.retry === false ? undefined : options.retry),
    breaker: options.breaker === false ? undefined : (options.breaker ?? {}),
    bulkhead: options.bulkhead === false ? undefined : (options.bulkhead ?? DEFAULT_BULKHEAD),
    autoKey: options.idempotencyKey === 'auto',
    keyHeader: checkHeaderName(
      'idempotencyKeyHeader',
      options.idempotencyKeyHeader ?? DEFAULT_IDEMPOTENCY_KEY_HEADER,
    ),
    attemptHeader: headerOption('attemptHeader', options.attemptHeader, DEFAULT_ATTEMPT_HEADER),
    budgetHeader: headerOption('budgetHeader', options.budgetHeader, DEFAULT_BUDGET_HEADER),
    maxBodyBytes,
    connections,
    keepAliveTimeoutMs,
    connectTimeoutMs,
    dispatcher: options.dispatcher,
    maxOrigins,
    operation: options.operation,
    name: options.name,
    listener: options.listener,
    clock,
    policies: checkPolicies(options.policies),
  };
}
