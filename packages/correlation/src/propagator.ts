import {
  type Context as OtelContext,
  type TextMapSetter,
  context as otelContext,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
  optionNames,
} from '@bulwark/core/internal';
import { type InvalidIdReason, invalidIdReason } from './correlation-id.js';
import { type InboundHeaders, type OutboundHeaders, readHeader, writeHeader } from './headers.js';
import {
  type RequestContext,
  NO_BAGGAGE,
  type TraceContext,
  checkBaggage,
  checkDeadline,
  checkSignal,
  currentContext,
  newCorrelationId,
  newTrace,
  traceFromActiveSpan,
} from './request-context.js';
import { formatTraceparent, generateSpanId, parseTraceparent } from './traceparent.js';
import {
  MAX_TRACESTATE_LENGTH,
  type TraceStateEntry,
  formatTracestate,
  parseTracestate,
} from './tracestate.js';
import { uuidv7 } from './uuid-v7.js';

/** Headers a correlation ID is read from, in order: the first valid one wins. */
export const DEFAULT_CORRELATION_HEADERS: readonly string[] = ['x-request-id', 'x-correlation-id'];

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
// RFC 9110 token characters, lowercase: what a header name may be.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** What `onInvalidId` is told. The refused value is left out on purpose: it must not reach a log. */
export interface InvalidIdArgs {
  /** The header the refused value came in. */
  readonly header: string;
  readonly reason: InvalidIdReason;
}

export interface CorrelationPropagatorOptions {
  /** Inbound headers that may carry the correlation ID, lowercase, in order of preference. */
  headers?: readonly string[];
  /** The header outbound calls carry the correlation ID in. Default: the first of `headers`. */
  outboundHeader?: string;
  /** Makes a correlation ID when none valid came in. Default {@link uuidv7}. */
  generateId?: () => string;
  /** Told when an inbound ID is refused (and a new one generated). */
  onInvalidId?: (args: InvalidIdArgs) => void;
  /** Whether a trace this service begins is marked sampled. Default false. */
  sampled?: boolean;
  /** The longest `tracestate` sent, truncated by whole entries. Default 512. */
  maxTracestateLength?: number;
  /** Use the OpenTelemetry API when a span is active (see {@link CorrelationPropagator.inject}). Default true. */
  openTelemetry?: boolean;
}

const OPTION_NAMES = optionNames<CorrelationPropagatorOptions>({
  headers: true,
  outboundHeader: true,
  generateId: true,
  onInvalidId: true,
  sampled: true,
  maxTracestateLength: true,
  openTelemetry: true,
});

/** The options of {@link correlationPropagator}, checked and with the defaults filled in. */
interface PropagatorSettings {
  readonly inboundHeaders: readonly string[];
  readonly outboundHeader: string;
  readonly generateId: () => string;
  readonly onInvalidId: ((args: InvalidIdArgs) => void) | undefined;
  readonly sampled: boolean;
  readonly maxTracestateLength: number;
  readonly openTelemetry: boolean;
}

/** What {@link CorrelationPropagator.extract} takes besides the headers. */
export interface ExtractExtras {
  /** Absolute deadline on the system clock (e.g. `performance.now()` + the caller's budget). */
  deadline?: number;
  baggage?: Readonly<Record<string, string>>;
  /** Aborts when the request's work should stop (the client went away). */
  signal?: AbortSignal;
}

/** Reads the request context from inbound headers and writes it into outbound ones. */
export interface CorrelationPropagator {
  /**
   * The context of an inbound request: the first valid correlation ID among `headers` (else a
   * new one), and the trace from a valid `traceparent` (with its `tracestate`) or, inside an
   * active OpenTelemetry span, that span's trace; else a new trace. Run the handler in it with
   * {@link runWithContext}.
   */
  extract(headers: InboundHeaders, extras?: ExtractExtras): RequestContext;
  /**
   * Writes the correlation ID, `traceparent` and `tracestate` into `headers`, replacing what
   * was there. Call it once per attempt: without OpenTelemetry each call gets a new span ID in
   * the same trace. With an active OpenTelemetry span the registered propagator writes the
   * trace headers, so they name the very span OTel records.
   */
  inject<H extends OutboundHeaders>(headers: H, context?: RequestContext): H;
  /** The headers {@link CorrelationPropagator.inject} would write, as a new object. */
  headers(context?: RequestContext): Record<string, string>;
}

/** Remembers whether the OpenTelemetry propagator wrote a traceparent, without a closure per call. */
class HeaderSetter implements TextMapSetter<OutboundHeaders> {
  wroteTraceparent = false;
  set(carrier: OutboundHeaders, key: string, value: string): void {
    if (key === TRACEPARENT) this.wroteTraceparent = true;
    writeHeader(carrier, key, value);
  }
}

class Propagator implements CorrelationPropagator {
  private readonly setter = new HeaderSetter();
  // Formatted once per inbound list, not per outbound call.
  private readonly formatted = new WeakMap<readonly TraceStateEntry[], string | undefined>();
  private readonly inboundHeaders: readonly string[];
  private readonly outboundHeader: string;
  private readonly generateId: () => string;
  private readonly onInvalidId: ((args: InvalidIdArgs) => void) | undefined;
  private readonly sampled: boolean;
  private readonly maxTracestateLength: number;
  private readonly openTelemetry: boolean;

  constructor(settings: PropagatorSettings) {
    this.inboundHeaders = settings.inboundHeaders;
    this.outboundHeader = settings.outboundHeader;
    this.generateId = settings.generateId;
    this.onInvalidId = settings.onInvalidId;
    this.sampled = settings.sampled;
    this.maxTracestateLength = settings.maxTracestateLength;
    this.openTelemetry = settings.openTelemetry;
  }

  extract(headers: InboundHeaders, extras: ExtractExtras = {}): RequestContext {
    if (extras.deadline !== undefined) checkDeadline(extras.deadline);
    if (extras.baggage !== undefined) checkBaggage(extras.baggage);
    if (extras.signal !== undefined) checkSignal(extras.signal);
    const context: RequestContext = {
      correlationId: this.inboundId(headers),
      trace: this.inboundTrace(headers),
      deadline: extras.deadline ?? Infinity,
      baggage: extras.baggage === undefined ? NO_BAGGAGE : { ...extras.baggage },
    };
    return extras.signal === undefined ? context : { ...context, signal: extras.signal };
  }

  inject<H extends OutboundHeaders>(headers: H, context = currentContext()): H {
    // With an active OTel span, that span is the parent of record and OTel writes the trace.
    const viaOpenTelemetry = this.openTelemetry && this.injectOpenTelemetry(headers);
    if (!viaOpenTelemetry && context !== undefined) {
      const trace = context.trace;
      writeHeader(
        headers,
        TRACEPARENT,
        formatTraceparent(trace.traceId, generateSpanId(), trace.flags),
      );
      const state = this.tracestate(trace);
      if (state !== undefined) writeHeader(headers, TRACESTATE, state);
    }
    if (context !== undefined) writeHeader(headers, this.outboundHeader, context.correlationId);
    return headers;
  }

  headers(context = currentContext()): Record<string, string> {
    return this.inject<Record<string, string>>({}, context);
  }

  private inboundId(headers: InboundHeaders): string {
    for (const name of this.inboundHeaders) {
      const value = readHeader(headers, name);
      if (value === undefined) continue;
      // A header sent twice arrives as an array; pick neither rather than guess.
      const single = typeof value === 'string' ? value : value.length === 1 ? value[0] : value;
      const reason = invalidIdReason(single);
      if (reason === undefined) return single as string;
      this.onInvalidId?.({ header: name, reason });
    }
    return newCorrelationId(this.generateId);
  }

  private inboundTrace(headers: InboundHeaders): TraceContext {
    if (this.openTelemetry) {
      const active = traceFromActiveSpan();
      if (active !== undefined) return active;
    }
    const raw = readHeader(headers, TRACEPARENT);
    // Two traceparent headers make the request's position ambiguous: start a new trace.
    const value = typeof raw === 'string' ? raw : raw?.length === 1 ? raw[0] : undefined;
    const parent = value === undefined ? undefined : parseTraceparent(value);
    // Without a valid traceparent, tracestate must not even be parsed.
    if (parent === undefined) return newTrace(this.sampled);
    const state = readHeader(headers, TRACESTATE);
    const tracestate = state === undefined ? undefined : parseTracestate(state);
    return {
      traceId: parent.traceId,
      parentId: parent.parentId,
      flags: parent.flags,
      tracestate: tracestate === undefined || tracestate.length === 0 ? undefined : tracestate,
    };
  }

  /** Lets the registered OpenTelemetry propagator write, when a span is active. */
  private injectOpenTelemetry(headers: OutboundHeaders): boolean {
    const active: OtelContext = otelContext.active();
    const span = trace.getSpanContext(active);
    if (span === undefined || !isSpanContextValid(span)) return false;
    const setter = this.setter;
    setter.wroteTraceparent = false;
    propagation.inject(active, headers, setter);
    if (!setter.wroteTraceparent) {
      // An SDK with no W3C propagator registered: write the active span's position ourselves.
      writeHeader(
        headers,
        TRACEPARENT,
        formatTraceparent(span.traceId, span.spanId, span.traceFlags),
      );
      const state = span.traceState?.serialize();
      if (state !== undefined && state !== '') writeHeader(headers, TRACESTATE, state);
    }
    return true;
  }

  private tracestate(trace: TraceContext): string | undefined {
    const entries = trace.tracestate;
    if (entries === undefined) return undefined;
    if (this.formatted.has(entries)) return this.formatted.get(entries);
    const value = formatTracestate(entries, this.maxTracestateLength);
    this.formatted.set(entries, value);
    return value;
  }
}

/**
 * A propagator with its own header names and ID rules. The functions {@link contextFromHeaders},
 * {@link injectHeaders} and {@link outboundHeaders} use one with the defaults.
 */
export function correlationPropagator(
  options: CorrelationPropagatorOptions = {},
): CorrelationPropagator {
  checkOptionsObject('correlationPropagator', options);
  checkKnownOptions('correlationPropagator', options, OPTION_NAMES);
  const headers: unknown = options.headers ?? DEFAULT_CORRELATION_HEADERS;
  if (!Array.isArray(headers) || headers.length === 0) {
    throw new TypeError(
      `expected headers to be a non-empty array of header names, got ${describeValue(headers)}`,
    );
  }
  const inbound: string[] = [];
  (headers as readonly unknown[]).forEach((name, i) => {
    checkHeaderName(`headers[${i}]`, name);
    inbound.push(name);
  });
  const outboundHeader = options.outboundHeader ?? inbound[0]!;
  checkHeaderName('outboundHeader', outboundHeader);
  if (options.generateId !== undefined) checkFunction('generateId', options.generateId);
  if (options.onInvalidId !== undefined) checkFunction('onInvalidId', options.onInvalidId);
  if (options.sampled !== undefined) checkBoolean('sampled', options.sampled);
  if (options.openTelemetry !== undefined) checkBoolean('openTelemetry', options.openTelemetry);
  const maxTracestateLength = options.maxTracestateLength ?? MAX_TRACESTATE_LENGTH;
  checkInteger('maxTracestateLength', maxTracestateLength, 0, 8192);
  return new Propagator({
    inboundHeaders: inbound,
    outboundHeader,
    generateId: options.generateId ?? uuidv7,
    onInvalidId: options.onInvalidId,
    sampled: options.sampled ?? false,
    maxTracestateLength,
    openTelemetry: options.openTelemetry ?? true,
  });
}

function checkHeaderName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) {
    throw new TypeError(
      `expected ${name} to be a lowercase header name, got ${describeValue(value)}`,
    );
  }
}

const defaultPropagator = correlationPropagator();

/** The request context of inbound `headers`, with the default header names: see {@link CorrelationPropagator.extract}. */
export function contextFromHeaders(
  headers: InboundHeaders,
  extras?: ExtractExtras,
): RequestContext {
  return defaultPropagator.extract(headers, extras);
}

/** Writes `x-request-id`, `traceparent` and `tracestate` for one outbound attempt: see {@link CorrelationPropagator.inject}. */
export function injectHeaders<H extends OutboundHeaders>(headers: H, context?: RequestContext): H {
  return defaultPropagator.inject(headers, context);
}

/** The headers for one outbound attempt, as a new object: see {@link CorrelationPropagator.headers}. */
export function outboundHeaders(context?: RequestContext): Record<string, string> {
  return defaultPropagator.headers(context);
}
