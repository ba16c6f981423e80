import {
  type AnyPolicy,
  type Clock,
  type PolicyEvent,
  type TelemetryListener,
  bindSuccess,
  combineListeners,
  systemClock,
} from '@bulwark/core';
import { type HttpCache, type HttpCacheOptions, httpCache } from '@bulwark/cache';
import { currentContext } from '@bulwark/correlation';
import type { HealthCheckDefinition } from '@bulwark/health';
import {
  type HttpClient,
  type HttpStreamResponse,
  type IncomingContext,
  createHttpClient,
} from '@bulwark/http-client';
import {
  DEFAULT_CONNECTIONS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
} from '@bulwark/http-client/internal';
import {
  type BreakerRegistry,
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BREAKER_FAILURE_RATIO,
  DEFAULT_BREAKER_MIN_THROUGHPUT,
  DEFAULT_BREAKER_WINDOW_MS,
  DEFAULT_BREAK_DURATION_MS,
  DEFAULT_MAX_BREAK_DURATION_MS,
  DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
  DEFAULT_RETRY_BUDGET_RATIO,
  DEFAULT_RETRY_BUDGET_WINDOW_MS,
  type RetryBudget,
  bulkhead,
  rateLimit,
  retryBudget,
  timeWindow,
} from '@bulwark/resilience';
import {
  type PrometheusListener,
  openTelemetryListener,
  prometheusListener,
  tracedAttempt,
  tracedOperation,
} from '@bulwark/telemetry';
import { Agent } from 'undici';
import { Balancer } from './balancer.js';
import type { ServiceParts } from './call-pass.js';
import { EndpointSet } from './endpoint-set.js';
import { type ServiceClientListener, emitEndpointEvent } from './events.js';
import {
  type Operation,
  type OperationDefinition,
  type OperationHost,
  OperationRuntime,
  type StreamOperationDefinition,
  operationFunction,
} from './operation.js';
import {
  type EndpointsSettings,
  type ServiceClientOptions,
  type ServiceSettings,
  parseServiceOptions,
} from './options.js';
import { OutlierDetector } from './outlier-detector.js';
import { type ReadinessCheckOptions, readinessCheck } from './readiness.js';
import type { EndpointAddress, EndpointSink } from './sources/source.js';
import { type EndpointView, endpointView } from './views.js';

/** A resilient client for one downstream service. */
export interface ServiceClient {
  /** The service's name, as given. */
  readonly name: string;
  /**
   * Defines an operation of the service: a function that makes one call through the standard
   * pipeline, to the endpoint the balancer picks, and answers with the parsed JSON body (or,
   * with `stream: true`, the response at its headers).
   */
  operation<TPath extends string, TBody = unknown>(
    definition: StreamOperationDefinition<TPath>,
  ): Operation<HttpStreamResponse, TPath, TBody>;
  operation<TResponse = unknown, TBody = unknown, TPath extends string = string>(
    definition: OperationDefinition<TResponse, TPath>,
  ): Operation<TResponse, TPath, TBody>;
  /** The endpoints as they stand now. */
  endpoints(): EndpointView[];
  /** Resolves once the endpoints have been read for the first time (or the read failed). */
  ready(): Promise<void>;
  /** The circuit breakers, one per endpoint (keyed by its origin); undefined with `breaker: false`. */
  readonly breakers: BreakerRegistry | undefined;
  /** The retry budget every operation's retries and hedges share; undefined with `budget: false`. */
  readonly budget: RetryBudget | undefined;
  /** A `@bulwark/health` check of the endpoints, to register in a health registry. */
  readinessCheck(options?: ReadinessCheckOptions): HealthCheckDefinition;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /**
   * Stops new calls and resolves once every call in flight has ended, the cache's background
   * revalidations too; then stops reading the endpoints (no timer is left) and closes the sockets.
   */
  close(): Promise<void>;
}

/** The service's URL space in its cache: endpoint-independent, and apart from other services'. */
const CACHE_ORIGIN = 'http://service.invalid/';

class Client implements ServiceClient, OperationHost, EndpointSink {
  readonly name: string;
  readonly settings: ServiceSettings;
  readonly parts: ServiceParts;
  readonly set: EndpointSet;
  readonly balancer: Balancer;
  readonly budget: RetryBudget | undefined;
  readonly rateLimit: AnyPolicy | undefined;
  readonly bulkhead: AnyPolicy | undefined;
  readonly listener: ServiceClientListener | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly cacheBase: string;
  readonly hasCache: boolean;
  closed = false;
  private readonly http: HttpClient;
  private readonly outliers: OutlierDetector | undefined;
  private readonly clock: Clock;
  private ownCache: HttpCache | undefined;
  private readonly cacheOptions: HttpCacheOptions | undefined;
  private readonly agent: Agent | undefined;
  private readonly options: ServiceClientOptions;
  private traced: { operation: AnyPolicy; attempt: AnyPolicy } | undefined = undefined;
  private readonly observers: Array<() => void> = [];
  /** Calls started and not yet settled. */
  private active = 0;
  private drained: (() => void) | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  private readonly callEnded = (): void => {
    if (--this.active === 0 && this.drained !== undefined) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  };

  constructor(options: ServiceClientOptions) {
    const settings = parseServiceOptions(options);
    this.options = options;
    this.settings = settings;
    this.name = settings.name;
    this.clock = settings.clock;
    const { clock, name } = settings;
    const prometheus =
      settings.metrics === undefined ? undefined : prometheusListener(settings.metrics);
    this.listener = combine(options.listener, prometheus, tracingListener(settings.tracing));
    const listener = this.listener;
    this.agent = tlsAgent(options, settings.endpoints);
    this.http = attemptClient(options, settings, this.agent, listener);
    this.headers = serviceHeaders(options.headers, settings.endpoints.host);
    this.cacheBase = CACHE_ORIGIN + encodeURIComponent(name);
    const cache = options.cache;
    this.hasCache = cache !== undefined && cache !== false;
    if (isHttpCache(cache)) {
      this.ownCache = cache;
    } else if (cache !== undefined && cache !== false) {
      this.cacheOptions = cache;
      this.ownCache = this.makeCache();
    }
    this.budget = sharedBudget(settings.budget, clock);
    this.bulkhead = sharedBulkhead(options.bulkhead, name, listener, clock);
    this.rateLimit = sharedRateLimit(options.rateLimit);
    this.set = endpointSet(this.http.breakers);
    this.outliers =
      settings.outliers === undefined
        ? undefined
        : new OutlierDetector(settings.outliers, this.set, name, listener, clock.now());
    this.balancer = new Balancer(this.set, this.outliers, {
      service: name,
      decayMs: settings.decayMs,
      random: settings.random,
      clock,
    });
    this.parts = this.serviceParts();
    this.observeEndpoints([options.listener, prometheus]);
    settings.endpoints.source.start(this);
  }

  get breakers(): BreakerRegistry | undefined {
    return this.http.breakers;
  }

  operation(definition: OperationDefinition | StreamOperationDefinition): Operation<never> {
    const runtime = new OperationRuntime(this, definition);
    return operationFunction(runtime, definition.path) as Operation<never>;
  }

  endpoints(): EndpointView[] {
    const now = this.clock.now();
    return this.set.endpoints.map((endpoint) => endpointView(endpoint, now, this.settings.decayMs));
  }

  ready(): Promise<void> {
    return this.set.ready;
  }

  get known(): boolean {
    return this.set.known;
  }

  readinessCheck(options?: ReadinessCheckOptions): HealthCheckDefinition {
    return readinessCheck(this, options);
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.settings.endpoints.source.close();
    // Calls still waiting for a first read would wait for nothing: they fail with no endpoints.
    this.set.failed(
      new Error(`the ${this.name} service client closed before its endpoints were read`),
    );
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    // A background revalidation is a pass of its own, on this client's sockets.
    await this.ownCache?.whenIdle();
    for (const stop of this.observers.splice(0)) stop();
    await this.http.close();
    await this.agent?.close();
  }

  // EndpointSink: what the endpoints' source delivers.

  update(endpoints: readonly EndpointAddress[]): void {
    if (this.closed) return;
    const changes = this.set.replace(
      endpoints.map((e) => e.url),
      endpoints.map((e) => e.origin),
      this.clock.now(),
    );
    if (this.listener === undefined) return;
    if (changes.added.length === 0 && changes.removed.length === 0) return;
    emitEndpointEvent(this.listener, {
      type: 'endpoints-updated',
      policy: 'service-client',
      name: this.name,
      operation: undefined,
      added: changes.added,
      removed: changes.removed,
      endpoints: this.set.size,
    });
  }

  failed(error: unknown): void {
    if (this.closed) return;
    this.set.failed(error);
    if (this.listener === undefined) return;
    emitEndpointEvent(this.listener, {
      type: 'endpoints-refresh-failed',
      policy: 'service-client',
      name: this.name,
      operation: undefined,
      error,
      endpoints: this.set.size,
    });
  }

  // OperationHost: what the operations share.

  cache(): HttpCache {
    return (this.ownCache ??= this.makeCache());
  }

  tracedOperation(): AnyPolicy | undefined {
    return this.tracing()?.operation;
  }

  tracedAttempt(): AnyPolicy | undefined {
    return this.tracing()?.attempt;
  }

  incoming(): IncomingContext | undefined {
    const { context, correlation } = this.options;
    if (context !== undefined) return context();
    if (correlation === false) return undefined;
    const request = currentContext();
    if (request === undefined) return undefined;
    let deadline = request.deadline;
    // The context's deadline is on the system clock: on another clock, what is left of it.
    if (deadline !== Infinity && this.clock !== systemClock) {
      deadline = this.clock.now() + (deadline - performance.now());
    }
    return { deadline, signal: request.signal };
  }

  checkOpen(): void {
    if (this.closed) throw new Error(`the ${this.name} service client is closed`);
  }

  track<T>(call: Promise<T>): Promise<T> {
    this.active++;
    call.then(this.callEnded, this.callEnded);
    return call;
  }

  /** What every call's attempts share: the HTTP client, the balancer, the outlier detector. */
  private serviceParts(): ServiceParts {
    return {
      name: this.name,
      http: this.http,
      balancer: this.balancer,
      outliers: this.outliers,
      clock: this.clock,
      decayMs: this.settings.decayMs,
      attemptHeader: this.settings.attemptHeader,
      describeAttempts: this.listener !== undefined,
    };
  }

  /** Hands the endpoints to the listeners that show them (a Prometheus listener's gauges). */
  private observeEndpoints(candidates: ReadonlyArray<TelemetryListener | undefined>): void {
    for (const candidate of candidates) {
      const observe = (candidate as Partial<PrometheusListener> | undefined)?.observeEndpoints;
      if (typeof observe === 'function') this.observers.push(observe(this, { name: this.name }));
    }
  }

  private makeCache(): HttpCache {
    // A service client calls for many users: a shared cache never stores one user's answer
    // (private, or with cookies) for another.
    return httpCache({
      type: 'shared',
      ...this.cacheOptions,
      clock: this.cacheOptions?.clock ?? this.clock,
      listener: this.cacheOptions?.listener ?? this.listener,
      name: this.cacheOptions?.name ?? this.name,
    });
  }

  private tracing(): { operation: AnyPolicy; attempt: AnyPolicy } | undefined {
    const tracing = this.settings.tracing;
    if (tracing === undefined) return undefined;
    const { clock } = this;
    const tracer = tracing.tracer;
    return (this.traced ??= {
      operation: tracedOperation(tracer === undefined ? { clock } : { clock, tracer }),
      attempt: tracedAttempt({
        clock,
        urlQuery: tracing.urlQuery ?? 'redact',
        ...(tracer === undefined ? {} : { tracer }),
      }),
    });
  }
}

function tracingListener(tracing: ServiceSettings['tracing']): TelemetryListener | undefined {
  if (tracing === undefined) return undefined;
  return openTelemetryListener({ urlQuery: tracing.urlQuery ?? 'redact' });
}

/**
 * A DNS name over TLS: every address is the same server, whose certificate names the host. A
 * dispatcher of the caller's own is left as it is.
 */
function tlsAgent(options: ServiceClientOptions, endpoints: EndpointsSettings): Agent | undefined {
  if (!endpoints.tls || options.dispatcher !== undefined) return undefined;
  return new Agent({
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    connect: {
      timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      servername: endpoints.hostname,
    },
  });
}

/** The HTTP client under the service's pipeline. */
function attemptClient(
  options: ServiceClientOptions,
  settings: ServiceSettings,
  agent: Agent | undefined,
  listener: ServiceClientListener | undefined,
): HttpClient {
  return createHttpClient({
    timeoutMs: settings.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    // The service's pipeline owns the deadline, the retries, the limit and the cache: the HTTP
    // client sends one request per attempt, behind the endpoint's breaker.
    deadlineMs: false,
    retry: false,
    bulkhead: false,
    breaker: breakerOptions(options.breaker),
    idempotencyKey: false,
    idempotencyKeyHeader: settings.idempotencyKeyHeader,
    attemptHeader: false,
    budgetHeader: options.budgetHeader,
    maxBodyBytes: options.maxBodyBytes,
    connections: options.connections,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    dispatcher: options.dispatcher ?? agent,
    correlation: options.correlation,
    context: options.context,
    name: settings.name,
    listener: attemptEventsOnly(listener),
    clock: settings.clock,
  });
}

/** Headers of every request: the service's, names in lower case, and `host` for a DNS name. */
function serviceHeaders(
  own: ServiceClientOptions['headers'],
  host: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (own !== undefined) {
    for (const [key, value] of Object.entries(own)) {
      if (typeof value !== 'string') {
        throw new TypeError(`expected header ${key} to be a string, got ${typeof value}`);
      }
      headers[key.toLowerCase()] = value;
    }
  }
  if (host !== undefined && headers.host === undefined) headers.host = host;
  return headers;
}

function sharedBudget(options: ServiceSettings['budget'], clock: Clock): RetryBudget | undefined {
  if (options === false) return undefined;
  return retryBudget({
    ratio: DEFAULT_RETRY_BUDGET_RATIO,
    minRetriesPerSecond: DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
    windowMs: DEFAULT_RETRY_BUDGET_WINDOW_MS,
    ...options,
    clock,
  });
}

function sharedBulkhead(
  option: ServiceClientOptions['bulkhead'],
  name: string,
  listener: ServiceClientListener | undefined,
  clock: Clock,
): AnyPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  return bulkhead({ queue: 0, ...option, name, listener, clock });
}

function sharedRateLimit(option: ServiceClientOptions['rateLimit']): AnyPolicy | undefined {
  return option === undefined || option === false ? undefined : rateLimit(option);
}

/** The endpoints, each behind its breaker from the registry (none with `breaker: false`). */
function endpointSet(breakers: BreakerRegistry | undefined): EndpointSet {
  return new EndpointSet((endpoint) => {
    endpoint.breaker = breakers?.get(endpoint.origin);
  });
}

function isHttpCache(value: unknown): value is HttpCache {
  const candidate = value as { handle?: unknown; invalidate?: unknown } | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.handle === 'function' &&
    typeof candidate.invalidate === 'function'
  );
}

/** `@bulwark/resilience`'s breaker defaults, under the options given. */
function breakerOptions(
  value: ServiceClientOptions['breaker'],
): false | NonNullable<Exclude<ServiceClientOptions['breaker'], false>> {
  if (value === false) return false;
  const own = value ?? {};
  const breakMs = typeof own.breakDurationMs === 'number' ? own.breakDurationMs : 0;
  return {
    strategy: timeWindow({
      windowMs: DEFAULT_BREAKER_WINDOW_MS,
      failureRatio: DEFAULT_BREAKER_FAILURE_RATIO,
      minimumThroughput: DEFAULT_BREAKER_MIN_THROUGHPUT,
    }),
    breakDurationMs: DEFAULT_BREAK_DURATION_MS,
    // A longer break of the caller's own must not fall foul of the default cap.
    breakBackoff: { maxMs: Math.max(DEFAULT_MAX_BREAK_DURATION_MS, breakMs) },
    ...own,
  };
}

function combine(
  ...listeners: Array<TelemetryListener | undefined>
): ServiceClientListener | undefined {
  // combineListeners() forwards whatever it is given; its type names core's events only.
  return combineListeners(...listeners) as ServiceClientListener | undefined;
}

const ignore = (): void => undefined;

/**
 * What the service's HTTP client reports: its breakers and attempt timeouts. Not its `call`
 * and `attempt` events, one per attempt of the service's calls (the service's pipeline reports
 * those), nor its deadline's, which enforces the service call's deadline a second time.
 */
function attemptEventsOnly(listener: TelemetryListener | undefined): TelemetryListener | undefined {
  if (listener === undefined) return undefined;
  const filtered = (event: PolicyEvent): void => {
    if (event.type === 'call' || event.type === 'deadline-exceeded') return;
    if (event.type === 'attempt' && event.policy === 'http-client') return;
    listener(event);
  };
  // The client's successes are only its calls and attempts: bound to nothing, they cost nothing.
  return Object.assign(filtered, { [bindSuccess]: () => ignore });
}

/**
 * A resilient client for one downstream service, with the endpoints given as a list, a function
 * re-read on an interval, or a DNS name. Each operation's calls run through the standard
 * pipeline (rate and concurrency limit, deadline, cache, fallback, retry or hedging on a budget
 * shared by the service), then to the endpoint a power-of-two-choices balancer picks among those
 * outlier detection has not ejected, behind that endpoint's circuit breaker and under the attempt
 * timeout, over one undici connection pool.
 *
 * @example
 * const inventory = createServiceClient({
 *   name: 'inventory',
 *   endpoints: ['http://10.0.0.5:8080', 'http://10.0.0.6:8080'],
 * });
 * const getItem = inventory.operation<Item>({ name: 'getItem', path: '/items/:id', hedge: true });
 * const item = await getItem({ params: { id: '42' } });
 */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  return new Client(options);
}
