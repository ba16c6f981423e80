import { isTimeoutError } from '@bulwark/core';
import {
  Context,
  Scope,
  checkInteger,
  checkString,
  describeValue,
  terminal,
} from '@bulwark/core/internal';
import { type BreakerRegistry, breakerRegistry } from '@bulwark/circuit-breaker';
import { MAX_TIMEOUT_MS, type TimeoutPolicy, deadline, timeout } from '@bulwark/timeout';
import { Agent, type Dispatcher } from 'undici';
import { BodySource, type RequestBody } from './body.js';
import { HttpStatusError, isNetworkError } from './errors.js';
import { Exchange, type ExchangeSettings, isLocalShutdown } from './exchange.js';
import { formatIdempotencyKey, generateIdempotencyKey } from './idempotency-key.js';
import { isKeyedMethod, normalizeMethod } from './methods.js';
import { copyHeaders, lowerHeaders } from './headers.js';
import { type ClientSettings, type HttpClientOptions, parseOptions } from './options.js';
import {
  OriginPolicies,
  type SharedPolicies,
  originBulkhead,
  originRetry,
} from './origin-policies.js';
import type { HttpResponse, HttpStreamResponse } from './response.js';
import { type QueryValue, resolveTarget } from './target.js';

/** What one request may say, besides its URL. */
export interface HttpRequestOptions {
  /** Default `GET`. */
  method?: string;
  /** Headers for this request, over the client's. */
  headers?: Readonly<Record<string, string>>;
  /** Query parameters appended to the URL (`undefined` values are left out). */
  query?: Readonly<Record<string, QueryValue>>;
  /** The body: text, bytes, a stream, or a factory of any of them (retryable streams). */
  body?: RequestBody;
  /** A value sent as JSON (with `content-type: application/json`). Not with `body`. */
  json?: unknown;
  /**
   * The Idempotency-Key for a POST or PATCH: a key, `'auto'` to generate one (a UUID), or
   * `false` for none. The same key goes out on every attempt. Default: the client's setting.
   */
  idempotencyKey?: string | false;
  /** Aborts the call: its attempts, its waits, and (for `stream()`) the body. */
  signal?: AbortSignal;
  /** A budget (ms) for this call; the shorter of it and the client's `deadlineMs` wins. */
  timeoutMs?: number;
  /** An absolute deadline on the client's clock (`performance.now()` for the system clock). */
  deadline?: number;
  /** Largest response body (bytes). Default: the client's `maxBodyBytes`. */
  maxBodyBytes?: number;
  /** The operation name in telemetry, in place of `METHOD origin`. */
  operation?: string;
}

/** Options of the JSON helpers: everything but the method and the body. */
export type JsonRequestOptions = Omit<HttpRequestOptions, 'method' | 'body' | 'json'>;

export interface HttpClient {
  /** Sends a request and reads the response body in full (up to `maxBodyBytes`). */
  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** Sends a request and returns at the response headers, with the body as a stream. */
  stream(url: string | URL, options?: HttpRequestOptions): Promise<HttpStreamResponse>;
  /** GET, parsed as JSON. Throws `HttpStatusError` for a status outside 2xx. */
  get<T = unknown>(url: string | URL, options?: JsonRequestOptions): Promise<T>;
  /** DELETE, parsed as JSON (`undefined` for an empty body). */
  delete<T = unknown>(url: string | URL, options?: JsonRequestOptions): Promise<T>;
  /** POST `data` as JSON, and parse the answer. Retried only with an Idempotency-Key. */
  post<T = unknown>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T>;
  put<T = unknown>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T>;
  /** PATCH `data` as JSON. Retried only with an Idempotency-Key. */
  patch<T = unknown>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T>;
  /** The per-origin circuit breakers (keys are origins), for health checks and manual control. */
  readonly breakers: BreakerRegistry | undefined;
  /** True once `close()` or `destroy()` was called. */
  readonly closed: boolean;
  /** Stops new calls and resolves once the calls in flight have ended and the sockets closed. */
  close(): Promise<void>;
  /** Stops at once: calls in flight fail, sockets close. */
  destroy(): Promise<void>;
}

const JSON_TYPE = 'application/json';
const NO_OPTIONS: HttpRequestOptions = Object.freeze({});

class Client implements HttpClient {
  readonly breakers: BreakerRegistry | undefined;
  closed = false;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly exchange: ExchangeSettings;
  private readonly shared: SharedPolicies;
  private readonly origins = new Map<string, OriginPolicies>();
  private readonly jsonHeaders: Readonly<Record<string, string>>;

  constructor(private readonly settings: ClientSettings) {
    const { clock, listener, name } = settings;
    this.ownsDispatcher = settings.dispatcher === undefined;
    this.dispatcher =
      settings.dispatcher ??
      new Agent({
        connections: settings.connections,
        keepAliveTimeout: settings.keepAliveTimeoutMs,
        connect: { timeout: settings.connectTimeoutMs },
      });
    this.breakers =
      settings.breaker === undefined
        ? undefined
        : breakerRegistry({
            maxKeys: settings.breaker.maxOrigins,
            breaker: {
              classify: httpBreakerClassify,
              name,
              ...withoutMaxOrigins(settings.breaker),
            },
            listener,
            clock,
          });
    let enforcer: ReturnType<SharedPolicies['enforcer']> | undefined;
    this.shared = {
      bulkhead: settings.bulkhead,
      deadline:
        settings.deadlineMs === undefined
          ? undefined
          : deadline(settings.deadlineMs, { clock, listener, name }),
      enforcer: () => (enforcer ??= deadline(MAX_TIMEOUT_MS, { clock, listener, name })),
      retry: settings.retry,
      breakers: this.breakers,
      name,
      listener,
      clock,
    };
    // Per-origin policies are built on first use: build one now so bad options fail here.
    if (settings.retry !== undefined) originRetry(this.shared, settings.retry);
    if (settings.bulkhead !== undefined) originBulkhead(this.shared, settings.bulkhead);
    const attemptTimeout: TimeoutPolicy | undefined =
      settings.timeoutMs === undefined
        ? undefined
        : timeout(settings.timeoutMs, { clock, listener, name });
    this.exchange = {
      dispatcher: this.dispatcher,
      timeout: attemptTimeout,
      retries: settings.retry !== undefined,
      retryStatuses: settings.retryStatuses,
      attemptHeaders: settings.attemptHeaders,
      attemptHeader: settings.attemptHeader,
      budgetHeader:
        settings.budgetHeader === undefined ? undefined : { header: settings.budgetHeader },
    };
    this.jsonHeaders = copyHeaders({ accept: JSON_TYPE }, settings.headers);
  }

  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.send(url, options, this.settings.headers, false) as Promise<HttpResponse>;
  }

  stream(url: string | URL, options?: HttpRequestOptions): Promise<HttpStreamResponse> {
    return this.send(url, options, this.settings.headers, true) as Promise<HttpStreamResponse>;
  }

  get<T>(url: string | URL, options?: JsonRequestOptions): Promise<T> {
    return this.json<T>('GET', url, undefined, options);
  }

  delete<T>(url: string | URL, options?: JsonRequestOptions): Promise<T> {
    return this.json<T>('DELETE', url, undefined, options);
  }

  post<T>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T> {
    return this.json<T>('POST', url, data, options);
  }

  put<T>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T> {
    return this.json<T>('PUT', url, data, options);
  }

  patch<T>(url: string | URL, data?: unknown, options?: JsonRequestOptions): Promise<T> {
    return this.json<T>('PATCH', url, data, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async destroy(): Promise<void> {
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.destroy();
  }

  private async json<T>(
    method: string,
    url: string | URL,
    data: unknown,
    options: JsonRequestOptions | undefined,
  ): Promise<T> {
    const response = (await this.send(
      url,
      options,
      this.jsonHeaders,
      false,
      method,
      data,
    )) as HttpResponse;
    if (!response.ok) throw new HttpStatusError(response, method, originOf(url, this.settings));
    return response.json<T>();
  }

  private async send(
    url: string | URL,
    options: HttpRequestOptions | undefined,
    defaults: Readonly<Record<string, string>>,
    streaming: boolean,
    helperMethod?: string,
    data?: unknown,
  ): Promise<HttpResponse | HttpStreamResponse> {
    if (this.closed) throw new Error('the HTTP client is closed');
    const o = options ?? NO_OPTIONS;
    const exchange = this.exchangeFor(url, o, defaults, streaming, helperMethod, data);
    const policies = this.policiesFor(exchange.origin);
    let operation = o.operation;
    if (operation !== undefined) checkString('operation', operation);
    else operation = this.settings.operation ?? policies.operation(exchange.method);

    // The deadline and cancellation: the request's own, and those of the work it is part of.
    const clock = this.settings.clock;
    let until = o.deadline ?? Infinity;
    if (typeof until !== 'number' || Number.isNaN(until)) {
      throw new TypeError(`expected deadline to be a number, got ${describeValue(o.deadline)}`);
    }
    if (o.timeoutMs !== undefined) {
      checkInteger('timeoutMs', o.timeoutMs, 1, MAX_TIMEOUT_MS);
      until = Math.min(until, clock.now() + o.timeoutMs);
    }
    let signal = o.signal;
    const incoming = this.settings.context?.();
    if (incoming !== undefined) {
      if (incoming.deadline !== undefined) until = Math.min(until, incoming.deadline);
      const other = incoming.signal;
      if (other !== undefined && other !== signal) {
        signal = signal === undefined ? other : AbortSignal.any([signal, other]);
      }
    }

    const scope = Scope.from(signal);
    const context = new Context(exchange.fn, scope, 1, until, operation, clock, false);
    const pipeline = policies.pipelineFor(until !== Infinity);
    // Only a caller's own signal is listened to: it is an AbortSignal already, so this is cheap.
    let unsubscribe: (() => void) | undefined;
    if (scope.canAbort) unsubscribe = scope.onAbort(() => exchange.callerAborted(scope));
    try {
      const response = exchange.outcome(await pipeline.invoke(context, terminal));
      if (unsubscribe !== undefined && streaming) {
        // The caller's signal keeps covering the body until the stream closes.
        (response as HttpStreamResponse).body.once('close', unsubscribe);
        unsubscribe = undefined;
      }
      return response;
    } catch (error: unknown) {
      exchange.abandon(error);
      throw exchange.failure(error);
    } finally {
      unsubscribe?.();
    }
  }

  /** The request as an exchange: method, target, headers (with the key), body and limits. */
  private exchangeFor(
    url: string | URL,
    o: HttpRequestOptions,
    defaults: Readonly<Record<string, string>>,
    streaming: boolean,
    helperMethod: string | undefined,
    data: unknown,
  ): Exchange {
    const settings = this.settings;
    const method =
      helperMethod ?? (o.method === undefined ? 'GET' : normalizeMethod(checkMethod(o.method)));
    const json = helperMethod === undefined ? o.json : data;
    const { origin, path } = resolveTarget(url, settings.base, o.query);

    // The client's headers, the request's, then what the client owns (content type, key).
    let headers = defaults;
    if (o.headers !== undefined) {
      headers = copyHeaders(defaults, lowerHeaders('headers', o.headers));
    }
    let body = BodySource.none;
    if (json !== undefined) {
      if (o.body !== undefined) throw new TypeError('expected either body or json, got both');
      body = BodySource.bytes(JSON.stringify(json));
      if (headers['content-type'] === undefined) {
        headers = copyHeaders(headers, { 'content-type': JSON_TYPE });
      }
    } else if (o.body !== undefined && helperMethod === undefined) {
      body = BodySource.from(o.body);
    }
    let hasKey = headers[settings.keyHeader] !== undefined;
    if (!hasKey && isKeyedMethod(method)) {
      const key = o.idempotencyKey ?? (settings.autoKey ? 'auto' : false);
      if (key !== false) {
        const value = key === 'auto' ? generateIdempotencyKey() : formatIdempotencyKey(key);
        headers = copyHeaders(headers, { [settings.keyHeader]: value });
        hasKey = true;
      }
    }
    let maxBodyBytes = settings.maxBodyBytes;
    if (o.maxBodyBytes !== undefined) {
      checkInteger('maxBodyBytes', o.maxBodyBytes, 0);
      maxBodyBytes = o.maxBodyBytes;
    }
    return new Exchange(
      this.exchange,
      method,
      origin,
      path,
      headers,
      body,
      hasKey,
      streaming,
      maxBodyBytes,
    );
  }

  private policiesFor(origin: string): OriginPolicies {
    let policies = this.origins.get(origin);
    if (policies === undefined) {
      policies = new OriginPolicies(origin, this.shared);
      if (this.origins.size >= this.settings.maxOrigins) {
        // The oldest origin goes; its breaker lives on in the registry.
        this.origins.delete(this.origins.keys().next().value!);
      }
      this.origins.set(origin, policies);
    }
    return policies;
  }
}

function checkMethod(method: unknown): string {
  checkString('method', method, 32);
  if (method.toUpperCase() === 'CONNECT') {
    throw new TypeError(
      'expected a method other than CONNECT, which opens a tunnel, got "CONNECT"',
    );
  }
  return method;
}

function withoutMaxOrigins(
  options: NonNullable<ClientSettings['breaker']>,
): Omit<NonNullable<ClientSettings['breaker']>, 'maxOrigins'> {
  const { maxOrigins: _maxOrigins, ...rest } = options;
  return rest;
}

function originOf(url: string | URL, settings: ClientSettings): string {
  return resolveTarget(url, settings.base, undefined).origin;
}

/**
 * What a per-origin breaker counts: server errors (5xx), attempt timeouts and network errors.
 * Not 4xx (the caller's mistake), not a body over the limit, not the caller's own abort or
 * deadline.
 */
const httpBreakerClassify = Object.freeze({
  error: ({ error, callerAborted }: { error: unknown; callerAborted: boolean }): boolean =>
    !callerAborted && (isTimeoutError(error) || (isNetworkError(error) && !isLocalShutdown(error))),
  result: ({ result }: { result: unknown }): boolean =>
    (result as { status: number }).status >= 500,
});

/**
 * An HTTP client on undici that is safe to retry and hard to hang. Each call runs through a
 * bulkhead, a deadline, method-aware retries with a per-origin budget, a per-origin circuit
 * breaker and an attempt timeout.
 *
 * @example
 * const client = createHttpClient({ baseUrl: 'https://api.example.com', timeoutMs: 2_000 });
 * const user = await client.get<User>('/users/42');
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new Client(parseOptions(options));
}
