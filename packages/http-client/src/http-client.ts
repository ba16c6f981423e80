import { STATUS_CODES } from 'node:http';
import {
  type Clock,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  isTimeoutError,
  systemClock,
} from '@bulwark/core';
import {
  type CacheResult,
  type HeaderRecord,
  type HttpCache,
  splitSetCookie,
} from '@bulwark/cache';
import { type RequestContext, currentContext } from '@bulwark/correlation';
import {
  Context,
  Scope,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  emit,
  terminal,
} from '@bulwark/core/internal';
import { type BreakerRegistry, breakerRegistry } from '@bulwark/circuit-breaker';
import { MAX_TIMEOUT_MS, type TimeoutPolicy, deadline, timeout } from '@bulwark/timeout';
import { Agent, type Dispatcher } from 'undici';
import { AttemptReporter } from './attempt-reporter.js';
import { BodySource, type RequestBody } from './body.js';
import { HttpStatusError, isNetworkError, isRetriesExhaustedError } from './errors.js';
import { type AttemptSettings, CallAttempts, isLocalShutdown } from './call-attempts.js';
import { formatIdempotencyKey, generateIdempotencyKey } from './idempotency-key.js';
import { isIdempotentMethod, isKeyedMethod, normalizeMethod } from './methods.js';
import { copyHeaders, lowerHeaders } from './headers.js';
import {
  type ClientSettings,
  type HttpBreakerOptions,
  type HttpClientOptions,
  type IncomingContext,
  optionNames,
  parseOptions,
} from './options.js';
import {
  OriginPolicies,
  type SharedPolicies,
  originBulkhead,
  originRetry,
} from './origin-policies.js';
import {
  HttpResponse,
  type HttpStreamResponse,
  type ResponseCacheInfo,
  type ResponseHeaders,
} from './response.js';
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
  /** `false`: send this call once, as if the client had `retry: false`. Default: the client's retries. */
  retry?: false;
}

/** Options of the JSON helpers: everything but the method and the body. */
export type JsonRequestOptions = Omit<HttpRequestOptions, 'method' | 'body' | 'json'>;

const REQUEST_OPTION_NAMES = optionNames<HttpRequestOptions>({
  method: true,
  headers: true,
  query: true,
  body: true,
  json: true,
  idempotencyKey: true,
  signal: true,
  timeoutMs: true,
  deadline: true,
  maxBodyBytes: true,
  operation: true,
  retry: true,
});

const JSON_OPTION_NAMES = optionNames<JsonRequestOptions>({
  headers: true,
  query: true,
  idempotencyKey: true,
  signal: true,
  timeoutMs: true,
  deadline: true,
  maxBodyBytes: true,
  operation: true,
  retry: true,
});

/** The client method a call came through, by the JSON helper's method: what messages name. */
const HELPER_NAMES: Readonly<Record<string, string>> = Object.freeze({
  GET: 'get',
  DELETE: 'delete',
  POST: 'post',
  PUT: 'put',
  PATCH: 'patch',
});

/**
 * The client. `Breakers` is what {@link HttpClient.breakers} holds: the per-origin registry, or
 * `undefined` for a client built with `breaker: false`; `createHttpClient()` infers it.
 */
export interface HttpClient<
  Breakers extends BreakerRegistry | undefined = BreakerRegistry | undefined,
> {
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
  /**
   * The per-origin circuit breakers (keys are origins), for health checks and manual control;
   * `undefined` when the client was built with `breaker: false`.
   */
  readonly breakers: Breakers;
  /** True once `close()` or `destroy()` was called. */
  readonly closed: boolean;
  /**
   * Stops new calls and resolves once every call in flight has ended (those waiting in a retry
   * backoff or a bulkhead queue included), the cache's background revalidations have finished,
   * and the sockets closed.
   */
  close(): Promise<void>;
  /** Stops at once: calls on the wire fail, sockets close. */
  destroy(): Promise<void>;
}

const JSON_TYPE = 'application/json';
const NO_OPTIONS: HttpRequestOptions = Object.freeze({});

class Client implements HttpClient {
  readonly breakers: BreakerRegistry | undefined;
  closed = false;
  /** Calls started and not yet settled, wherever they are: on the wire, in a backoff, queued. */
  private active = 0;
  private drained: (() => void) | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  /** Counts a call out: the last to end while the client closes lets close() finish. */
  private readonly callEnded = (): void => {
    if (--this.active === 0 && this.drained !== undefined) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  };
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly attemptSettings: AttemptSettings;
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
      callPolicy: settings.policies.call,
      attemptPolicy: settings.policies.attempt,
      // Without a retry policy nothing reports the one attempt a call makes: this does.
      attemptReporter:
        settings.retry === undefined && listener !== undefined
          ? new AttemptReporter(clock, listener, name, settings.retryStatuses)
          : undefined,
    };
    // Per-origin policies are built on first use: build one now so bad options fail here.
    if (settings.retry !== undefined) originRetry(this.shared, settings.retry);
    if (settings.bulkhead !== undefined) originBulkhead(this.shared, settings.bulkhead);
    const attemptTimeout: TimeoutPolicy | undefined =
      settings.timeoutMs === undefined
        ? undefined
        : timeout(settings.timeoutMs, { clock, listener, name });
    this.attemptSettings = {
      dispatcher: this.dispatcher,
      timeout: attemptTimeout,
      retryStatuses: settings.retryStatuses,
      attemptHeaders: settings.attemptHeaders,
      attemptHeader: settings.attemptHeader,
      budgetHeader:
        settings.budgetHeader === undefined ? undefined : { header: settings.budgetHeader },
      correlation: settings.correlation,
      describeAttempts: listener !== undefined || settings.policies.attempt !== undefined,
    };
    this.jsonHeaders = copyHeaders({ accept: JSON_TYPE }, settings.headers);
  }

  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.tracked(
      this.send(url, options, this.settings.headers, false),
    ) as Promise<HttpResponse>;
  }

  stream(url: string | URL, options?: HttpRequestOptions): Promise<HttpStreamResponse> {
    return this.tracked(
      this.send(url, options, this.settings.headers, true),
    ) as Promise<HttpStreamResponse>;
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

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    // Revalidations the cache started in the background use this client's sockets.
    await this.settings.cache?.whenIdle();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Counts a call until it settles, so that `close()` can wait for it. */
  private tracked<T>(call: Promise<T>): Promise<T> {
    this.active++;
    call.then(this.callEnded, this.callEnded);
    return call;
  }

  async destroy(): Promise<void> {
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.destroy();
  }

  private json<T>(
    method: string,
    url: string | URL,
    data: unknown,
    options: JsonRequestOptions | undefined,
  ): Promise<T> {
    return this.tracked(
      this.send(url, options, this.jsonHeaders, false, method, data),
    ) as Promise<T>;
  }

  /**
   * One call, as its caller sees it: the answer (a response, or a JSON helper's parsed body) or
   * the error. The `call` event is reported here, not by the pipeline, because what the caller
   * gets is decided after the pipeline: a retried status the client gave up on becomes a
   * `RetriesExhaustedError`, a helper turns a status outside 2xx into an `HttpStatusError`, and
   * a cache may stand in for a failed origin.
   */
  private async send(
    url: string | URL,
    options: HttpRequestOptions | undefined,
    defaults: Readonly<Record<string, string>>,
    streaming: boolean,
    helperMethod?: string,
    data?: unknown,
  ): Promise<unknown> {
    if (this.closed) throw new Error('the HTTP client is closed');
    if (options !== undefined) checkCallOptions(options, streaming, helperMethod);
    const requestOptions = options ?? NO_OPTIONS;
    const request = this.prepare(url, requestOptions, defaults, streaming, helperMethod, data);
    const policies = this.policiesFor(request.origin);
    let operation = requestOptions.operation;
    if (operation !== undefined) checkString('operation', operation);
    else operation = this.settings.operation ?? policies.operation(request.method);

    // The deadline and cancellation: the request's own, and those of the work it is part of.
    const settings = this.settings;
    const clock = settings.clock;
    let until = requestOptions.deadline ?? Infinity;
    if (typeof until !== 'number' || Number.isNaN(until)) {
      throw new TypeError(
        `expected deadline to be a number, got ${describeValue(requestOptions.deadline)}`,
      );
    }
    if (requestOptions.timeoutMs !== undefined) {
      checkInteger('timeoutMs', requestOptions.timeoutMs, 1, MAX_TIMEOUT_MS);
      until = Math.min(until, clock.now() + requestOptions.timeoutMs);
    }
    let signal = requestOptions.signal;
    const requestContext = settings.correlation === undefined ? undefined : currentContext();
    // The caller's own context getter, when given, replaces the correlation context's.
    const incoming =
      settings.context !== undefined
        ? settings.context()
        : requestContext === undefined
          ? undefined
          : fromRequestContext(requestContext, clock);
    if (incoming !== undefined) {
      if (incoming.deadline !== undefined) until = Math.min(until, incoming.deadline);
      const other = incoming.signal;
      if (other !== undefined && other !== signal) {
        signal = signal === undefined ? other : AbortSignal.any([signal, other]);
      }
    }
    const call: CallState = { until, signal, operation, policies, requestContext };

    const listener = settings.listener;
    if (listener === undefined) return this.answer(request, call, helperMethod !== undefined);
    const start = clock.now();
    let answer: unknown;
    try {
      answer = await this.answer(request, call, helperMethod !== undefined);
    } catch (error: unknown) {
      emit(listener, {
        type: 'call',
        policy: 'http-client',
        name: settings.name,
        operation,
        outcome: 'failure',
        durationMs: clock.now() - start,
        error,
      });
      throw error;
    }
    policies.reportCall(operation, clock.now() - start);
    return answer;
  }

  /** The answer to a call: through the cache when there is one, a helper's parsed body. */
  private async answer(request: PreparedRequest, call: CallState, json: boolean): Promise<unknown> {
    const cache = this.settings.cache;
    let response: HttpResponse | HttpStreamResponse;
    if (cache === undefined) response = await this.run(request, request.headers, call.signal, call);
    else if (!request.streaming) response = await this.cached(cache, request, call);
    else if (SAFE_METHODS.has(request.method)) {
      response = await this.run(request, request.headers, call.signal, call);
    } else response = await this.streamUnsafe(cache, request, call);
    if (!json) return response;
    if (!response.ok) {
      throw new HttpStatusError(response as HttpResponse, request.method, request.origin);
    }
    return (response as HttpResponse).json();
  }

  /** One call through the resilience pipeline, with these request headers. */
  private async run(
    request: PreparedRequest,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
    call: CallState,
  ): Promise<HttpResponse | HttpStreamResponse> {
    const attempts = new CallAttempts(this.attemptSettings, request, headers, call.requestContext);
    const { until, operation } = call;
    const scope = Scope.from(signal);
    const context = new Context(
      attempts.fn,
      scope,
      1,
      until,
      operation,
      this.settings.clock,
      false,
    );
    const pipeline = call.policies.pipelineFor(until !== Infinity);
    // Only a caller's own signal is listened to: it is an AbortSignal already, so this is cheap.
    let unsubscribe: (() => void) | undefined;
    if (scope.canAbort) unsubscribe = scope.onAbort(() => attempts.callerAborted(scope));
    try {
      const response = attempts.callerResponse(await pipeline.invoke(context, terminal));
      if (unsubscribe !== undefined && request.streaming) {
        // The caller's signal keeps covering the body until the stream closes.
        (response as HttpStreamResponse).body.once('close', unsubscribe);
        unsubscribe = undefined;
      }
      return response;
    } catch (error: unknown) {
      attempts.abandon(error);
      throw attempts.callerError(error);
    } finally {
      unsubscribe?.();
    }
  }

  /**
   * A call through the cache, which sits outside the resilience pipeline: a fresh hit never
   * enters it; a miss or a revalidation goes through it; when it fails (retries exhausted, an
   * open breaker, a timeout, the deadline) a stale response may stand in.
   */
  private async cached(
    cache: HttpCache,
    request: PreparedRequest,
    call: CallState,
  ): Promise<HttpResponse> {
    // The last response the origin gave: a miss returns it as it came, headers and all.
    let last: HttpResponse | undefined;
    const result = await cache.handle(
      { method: request.method, url: request.origin + request.path, headers: request.headers },
      async (origin) => {
        // The origin request's signal: the caller's, or none for a background revalidation,
        // which must outlive the caller that triggered it.
        last = (await this.run(request, origin.headers, origin.signal, call)) as HttpResponse;
        return last;
      },
      { signal: call.signal, operation: call.operation },
    );
    if (result.cacheStatus === 'stale-if-error' && !isOriginFailure(result.failure)) {
      // Not the origin failing (a body over maxBodyBytes, a bad body factory...): no stand-in.
      throw result.failure;
    }
    return cachedResponse(result, last);
  }

  /**
   * A streamed unsafe request: not cacheable, but when it succeeds it must invalidate what it
   * changed, which the cache decides from the status and headers alone.
   */
  private async streamUnsafe(
    cache: HttpCache,
    request: PreparedRequest,
    call: CallState,
  ): Promise<HttpStreamResponse> {
    let response: HttpStreamResponse | undefined;
    await cache.handle(
      { method: request.method, url: request.origin + request.path, headers: request.headers },
      async (origin) => {
        response = (await this.run(
          request,
          origin.headers,
          origin.signal,
          call,
        )) as HttpStreamResponse;
        return { status: response.status, headers: response.headers };
      },
      { signal: call.signal, operation: call.operation },
    );
    return response!;
  }

  /** The request: method, target, headers (with the key), body and limits. */
  private prepare(
    url: string | URL,
    options: HttpRequestOptions,
    defaults: Readonly<Record<string, string>>,
    streaming: boolean,
    helperMethod: string | undefined,
    data: unknown,
  ): PreparedRequest {
    const settings = this.settings;
    const method =
      helperMethod ??
      (options.method === undefined ? 'GET' : normalizeMethod(checkMethod(options.method)));
    const json = helperMethod === undefined ? options.json : data;
    const { origin, path } = resolveTarget(url, settings.base, options.query);

    // The client's headers, the request's, then what the client owns (content type, key).
    let headers = defaults;
    if (options.headers !== undefined) {
      headers = copyHeaders(defaults, lowerHeaders('headers', options.headers));
    }
    let body = BodySource.none;
    if (json !== undefined) {
      if (options.body !== undefined) throw new TypeError('expected either body or json, got both');
      body = BodySource.bytes(JSON.stringify(json));
      if (headers['content-type'] === undefined) {
        headers = copyHeaders(headers, { 'content-type': JSON_TYPE });
      }
    } else if (options.body !== undefined && helperMethod === undefined) {
      body = BodySource.from(options.body);
    }
    let hasKey = headers[settings.keyHeader] !== undefined;
    if (!hasKey && isKeyedMethod(method)) {
      const key = options.idempotencyKey ?? (settings.autoKey ? 'auto' : false);
      if (key !== false) {
        const value = key === 'auto' ? generateIdempotencyKey() : formatIdempotencyKey(key);
        headers = copyHeaders(headers, { [settings.keyHeader]: value });
        hasKey = true;
      }
    }
    let maxBodyBytes = settings.maxBodyBytes;
    if (options.maxBodyBytes !== undefined) {
      checkInteger('maxBodyBytes', options.maxBodyBytes, 0);
      maxBodyBytes = options.maxBodyBytes;
    }
    const mayRetry =
      settings.retry !== undefined &&
      options.retry !== false &&
      (isIdempotentMethod(method) || (hasKey && isKeyedMethod(method)));
    return { method, origin, path, headers, body, mayRetry, streaming, maxBodyBytes };
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

/** A request, checked and ready to send (once, or again for a cache revalidation). */
interface PreparedRequest {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: BodySource;
  /** The client retries, the call did not say `retry: false`, and the method (or key) allows it. */
  readonly mayRetry: boolean;
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
}

/** What every pipeline run of one call shares. */
interface CallState {
  readonly until: number;
  readonly signal: AbortSignal | undefined;
  readonly operation: string;
  readonly policies: OriginPolicies;
  readonly requestContext: RequestContext | undefined;
}

/** Safe methods (RFC 9110 §9.2.1): a streamed one bypasses the cache, and invalidates nothing. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The deadline and signal of a `@bulwark/correlation` context, on the client's clock: the
 * context's deadline is on the system clock (`performance.now()`), so on another clock (a fake
 * one in tests) what is left of it is carried over.
 */
function fromRequestContext(context: RequestContext, clock: Clock): IncomingContext {
  let deadline = context.deadline;
  if (deadline !== Infinity && clock !== systemClock) {
    deadline = clock.now() + (deadline - performance.now());
  }
  return { deadline, signal: context.signal };
}

/**
 * Failures of the origin, or of the pipeline protecting the caller from it, that a stale
 * response may stand in for (stale-if-error): a 5xx, a network error, retries exhausted, an open
 * breaker, a full bulkhead, a timeout or the deadline. Not the caller's own mistakes.
 */
function isOriginFailure(failure: unknown): boolean {
  return (
    typeof failure === 'number' ||
    isNetworkError(failure) ||
    isRetriesExhaustedError(failure) ||
    isTimeoutError(failure) ||
    isDeadlineExceededError(failure) ||
    isBrokenCircuitError(failure) ||
    isIsolatedCircuitError(failure) ||
    isBulkheadRejectedError(failure)
  );
}

const STALE_STATUSES: ReadonlySet<string> = new Set([
  'stale',
  'stale-while-revalidate',
  'stale-if-error',
]);

/** The client's response for a cache result. */
function cachedResponse(result: CacheResult, last: HttpResponse | undefined): HttpResponse {
  const info: ResponseCacheInfo = {
    status: result.cacheStatus,
    age: result.age,
    stale: STALE_STATUSES.has(result.cacheStatus),
    failure: result.failure,
  };
  if (last !== undefined && result.body === last.body) {
    // The origin's own response: its headers as they came, with the cache's Cache-Status.
    const headers: Record<string, string | string[] | undefined> = {};
    for (const name in last.headers) headers[name] = last.headers[name];
    const status = result.headers['cache-status'];
    if (status !== undefined) headers['cache-status'] = status;
    return new HttpResponse(last.status, last.statusText, headers, last.body, last.attempts, info);
  }
  const body = result.body;
  return new HttpResponse(
    result.status,
    STATUS_CODES[result.status] ?? '',
    withCookieList(result.headers),
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    // A revalidation was answered by an attempt (the 304's); a hit or a stale answer by none.
    result.cacheStatus === 'revalidated' ? (last?.attempts ?? 0) : 0,
    info,
  );
}

/**
 * A call's options: an object whose names the method it came through knows, since a misspelt
 * one would be ignored and the call made in a way nobody asked for.
 */
function checkCallOptions(
  options: HttpRequestOptions,
  streaming: boolean,
  helperMethod: string | undefined,
): void {
  const called = streaming
    ? 'stream'
    : helperMethod === undefined
      ? 'request'
      : HELPER_NAMES[helperMethod]!;
  checkOptionsObject(called, options);
  const names = helperMethod === undefined ? REQUEST_OPTION_NAMES : JSON_OPTION_NAMES;
  checkKnownOptions(called, options, names);
  if (options.retry !== undefined && options.retry !== false) {
    throw new TypeError(
      `expected retry to be false (send the call once) or left out, got ${describeValue(options.retry)}`,
    );
  }
}

/**
 * Stored headers as undici gives them: a private cache keeps the cookies of a Set-Cookie field
 * joined in one string, and undici hands several out as an array.
 */
function withCookieList(headers: HeaderRecord): ResponseHeaders {
  const joined = headers['set-cookie'];
  if (joined === undefined) return headers;
  const cookies = splitSetCookie(joined);
  return { ...headers, 'set-cookie': cookies.length === 1 ? cookies[0] : cookies };
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
export function createHttpClient(
  options: HttpClientOptions & { readonly breaker: false },
): HttpClient<undefined>;
export function createHttpClient(
  options?: HttpClientOptions & { readonly breaker?: HttpBreakerOptions },
): HttpClient<BreakerRegistry>;
export function createHttpClient(options?: HttpClientOptions): HttpClient;
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new Client(parseOptions(options));
}
