import { AsyncLocalStorage } from 'node:async_hooks';
import { type Clock, systemClock } from '@bulwark/core';
import {
  checkBoolean,
  checkFunction,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
  optionNames,
} from '@bulwark/core/internal';
import { invalidIdReason } from './correlation-id.js';
import { activeSpanContext } from './otel.js';
import { RANDOM_FLAG, SAMPLED_FLAG, generateTraceId } from './traceparent.js';
import { type TraceStateEntry, parseTracestate } from './tracestate.js';
import { uuidv7 } from './uuid-v7.js';

/** Where this request sits in its distributed trace (W3C Trace Context). */
export interface TraceContext {
  /** 32 lowercase hex digits: the same in every service the request touches. */
  readonly traceId: string;
  /** The caller's span ID from an inbound `traceparent`; undefined when this service began the trace. */
  readonly parentId: string | undefined;
  /**
   * The trace-flags byte: bit 0 (`SAMPLED_FLAG`) says the caller sampled (recorded) the trace,
   * bit 1 (`RANDOM_FLAG`) that the trace ID is random.
   */
  readonly flags: number;
  /** The inbound `tracestate` members, carried on to outbound calls unchanged. */
  readonly tracestate: readonly TraceStateEntry[] | undefined;
}

/** What Bulwark knows about the request being served, kept in AsyncLocalStorage. */
export interface RequestContext {
  /** The ID that ties every log line and span of this request together. */
  readonly correlationId: string;
  readonly trace: TraceContext;
  /**
   * When the caller stops waiting: absolute, in milliseconds of the system clock
   * (`performance.now()`, like a pipeline's `ctx.deadline`); `Infinity` for none.
   */
  readonly deadline: number;
  /**
   * Aborts when the work of this request should stop (the caller went away), when the server
   * framework provides one. `@bulwark/http-client` ends the calls made for the request with it.
   */
  readonly signal?: AbortSignal;
  /** Whatever the application attaches to the request (user, tenant...). Never sent on the wire. */
  readonly baggage: Readonly<Record<string, string>>;
}

export interface RequestContextOptions {
  /** The correlation ID; must be 1–128 of `[A-Za-z0-9._:-]`. Default: a new one from `generateId`. */
  correlationId?: string;
  /** The trace this request belongs to. Default: the active OpenTelemetry span's, else a new trace. */
  trace?: TraceContext;
  /** Absolute deadline on the system clock. Default `Infinity`. */
  deadline?: number;
  /** Application values for the request. Default none. */
  baggage?: Readonly<Record<string, string>>;
  /** Aborts when the work should stop. Default none. */
  signal?: AbortSignal;
  /** Makes new correlation IDs. Default {@link uuidv7}. */
  generateId?: () => string;
  /** Whether a trace this service begins is marked sampled. Default false. */
  sampled?: boolean;
}

const OPTION_NAMES = optionNames<RequestContextOptions>({
  correlationId: true,
  trace: true,
  deadline: true,
  baggage: true,
  signal: true,
  generateId: true,
  sampled: true,
});

// One store per process, even when two copies of this package are installed: a context set by
// one copy's middleware must be visible to the other copy's HTTP client.
const STORAGE_KEY = Symbol.for('bulwark.correlation.storage');
const registry = globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<RequestContext> };
const storage = (registry[STORAGE_KEY] ??= new AsyncLocalStorage<RequestContext>());

export const NO_BAGGAGE: Readonly<Record<string, string>> = Object.freeze({});

/** Runs `fn` with `context` as the current request context, through every await and callback it starts. */
export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The request context of the code running now, or undefined outside any request. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` in a copy of the current context with `baggage` added (later values win). Throws
 * outside a request context: there is nothing to add to.
 */
export function withBaggage<T>(baggage: Readonly<Record<string, string>>, fn: () => T): T {
  const current = storage.getStore();
  if (current === undefined) {
    throw new Error('withBaggage() needs a request context: call it inside runWithContext()');
  }
  checkBaggage(baggage);
  return storage.run({ ...current, baggage: { ...current.baggage, ...baggage } }, fn);
}

/** Milliseconds left before the context's deadline (`Infinity` when none, never negative). */
export function remainingMs(
  context: RequestContext | undefined = storage.getStore(),
  clock: Clock = systemClock,
): number {
  if (context === undefined || context.deadline === Infinity) return Infinity;
  const left = context.deadline - clock.now();
  return left > 0 ? left : 0;
}

/** A request context for work that did not arrive as a request: a job, a queue message, a test. */
export function createRequestContext(options: RequestContextOptions = {}): RequestContext {
  checkOptionsObject('createRequestContext', options);
  checkKnownOptions('createRequestContext', options, OPTION_NAMES);
  const generateId = options.generateId ?? uuidv7;
  if (options.generateId !== undefined) checkFunction('generateId', options.generateId);
  if (options.sampled !== undefined) checkBoolean('sampled', options.sampled);
  if (options.deadline !== undefined) checkDeadline(options.deadline);
  if (options.baggage !== undefined) checkBaggage(options.baggage);
  if (options.signal !== undefined) checkSignal(options.signal);
  let correlationId: string;
  if (options.correlationId === undefined) {
    correlationId = newCorrelationId(generateId);
  } else {
    checkCorrelationId('correlationId', options.correlationId);
    correlationId = options.correlationId;
  }
  const context: RequestContext = {
    correlationId,
    trace: options.trace ?? traceFromActiveSpan() ?? newTrace(options.sampled ?? false),
    deadline: options.deadline ?? Infinity,
    baggage: options.baggage === undefined ? NO_BAGGAGE : { ...options.baggage },
  };
  // Only when given: a context without a signal keeps the shape it always had.
  return options.signal === undefined ? context : { ...context, signal: options.signal };
}

/** A generated ID, checked: a custom generator must keep to the accepted shape. */
export function newCorrelationId(generateId: () => string): string {
  // The built-in generator's IDs are valid by construction: only an app's own are checked.
  if (generateId === uuidv7) return uuidv7();
  const id = generateId();
  checkCorrelationId('the ID from generateId', id);
  return id;
}

/** A trace this service begins: its ID is random throughout, and says so. */
export function newTrace(sampled: boolean): TraceContext {
  return {
    traceId: generateTraceId(),
    parentId: undefined,
    flags: sampled ? SAMPLED_FLAG | RANDOM_FLAG : RANDOM_FLAG,
    tracestate: undefined,
  };
}

/**
 * The trace of the active OpenTelemetry span, so that a context made inside a span
 * (a server span of OTel's HTTP instrumentation) names the trace OTel records.
 */
export function traceFromActiveSpan(): TraceContext | undefined {
  const span = activeSpanContext();
  if (span === undefined) return undefined;
  const state = span.traceState?.serialize();
  return {
    traceId: span.traceId,
    parentId: undefined,
    // Whether OTel's trace ID is random is OTel's to say: keep its random bit, set or not.
    flags: span.traceFlags & (SAMPLED_FLAG | RANDOM_FLAG),
    tracestate: state === undefined || state === '' ? undefined : parseTracestate(state),
  };
}

function checkCorrelationId(name: string, value: unknown): asserts value is string {
  const reason = invalidIdReason(value);
  if (reason === undefined) return;
  const expected = `expected ${name} to be 1 to 128 characters of [A-Za-z0-9._:-]`;
  // The value may have come from a request: say what is wrong with it, never what it is.
  if (typeof value !== 'string') throw new TypeError(`${expected}, got ${describeValue(value)}`);
  if (reason === 'empty') throw new TypeError(`${expected}, got an empty string`);
  if (reason === 'too-long') {
    throw new RangeError(`${expected}, got a string of ${value.length} characters`);
  }
  throw new RangeError(`${expected}, got a string with other characters`);
}

export function checkDeadline(value: unknown): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(
      `expected deadline to be a number (Infinity for none), got ${describeValue(value)}`,
    );
  }
}

export function checkSignal(value: unknown): void {
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(`expected signal to be an AbortSignal, got ${describeValue(value)}`);
  }
}

export function checkBaggage(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected baggage to be an object, got ${describeValue(value)}`);
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new TypeError(`expected baggage.${key} to be a string, got ${describeValue(entry)}`);
    }
  }
}
