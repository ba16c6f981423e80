import {
  type AnyPolicy,
  type Clock,
  type Pipeline,
  isBulkheadRejectedError,
  pipeline,
} from '@bulwark/core';
import {
  Context,
  Scope,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  terminal,
} from '@bulwark/core/internal';
import type { HttpCache } from '@bulwark/cache';
import type { FallbackArgs, FallbackClassifier } from '@bulwark/fallback';
import {
  type HttpResponse,
  HttpStatusError,
  type HttpStreamResponse,
  type QueryValue,
} from '@bulwark/http-client';
import {
  DEFAULT_RETRY_STATUSES,
  IDEMPOTENT_METHODS,
  KEYED_METHODS,
  cachedResponse,
  formatIdempotencyKey,
  generateIdempotencyKey,
  isOriginFailure,
} from '@bulwark/http-client/internal';
import {
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  exponentialBackoff,
  fallback,
  hedging,
  retry,
  standardOrder,
  type StandardStages,
} from '@bulwark/resilience';
import { type DelayHintFn, type RetryBudget, defaultDelayHint } from '@bulwark/retry';
import { MAX_TIMEOUT_MS, deadline } from '@bulwark/timeout';
import type { Balancer } from './balancer.js';
import {
  CallPass,
  type OperationParts,
  type PreparedCall,
  type ServiceParts,
} from './call-pass.js';
import { neverSent, serviceRetryClassifier } from './classify.js';
import type { EndpointSet } from './endpoint-set.js';
import { isNoEndpointsAvailableError } from './errors.js';
import type { ServiceClientListener } from './events.js';
import {
  type HedgeOverrides,
  type RetryOverrides,
  type ServiceSettings,
  checkHedgeOverrides,
  checkNested,
  checkRetryOverrides,
  optionNames,
  shown,
} from './options.js';
import { type PathParamNames, type PathParams, PathTemplate } from './path-template.js';

/** What messages about an operation's definition name. */
const DEFINE = 'operation';
const JSON_TYPE = 'application/json';
/** Stands for "the caller's signal" when a call has none, so the cache can tell it from a background revalidation's. */
const NO_SIGNAL = new AbortController().signal;
/** Methods that carry no request body. */
const BODILESS_METHODS = new Set(['GET', 'HEAD']);
/** Methods the cache serves by default. */
const CACHED_METHODS = new Set(['GET', 'HEAD']);
const OPERATION_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
/** Both are descriptions without state of their own: one serves every operation. */
const DEFAULT_BACKOFF = exponentialBackoff({
  initialDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
  maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
});

/** An answer of last resort for an operation's failures: a value, or a function run once. */
export type OperationFallback<TResponse> =
  | {
      readonly value: TResponse;
      /** Which failures it answers for. Default: every thrown error. */
      readonly when?: FallbackClassifier;
    }
  | {
      readonly fn: (args: FallbackArgs) => TResponse | PromiseLike<TResponse>;
      /** The function's time limit (ms). Default 1 000. */
      readonly timeoutMs?: number;
      readonly when?: FallbackClassifier;
    };

interface DefinitionBase<TPath extends string> {
  /** `getItem`: the operation is `<service>.getItem` in metrics, spans and errors. */
  name: string;
  /** Default `GET`. */
  method?: string;
  /** `/items/:id`: each `:name` segment is a parameter, given per call in `params`. */
  path: TPath;
  /** Headers of every call of the operation, over the service's. */
  headers?: Readonly<Record<string, string>>;
  /** Each attempt's time limit (ms), or `false`. Default: the service's `timeoutMs`. */
  timeoutMs?: number | false;
  /** The whole call's budget (ms), or `false`. Default: the service's `deadlineMs`. */
  deadlineMs?: number | false;
  /** Retries over the service's, or `false`. Default: the service's. */
  retry?: false | RetryOverrides;
  /**
   * Hedged attempts: `true` (the service's hedging settings) or settings over them. Only for an
   * operation safe to repeat: an idempotent method, `idempotent: true`, or `idempotencyKey:
   * 'auto'`. Default: the service's `hedge` for such operations, else off.
   */
  hedge?: boolean | HedgeOverrides;
  /** Safe to repeat whatever its method (you acknowledge it). Default: by method (RFC 9110). */
  idempotent?: boolean;
  /** `'auto'`: a POST or PATCH call carries a generated Idempotency-Key. Default: the service's. */
  idempotencyKey?: 'auto' | false;
  /** Largest response body (bytes). Default: the service's `maxBodyBytes`. */
  maxBodyBytes?: number;
}

/** An operation answered with JSON, parsed (and checked by `parse`, when given) into `TResponse`. */
export interface OperationDefinition<
  TResponse = unknown,
  TPath extends string = string,
> extends DefinitionBase<TPath> {
  /** Turns the parsed JSON body into the operation's type (a schema's parse, a check of yours). */
  parse?: (body: unknown) => TResponse;
  /** Serve from the service's cache (RFC 9111). Default: on for GET and HEAD when the service has a cache. */
  cache?: boolean;
  /** An answer of last resort (after a stale cached response, when one may stand in). */
  fallback?: OperationFallback<TResponse>;
  stream?: false;
}

/** An operation answered at the response headers, with the body as a stream. */
export interface StreamOperationDefinition<
  TPath extends string = string,
> extends DefinitionBase<TPath> {
  stream: true;
}

/** What one call of an operation says. */
export interface CallOptions<TPath extends string = string, TBody = unknown> {
  /** The path's parameters: each one, strings or finite numbers. */
  params?: PathParams<TPath>;
  /** Appended to the path (`undefined` values are left out). */
  query?: Readonly<Record<string, QueryValue>>;
  /** Sent as JSON. Not for GET or HEAD. */
  body?: TBody;
  /** This call's headers, over the operation's. */
  headers?: Readonly<Record<string, string>>;
  /** Aborts the call: its attempts, its waits, and a streamed body. */
  signal?: AbortSignal;
  /** A budget for this call (ms): the shorter of it and the operation's deadline wins. */
  timeoutMs?: number;
  /** An absolute deadline on the client's clock. */
  deadline?: number;
  /** The Idempotency-Key of a POST or PATCH: a key, or `false` for none. Default: the operation's. */
  idempotencyKey?: string | false;
}

/** A call's arguments: required when the path has parameters. */
export type OperationArgs<TPath extends string, TBody> = [PathParamNames<TPath>] extends [never]
  ? [options?: CallOptions<TPath, TBody>]
  : [options: CallOptions<TPath, TBody> & { readonly params: PathParams<TPath> }];

/** An operation: call it to make one call through the service's pipeline. */
export interface Operation<TResponse, TPath extends string = string, TBody = unknown> {
  (...args: OperationArgs<TPath, TBody>): Promise<TResponse>;
  /** `<service>.<name>`: the label in metrics and spans. */
  readonly operation: string;
  readonly method: string;
  readonly path: TPath;
}

const DEFINITION_NAMES = optionNames<Definition>({
  name: true,
  method: true,
  path: true,
  headers: true,
  timeoutMs: true,
  deadlineMs: true,
  retry: true,
  hedge: true,
  idempotent: true,
  idempotencyKey: true,
  maxBodyBytes: true,
  parse: true,
  cache: true,
  fallback: true,
  stream: true,
});

const CALL_NAMES = optionNames<CallOptions>({
  params: true,
  query: true,
  body: true,
  headers: true,
  signal: true,
  timeoutMs: true,
  deadline: true,
  idempotencyKey: true,
});

const FALLBACK_NAMES = ['value', 'fn', 'timeoutMs', 'when'];

/** The definition as given, with `stream` read as a boolean option like the others. */
type Definition = OperationDefinition & { stream?: boolean };

/** An operation's repeats: hedging or retry settings, at most one of them. */
interface RetryChoice {
  readonly hedge: HedgeOverrides | undefined;
  readonly retry: RetryOverrides | undefined;
}

/** What the service gives its operations. */
export interface OperationHost {
  readonly parts: ServiceParts;
  readonly settings: ServiceSettings;
  readonly set: EndpointSet;
  readonly balancer: Balancer;
  readonly budget: RetryBudget | undefined;
  /** The service's rate limit and bulkhead, shared by its operations. */
  readonly rateLimit: AnyPolicy | undefined;
  readonly bulkhead: AnyPolicy | undefined;
  /** The listener every policy reports to, when there is one. */
  readonly listener: ServiceClientListener | undefined;
  /** Headers of every request: the service's, and `host` for a DNS name. */
  readonly headers: Readonly<Record<string, string>>;
  /** The cache's URL of the service's root: `http://service.invalid/<name>`. */
  readonly cacheBase: string;
  /** The service's cache, made on first use when an operation asks for one. */
  cache(): HttpCache;
  readonly hasCache: boolean;
  tracedOperation(): AnyPolicy | undefined;
  tracedAttempt(): AnyPolicy | undefined;
  /** The deadline (on the client's clock) and signal of the work the caller is part of. */
  incoming(): { readonly deadline?: number; readonly signal?: AbortSignal } | undefined;
  /** Throws once the client is closed. */
  checkOpen(): void;
  /** Counts a call until it settles, so `close()` can wait for it. */
  track<T>(call: Promise<T>): Promise<T>;
}

/** One operation, built once from its definition: its pipelines and how its calls are prepared. */
export class OperationRuntime {
  readonly name: string;
  readonly method: string;
  private readonly template: PathTemplate;
  private readonly parts: OperationParts;
  /** Idempotent by method or by the definition's word. */
  private readonly idempotent: boolean;
  /** A POST or PATCH whose calls carry a generated key unless they say otherwise. */
  private readonly autoKey: boolean;
  private readonly keyed: boolean;
  private readonly cached: boolean;
  private readonly parse: ((body: unknown) => unknown) | undefined;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly deadlineMs: number | undefined;
  /** Limit, deadline and fallback; the cache step, then {@link OperationRuntime.back}. */
  private readonly front: Pipeline;
  /** The front with a deadline that enforces a call's own, for an operation without one. */
  private frontBounded: Pipeline | undefined = undefined;
  private readonly frontPolicies: StandardStages;
  /** Retry or hedging, then each attempt. */
  private readonly back: Pipeline;

  constructor(
    private readonly host: OperationHost,
    definition: OperationDefinition | StreamOperationDefinition,
  ) {
    // Each option is checked as it is read: of two mistakes, the one named is the first here.
    const d = checkDefinition(definition);
    const { settings } = host;
    this.name = `${settings.name}.${checkOperationName(d.name)}`;
    this.method = parseMethod(d.method);
    this.template = new PathTemplate(d.path, 'path');
    const stream = checkOptionalBoolean('stream', d.stream) ?? false;
    this.idempotent =
      checkOptionalBoolean('idempotent', d.idempotent) ?? IDEMPOTENT_METHODS.includes(this.method);
    this.keyed = KEYED_METHODS.includes(this.method);
    const keyOption = checkKeyOption(d.idempotencyKey ?? settings.idempotencyKey);
    this.autoKey = keyOption === 'auto' && this.keyed;
    const repeats = this.retryOrHedge(d.retry, d.hedge);
    this.cached = this.cacheChoice(d.cache, stream);
    this.parse = checkParse(d.parse, stream);
    this.headers = operationHeaders(host.headers, d.headers, stream);
    const timeoutMs = optionalMs('timeoutMs', d.timeoutMs);
    this.deadlineMs = deadlineChoice(d.deadlineMs, settings.deadlineMs);
    if (d.maxBodyBytes !== undefined) checkInteger('maxBodyBytes', d.maxBodyBytes, 0);
    this.parts = {
      name: this.name,
      method: this.method,
      retryStatuses: statusTable(repeats.retry?.statuses ?? DEFAULT_RETRY_STATUSES),
      retries: repeats.retry !== undefined || repeats.hedge !== undefined,
      hedged: repeats.hedge !== undefined,
      stream,
      attemptTimeoutMs: timeoutMs,
      maxBodyBytes: d.maxBodyBytes,
    };
    this.frontPolicies = this.frontStages(d.fallback, stream);
    this.front = this.frontPipeline(this.frontPolicies);
    this.back = pipeline(
      { clock: settings.clock },
      ...standardOrder({ retry: this.retryPolicy(repeats), perAttempt: host.tracedAttempt() }),
    );
  }

  /**
   * A failure that never reached its endpoint (an open breaker, a refused connection) is tried
   * on another endpoint at once, when one is in rotation: there is nothing to wait out. Any
   * other failure waits for the server's hint (Retry-After) or the backoff.
   */
  private readonly delayHint: DelayHintFn = (args) => {
    const { error, isResult } = args;
    if (!isResult && neverSent(error)) {
      const origin =
        (error as { key?: unknown; origin?: unknown }).key ??
        (error as { origin?: unknown }).origin;
      if (this.host.balancer.hasAlternative(typeof origin === 'string' ? origin : undefined))
        return 0;
    }
    return defaultDelayHint(args);
  };

  /** One call: checked, prepared, then run through the pipelines. */
  call(options: CallOptions | undefined): Promise<unknown> {
    const host = this.host;
    try {
      host.checkOpen();
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    return host.track(this.run(options));
  }

  private async run(options: CallOptions | undefined): Promise<unknown> {
    if (options !== undefined) {
      checkOptionsObject(this.name, options);
      checkKnownOptions(this.name, options, CALL_NAMES);
    }
    const call = this.prepare(options ?? {});
    const { clock } = this.host.settings;
    let until = callDeadline(options, clock);
    let signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`expected signal to be an AbortSignal, got ${describeValue(signal)}`);
    }
    const incoming = this.host.incoming();
    if (incoming !== undefined) {
      if (incoming.deadline !== undefined) until = Math.min(until, incoming.deadline);
      signal = eitherSignal(signal, incoming.signal);
    }
    const prepared: PreparedCall = signal === call.signal ? call : { ...call, signal };
    const fn = (context: unknown) => this.answer(prepared, context as Context);
    const context = new Context(fn, Scope.from(signal), 1, until, this.name, clock, false);
    return this.frontFor(until).invoke(context, terminal);
  }

  private frontFor(until: number): Pipeline {
    if (until === Infinity || this.deadlineMs !== undefined) return this.front;
    if (this.frontBounded === undefined) {
      // No deadline of the operation's: one that enforces the call's own, at its full length.
      const { clock, name } = this.host.settings;
      const listener = this.host.listener;
      this.frontBounded = this.frontPipeline({
        ...this.frontPolicies,
        deadline: deadline(MAX_TIMEOUT_MS, { clock, listener, name }),
      });
    }
    return this.frontBounded;
  }

  /** The caller's answer: the response (streamed), or the parsed JSON of a 2xx. */
  private async answer(call: PreparedCall, context: Context): Promise<unknown> {
    const set = this.host.set;
    if (!set.known) await set.ready;
    const { response, origin } = this.cached
      ? await this.throughCache(call, context)
      : await this.pass(call, call.headers, context.scope, context.deadline);
    if (this.parts.stream) return response;
    const answer = response as HttpResponse;
    if (!answer.ok) throw new HttpStatusError(answer, this.method, origin);
    const value: unknown = answer.json();
    return this.parse === undefined ? value : this.parse(value);
  }

  /** One pass through retry or hedging and the attempts. */
  private async pass(
    call: PreparedCall,
    headers: Readonly<Record<string, string>>,
    scope: Scope,
    until: number,
  ): Promise<{ response: HttpResponse | HttpStreamResponse; origin: string }> {
    const host = this.host;
    const pass = new CallPass(host.parts, this.parts, call, headers);
    const context = new Context(pass.fn, scope, 1, until, this.name, host.settings.clock, false);
    let result: unknown;
    try {
      result = await this.back.invoke(context, terminal);
    } catch (error: unknown) {
      throw pass.callerError(error);
    }
    const response = await pass.callerResponse(result as HttpResponse | HttpStreamResponse);
    return { response, origin: pass.origin };
  }

  /**
   * Through the service's cache: a fresh hit answers without the network; a miss or a
   * revalidation makes a pass; when the pass fails (retries spent, every endpoint out, the
   * deadline), a stale response may stand in (stale-if-error) before any fallback is asked.
   */
  private async throughCache(
    call: PreparedCall,
    context: Context,
  ): Promise<{ response: HttpResponse; origin: string }> {
    const host = this.host;
    let last: HttpResponse | undefined;
    let origin = host.cacheBase;
    const result = await host.cache().handle(
      { method: this.method, url: host.cacheBase + call.path, headers: call.headers },
      async (request) => {
        // The caller's pass has its signal; a background revalidation has none, and runs
        // after the caller got its answer: it gets a deadline of its own.
        const foreground = request.signal !== undefined;
        const { clock } = host.settings;
        const until = foreground
          ? context.deadline
          : this.deadlineMs === undefined
            ? Infinity
            : clock.now() + this.deadlineMs;
        const passed = await this.pass(
          call,
          request.headers,
          foreground ? context.scope : Scope.never,
          until,
        );
        last = passed.response as HttpResponse;
        origin = passed.origin;
        return last;
      },
      { signal: call.signal ?? NO_SIGNAL, operation: this.name },
    );
    if (result.cacheStatus === 'stale-if-error' && !isStandIn(result.failure)) {
      // Not the service failing (a body over the limit...): no stand-in.
      throw result.failure;
    }
    return { response: cachedResponse(result, last), origin };
  }

  /** A call's request: path, headers (with its key), body, and whether it may be sent again. */
  private prepare(options: CallOptions): PreparedCall {
    let path = this.template.expand(options.params, this.name);
    if (options.query !== undefined) path = withQuery(path, options.query);
    let headers = this.headers;
    if (options.headers !== undefined) {
      checkHeaders('headers', options.headers);
      headers = mergeHeaders(headers, options.headers, undefined);
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      if (BODILESS_METHODS.has(this.method)) {
        throw new TypeError(`expected no body for ${this.method} ${this.name}, got one`);
      }
      body = JSON.stringify(options.body);
      if (headers['content-type'] === undefined) {
        headers = mergeHeaders(headers, { 'content-type': JSON_TYPE }, undefined);
      }
    }
    const keyHeader = this.host.settings.idempotencyKeyHeader;
    let hasKey = headers[keyHeader] !== undefined;
    if (this.keyed && !hasKey) {
      const key = this.idempotencyKey(options.idempotencyKey);
      if (key !== undefined) {
        headers = mergeHeaders(headers, { [keyHeader]: key }, undefined);
        hasKey = true;
      }
    }
    if (this.parts.hedged && !this.idempotent && !hasKey) {
      throw new TypeError(
        `expected a call of ${this.name}, which hedges, to carry its Idempotency-Key, got idempotencyKey: false`,
      );
    }
    const repeatable = this.idempotent || (this.keyed && hasKey);
    return { path, headers, body, repeatable, idempotent: this.idempotent, signal: options.signal };
  }

  /** The call's key, as an RFC 8941 string: its own, a generated one, or none. */
  private idempotencyKey(requested: string | false | undefined): string | undefined {
    if (requested === false) return undefined;
    if (requested === undefined) return this.autoKey ? generateIdempotencyKey() : undefined;
    return formatIdempotencyKey(requested);
  }

  /** Hedging when the operation has it (then no retry may be given), else the retry settings. */
  private retryOrHedge(retryOption: unknown, hedgeOption: unknown): RetryChoice {
    const safe = this.idempotent || this.autoKey;
    const hedge = this.hedgeSettings(hedgeOption, safe);
    const retrySettings = hedge === undefined ? this.retrySettings(retryOption) : undefined;
    if (hedge !== undefined && retryOption !== undefined && retryOption !== false) {
      throw new TypeError(`expected retry or hedge for ${this.name}, got both`);
    }
    return { hedge, retry: retrySettings };
  }

  private hedgeSettings(value: unknown, safe: boolean): HedgeOverrides | undefined {
    const service = this.host.settings.hedge;
    if (value === undefined) return service !== false && safe ? service : undefined;
    checkHedgeOverrides(DEFINE, 'hedge', value);
    if (value === false) return undefined;
    if (!safe) {
      throw new TypeError(
        `expected hedge only for an operation safe to repeat (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, idempotent: true, or idempotencyKey: 'auto'), got hedge with ${this.method} ${this.name}`,
      );
    }
    const own = value === true ? {} : (value as HedgeOverrides);
    return { ...(service === false ? {} : service), ...own };
  }

  private retrySettings(value: unknown): RetryOverrides | undefined {
    const service = this.host.settings.retry;
    if (value === undefined) return service === false ? undefined : service;
    checkRetryOverrides(DEFINE, 'retry', value);
    if (value === false) return undefined;
    return { ...(service === false ? {} : service), ...(value as RetryOverrides) };
  }

  private cacheChoice(value: unknown, stream: boolean): boolean {
    const wanted = checkOptionalBoolean('cache', value);
    if (wanted === true && stream) {
      throw new TypeError(
        'expected cache only for a JSON operation (a cache reads the whole body), got it with stream: true',
      );
    }
    if (wanted !== undefined) return wanted;
    return this.host.hasCache && !stream && CACHED_METHODS.has(this.method);
  }

  /** The stages before the cache step: the service's tracing and limits, deadline, fallback. */
  private frontStages(fallbackOption: unknown, stream: boolean): StandardStages {
    const host = this.host;
    const { clock, name } = host.settings;
    const listener = host.listener;
    return {
      outer: host.tracedOperation(),
      rateLimit: host.rateLimit,
      bulkhead: host.bulkhead,
      deadline:
        this.deadlineMs === undefined
          ? undefined
          : deadline(this.deadlineMs, { clock, listener, name }),
      fallback:
        fallbackOption === undefined ? undefined : this.fallbackPolicy(fallbackOption, stream),
    };
  }

  private frontPipeline(stages: StandardStages): Pipeline {
    const { clock } = this.host.settings;
    return pipeline(
      { operation: this.name, listener: this.host.listener, clock },
      ...standardOrder(stages),
    );
  }

  /** The hedging or the retry of {@link OperationRuntime.back}, on the service's budget; or none. */
  private retryPolicy(choice: RetryChoice): AnyPolicy | undefined {
    const { budget, listener } = this.host;
    const { clock, name } = this.host.settings;
    if (choice.hedge !== undefined) {
      return hedging({
        idempotent: true,
        ...choice.hedge,
        classify: serviceRetryClassifier,
        budget,
        name,
        listener,
        clock,
      });
    }
    const overrides = choice.retry;
    if (overrides === undefined) return undefined;
    return retry({
      maxAttempts: overrides.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      backoff: overrides.backoff ?? DEFAULT_BACKOFF,
      maxDelayMs: overrides.maxDelayMs,
      maxHintMs: overrides.maxHintMs,
      random: overrides.random,
      classify: serviceRetryClassifier,
      delayHint: this.delayHint,
      budget,
      name,
      listener,
      clock,
    });
  }

  private fallbackPolicy(value: unknown, stream: boolean): AnyPolicy {
    if (stream)
      throw new TypeError('expected fallback only for a JSON operation, got it with stream: true');
    checkNested(DEFINE, 'fallback', value, FALLBACK_NAMES);
    const { clock, name } = this.host.settings;
    // fallback() checks the rest: exactly one of value and fn, the time limit, the classifier.
    return fallback({
      ...(value as object),
      name,
      listener: this.host.listener,
      clock,
    } as Parameters<typeof fallback>[0]);
  }
}

/** Builds the callable operation over its runtime. */
export function operationFunction(runtime: OperationRuntime, path: string): Operation<unknown> {
  const call = (options?: CallOptions) => runtime.call(options);
  return Object.defineProperties(call, {
    operation: { value: runtime.name, enumerable: true },
    method: { value: runtime.method, enumerable: true },
    path: { value: path, enumerable: true },
  }) as unknown as Operation<unknown>;
}

/** Failures a stale cached response may stand in for: the service's, not the caller's. */
function isStandIn(failure: unknown): boolean {
  return (
    isOriginFailure(failure) ||
    isNoEndpointsAvailableError(failure) ||
    isBulkheadRejectedError(failure)
  );
}

function checkDefinition(definition: unknown): Definition {
  checkOptionsObject(DEFINE, definition);
  checkKnownOptions(DEFINE, definition, DEFINITION_NAMES);
  return definition as Definition;
}

function checkOperationName(value: unknown): string {
  checkString('name', value, 64);
  if (!OPERATION_NAME.test(value)) {
    throw new TypeError(
      `expected name to be letters, digits, _, . and - (a metrics label), starting with a letter, got ${describeValue(value)}`,
    );
  }
  return value;
}

function parseMethod(value: unknown): string {
  if (value === undefined) return 'GET';
  checkString('method', value, 32);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) {
    throw new TypeError(`expected method to be an HTTP method, got ${describeValue(value)}`);
  }
  const method = value.toUpperCase();
  if (method === 'CONNECT') {
    throw new TypeError(
      'expected a method other than CONNECT, which opens a tunnel, got "CONNECT"',
    );
  }
  return method;
}

function checkOptionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`expected ${name} to be a boolean, got ${describeValue(value)}`);
  }
  return value;
}

function checkKeyOption(value: unknown): 'auto' | false {
  if (value !== 'auto' && value !== false) {
    throw new TypeError(`expected idempotencyKey to be 'auto' or false, got ${shown(value)}`);
  }
  return value;
}

function checkParse<T>(parse: T, stream: boolean): T {
  if (parse !== undefined) {
    if (stream)
      throw new TypeError('expected parse only for a JSON operation, got it with stream: true');
    checkFunction('parse', parse);
  }
  return parse;
}

/** The service's headers, the operation's over them, and `accept` for JSON unless one is given. */
function operationHeaders(
  service: Readonly<Record<string, string>>,
  own: unknown,
  stream: boolean,
): Record<string, string> {
  if (own !== undefined) checkHeaders('headers', own);
  return mergeHeaders(service, own, stream ? undefined : { accept: JSON_TYPE });
}

/** The operation's deadline (ms): its own, else the service's, else the default; none when off. */
function deadlineChoice(own: unknown, service: number | false | undefined): number | undefined {
  const ms = optionalMs('deadlineMs', own) ?? service ?? DEFAULT_DEADLINE_MS;
  return ms === false ? undefined : ms;
}

function optionalMs(name: string, value: unknown): number | false | undefined {
  if (value === undefined || value === false) return value;
  checkInteger(name, value, 1, MAX_TIMEOUT_MS);
  return value;
}

/** 1 at each status worth another attempt; past 599, a status counts as a 500 (RFC 9110 §15). */
function statusTable(statuses: readonly number[]): Uint8Array {
  const table = new Uint8Array(1000);
  for (const status of statuses) table[status] = 1;
  if (table[500] === 1) table.fill(1, 600);
  return table;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkHeaders(name: string, headers: unknown): asserts headers is Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new TypeError(
      `expected ${name} to be an object of header names and values, got ${describeValue(headers)}`,
    );
  }
  for (const [key, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(key)) {
      throw new TypeError(`expected ${name} to have HTTP header names, got ${describeValue(key)}`);
    }
    if (typeof value !== 'string') {
      throw new TypeError(`expected header ${key} to be a string, got ${describeValue(value)}`);
    }
  }
}

/** A copy of `base` with `over` and then `extra` on top, names in lower case. */
function mergeHeaders(
  base: Readonly<Record<string, string>>,
  over: Readonly<Record<string, string>> | undefined,
  extra: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in base) headers[name] = base[name]!;
  if (over !== undefined) for (const name in over) headers[name.toLowerCase()] = over[name]!;
  if (extra !== undefined) {
    for (const name in extra) if (headers[name] === undefined) headers[name] = extra[name]!;
  }
  return headers;
}

function withQuery(path: string, query: unknown): string {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new TypeError(`expected query to be an object, got ${describeValue(query)}`);
  }
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (
      typeof value !== 'string' &&
      typeof value !== 'boolean' &&
      !(typeof value === 'number' && Number.isFinite(value))
    ) {
      throw new TypeError(
        `expected query parameter "${name}" to be a string, a finite number or a boolean, got ${describeValue(value)}`,
      );
    }
    params.append(name, String(value));
  }
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** The call's own deadline on the client's clock: its `deadline` or `timeoutMs`, the sooner. */
function callDeadline(options: CallOptions | undefined, clock: Clock): number {
  if (options === undefined) return Infinity;
  let until = Infinity;
  if (options.deadline !== undefined) {
    if (typeof options.deadline !== 'number' || Number.isNaN(options.deadline)) {
      throw new TypeError(
        `expected deadline to be a number, got ${describeValue(options.deadline)}`,
      );
    }
    until = options.deadline;
  }
  if (options.timeoutMs !== undefined) {
    checkInteger('timeoutMs', options.timeoutMs, 1, MAX_TIMEOUT_MS);
    until = Math.min(until, clock.now() + options.timeoutMs);
  }
  return until;
}

function eitherSignal(
  own: AbortSignal | undefined,
  other: AbortSignal | undefined,
): AbortSignal | undefined {
  if (other === undefined || other === own) return own;
  return own === undefined ? other : AbortSignal.any([own, other]);
}
