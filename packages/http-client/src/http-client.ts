import { type Clock, systemClock } from '@bulwark/core';
import { type RequestContext, currentContext } from '@bulwark/correlation';
import {
  Scope,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  emit,
} from '@bulwark/core/internal';
import type { BreakerRegistry } from '@bulwark/circuit-breaker';
import { MAX_TIMEOUT_MS, type TimeoutPolicy, timeout } from '@bulwark/timeout';
import { Agent, type Dispatcher } from 'undici';
import { BodySource, type RequestBody } from './body.js';
import { bypassesCache, cachedCall, streamedUnsafeCall } from './cache-bridge.js';
import {
  type AttemptRequest,
  type AttemptSettings,
  CallAttempts,
  attemptSettings,
} from './call-attempts.js';
import { HttpStatusError } from './errors.js';
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
  checkOriginPolicies,
  originBreakers,
  sharedPolicies,
} from './origin-policies.js';
import type { ClientResponse, HttpResponse, HttpStreamResponse } from './response.js';
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
  /**
   * Each attempt's time limit (ms) for this call, or `false` for none, in place of the client's
   * `timeoutMs`. Default: the client's.
   */
  attemptTimeoutMs?: number | false;
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
  attemptTimeoutMs: true,
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
  attemptTimeoutMs: true,
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
/**
 * Attempt timeouts of requests that set their own, kept by duration: callers use a few durations
 * (one per operation), and a timeout policy shares one timer among the calls it limits.
 */
const MAX_KEPT_ATTEMPT_TIMEOUTS = 64;

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
  private readonly attemptTimeouts = new Map<number, TimeoutPolicy>();
  private readonly jsonHeaders: Readonly<Record<string, string>>;

  constructor(private readonly settings: ClientSettings) {
    this.ownsDispatcher = settings.dispatcher === undefined;
    this.dispatcher = settings.dispatcher ?? ownAgent(settings);
    this.breakers = originBreakers(settings);
    this.shared = sharedPolicies(settings, this.breakers);
    checkOriginPolicies(this.shared);
    this.attemptSettings = attemptSettings(settings, this.dispatcher);
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
  private send(
    url: string | URL,
    options: HttpRequestOptions | undefined,
    defaults: Readonly<Record<string, string>>,
    streaming: boolean,
    helperMethod?: string,
    data?: unknown,
  ): Promise<unknown> {
    let request: PreparedRequest;
    let call: CallState;
    // Not an async function: one returning answer()'s promise would wrap it in another.
    try {
      if (this.closed) throw new Error('the HTTP client is closed');
      if (options !== undefined) checkCallOptions(options, streaming, helperMethod);
      const requestOptions = options ?? NO_OPTIONS;
      request = this.prepare(url, requestOptions, defaults, streaming, helperMethod, data);
      call = this.callState(requestOptions, request);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    const json = helperMethod !== undefined;
    if (this.settings.listener === undefined) return this.answer(request, call, json);
    return this.measuredAnswer(request, call, json);
  }

  /** {@link Client.answer}, timed and reported to the client's listener. */
  private async measuredAnswer(
    request: PreparedRequest,
    call: CallState,
    json: boolean,
  ): Promise<unknown> {
    const clock = this.settings.clock;
    const start = clock.now();
    let answer: unknown;
    try {
      answer = await this.answer(request, call, json);
    } catch (error: unknown) {
      this.reportFailedCall(call, clock.now() - start, error);
      throw error;
    }
    call.policies.reportCall(call.operation, clock.now() - start);
    return answer;
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
    const method = helperMethod ?? requestMethod(options.method);
    const json = helperMethod === undefined ? options.json : data;
    const { origin, path } = resolveTarget(url, this.settings.base, options.query);
    // The client's headers, the request's, then what the client owns (content type, key).
    let headers = defaults;
    if (options.headers !== undefined) {
      headers = copyHeaders(defaults, lowerHeaders('headers', options.headers));
    }
    const body = requestBody(options, json, helperMethod);
    if (json !== undefined && headers['content-type'] === undefined) {
      headers = copyHeaders(headers, { 'content-type': JSON_TYPE });
    }
    headers = this.withIdempotencyKey(headers, method, options.idempotencyKey);
    const maxBodyBytes = this.maxBodyBytes(options.maxBodyBytes);
    const mayRetry = this.mayRetry(method, headers, options.retry);
    const timeout = this.attemptTimeout(options.attemptTimeoutMs);
    return { method, origin, path, headers, body, mayRetry, streaming, maxBodyBytes, timeout };
  }

  /** The attempt timeout of a call: the client's, or the call's own `attemptTimeoutMs`. */
  private attemptTimeout(requested: number | false | undefined): TimeoutPolicy | undefined {
    if (requested === undefined) return this.attemptSettings.timeout;
    if (requested === false) return undefined;
    checkInteger('attemptTimeoutMs', requested, 1, MAX_TIMEOUT_MS);
    let policy = this.attemptTimeouts.get(requested);
    if (policy === undefined) {
      const { clock, listener, name } = this.settings;
      policy = timeout(requested, { clock, listener, name });
      if (this.attemptTimeouts.size < MAX_KEPT_ATTEMPT_TIMEOUTS) {
        this.attemptTimeouts.set(requested, policy);
      }
    }
    return policy;
  }

  /** A POST or PATCH gets the call's key, or the client's automatic one, unless it has one. */
  private withIdempotencyKey(
    headers: Readonly<Record<string, string>>,
    method: string,
    requested: string | false | undefined,
  ): Readonly<Record<string, string>> {
    const { keyHeader, autoKey } = this.settings;
    if (headers[keyHeader] !== undefined || !isKeyedMethod(method)) return headers;
    const key = requested ?? (autoKey ? 'auto' : false);
    if (key === false) return headers;
    const value = key === 'auto' ? generateIdempotencyKey() : formatIdempotencyKey(key);
    return copyHeaders(headers, { [keyHeader]: value });
  }

  private maxBodyBytes(requested: number | undefined): number {
    if (requested === undefined) return this.settings.maxBodyBytes;
    checkInteger('maxBodyBytes', requested, 0);
    return requested;
  }

  /**
   * Whether a failure may be retried at all: the client retries, the call did not say
   * `retry: false`, and the method is idempotent, or keyed and carrying a key (RFC 9110 §9.2.2).
   */
  private mayRetry(
    method: string,
    headers: Readonly<Record<string, string>>,
    retry: false | undefined,
  ): boolean {
    if (this.settings.retry === undefined || retry === false) return false;
    const hasKey = headers[this.settings.keyHeader] !== undefined;
    return isIdempotentMethod(method) || (hasKey && isKeyedMethod(method));
  }

  /** What every pipeline pass of the call shares: its policies, name, deadline and signal. */
  private callState(options: HttpRequestOptions, request: PreparedRequest): CallState {
    const policies = this.policiesFor(request.origin);
    const operation = this.operationName(options.operation, policies, request.method);
    // The deadline and cancellation: the request's own, and those of the work it is part of.
    let until = requestDeadline(options, this.settings.clock);
    let signal = options.signal;
    const requestContext = this.settings.correlation === undefined ? undefined : currentContext();
    const incoming = this.incomingContext(requestContext);
    if (incoming !== undefined) {
      if (incoming.deadline !== undefined) until = Math.min(until, incoming.deadline);
      signal = eitherSignal(signal, incoming.signal);
    }
    return { until, signal, operation, policies, requestContext };
  }

  /** The call's `operation`, else the client's, else `METHOD origin`. */
  private operationName(
    requested: string | undefined,
    policies: OriginPolicies,
    method: string,
  ): string {
    if (requested === undefined) return this.settings.operation ?? policies.operation(method);
    checkString('operation', requested);
    return requested;
  }

  /**
   * The deadline and signal of the work the call is part of: the client's `context` getter, when
   * given, replaces the correlation context's.
   */
  private incomingContext(requestContext: RequestContext | undefined): IncomingContext | undefined {
    const settings = this.settings;
    if (settings.context !== undefined) return settings.context();
    if (requestContext === undefined) return undefined;
    return fromRequestContext(requestContext, settings.clock);
  }

  /** The answer to a call: the response, or a JSON helper's parsed body. */
  private answer(request: PreparedRequest, call: CallState, json: boolean): Promise<unknown> {
    const response = this.respond(request, call);
    return json ? response.then((answered) => jsonAnswer(answered, request)) : response;
  }

  /** The response to a call: through the cache when there is one and the call can use it. */
  private respond(request: PreparedRequest, call: CallState): Promise<ClientResponse> {
    const cache = this.settings.cache;
    if (cache === undefined || bypassesCache(request)) {
      return this.run(request, request.headers, call.signal, call);
    }
    return request.streaming
      ? streamedUnsafeCall(cache, this, request, call)
      : cachedCall(cache, this, request, call);
  }

  /** One pass of a call through the resilience pipeline, with these request headers. */
  run(
    request: PreparedRequest,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
    call: CallState,
  ): Promise<ClientResponse> {
    const scope = Scope.from(signal);
    if (scope.canAbort) return this.runListening(request, headers, scope, call);
    let attempts: CallAttempts;
    let pending: Promise<unknown>;
    try {
      attempts = new CallAttempts(this.attemptSettings, request, headers, call.requestContext);
      const { until, operation } = call;
      pending = call.policies
        .pipelineFor(until !== Infinity)
        .runCall(attempts.fn, scope, until, operation);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    // Nothing to unsubscribe without a caller's signal: a .then, cheaper than an async frame.
    return pending.then(
      attempts.callerResponse.bind(attempts),
      attempts.callerFailed.bind(attempts),
    );
  }

  /** {@link Client.run} for a call with a signal of its own, which the attempts listen to. */
  private async runListening(
    request: PreparedRequest,
    headers: Readonly<Record<string, string>>,
    scope: Scope,
    call: CallState,
  ): Promise<ClientResponse> {
    const attempts = new CallAttempts(this.attemptSettings, request, headers, call.requestContext);
    const { until, operation } = call;
    const pipeline = call.policies.pipelineFor(until !== Infinity);
    // The caller's own signal is an AbortSignal already, so listening to it is cheap.
    let unsubscribe: (() => void) | undefined = scope.onAbort(() => attempts.callerAborted(scope));
    try {
      const response = attempts.callerResponse(
        await pipeline.runCall(attempts.fn, scope, until, operation),
      );
      if (request.streaming) {
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

  private reportFailedCall(call: CallState, durationMs: number, error: unknown): void {
    emit(this.settings.listener!, {
      type: 'call',
      policy: 'http-client',
      name: this.settings.name,
      operation: call.operation,
      outcome: 'failure',
      durationMs,
      error,
    });
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
export interface PreparedRequest extends AttemptRequest {
  readonly headers: Readonly<Record<string, string>>;
}

/** What every pipeline pass of one call shares. */
export interface CallState {
  readonly until: number;
  readonly signal: AbortSignal | undefined;
  readonly operation: string;
  readonly policies: OriginPolicies;
  readonly requestContext: RequestContext | undefined;
}

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

/** The request's own deadline on the client's clock: its `deadline` or `timeoutMs`, the sooner. */
function requestDeadline(options: HttpRequestOptions, clock: Clock): number {
  let until = options.deadline ?? Infinity;
  if (typeof until !== 'number' || Number.isNaN(until)) {
    throw new TypeError(`expected deadline to be a number, got ${describeValue(options.deadline)}`);
  }
  if (options.timeoutMs !== undefined) {
    checkInteger('timeoutMs', options.timeoutMs, 1, MAX_TIMEOUT_MS);
    until = Math.min(until, clock.now() + options.timeoutMs);
  }
  return until;
}

/** A JSON helper's answer: the parsed body of a 2xx response; any other status is an error. */
function jsonAnswer(response: ClientResponse, request: PreparedRequest): unknown {
  if (!response.ok) {
    throw new HttpStatusError(response as HttpResponse, request.method, request.origin);
  }
  return (response as HttpResponse).json();
}

/** A signal that aborts when either of two does. */
function eitherSignal(
  own: AbortSignal | undefined,
  other: AbortSignal | undefined,
): AbortSignal | undefined {
  if (other === undefined || other === own) return own;
  return own === undefined ? other : AbortSignal.any([own, other]);
}

/** The request's method, checked, in upper case; GET when it names none. */
function requestMethod(method: string | undefined): string {
  return method === undefined ? 'GET' : normalizeMethod(checkMethod(method));
}

/** The body: the JSON (a helper's data, or `json`), else the request's own `body`. */
function requestBody(
  options: HttpRequestOptions,
  json: unknown,
  helperMethod: string | undefined,
): BodySource {
  if (json !== undefined) {
    if (options.body !== undefined) throw new TypeError('expected either body or json, got both');
    return BodySource.bytes(JSON.stringify(json));
  }
  if (options.body !== undefined && helperMethod === undefined)
    return BodySource.from(options.body);
  return BodySource.none;
}

/** The client's own connection pool, when it was given no dispatcher. */
function ownAgent(settings: ClientSettings): Agent {
  return new Agent({
    connections: settings.connections,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    connect: { timeout: settings.connectTimeoutMs },
  });
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

function checkMethod(method: unknown): string {
  checkString('method', method, 32);
  if (method.toUpperCase() === 'CONNECT') {
    throw new TypeError(
      'expected a method other than CONNECT, which opens a tunnel, got "CONNECT"',
    );
  }
  return method;
}

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
