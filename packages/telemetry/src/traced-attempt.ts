import { type Clock, type Policy, systemClock } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  checkClock,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  httpAttemptOf,
} from '@bulwark/core/internal';
import type { Span, Tracer } from '@opentelemetry/api';
import { URL_QUERY_CHOICES, type UrlQuery, setHttpAttributes } from './http-attributes.js';
import {
  Attr,
  DEFAULT_SPAN_NAME,
  OPERATION_KEY,
  type OperationState,
  TRACER_NAME,
  callNext,
  endSpan,
} from './operation-state.js';
import { type OpenTelemetryApi, openTelemetryApi } from './peers.js';
import { checkTracer } from './validate.js';

export interface TracedAttemptOptions {
  /** The tracer spans come from when no traced operation is active. Default: the global one. */
  tracer?: Tracer;
  /** The operation name in the span name when the pipeline names none. Default `bulwark.operation`. */
  name?: string;
  /** The pipeline's clock (see `tracedOperation`). Default: the system clock. */
  clock?: Clock;
  /**
   * The query of an HTTP attempt's `url.full`: `redact` replaces it with `REDACTED` (a query
   * can carry a token), `keep` exports it as sent. Default `redact`.
   */
  urlQuery?: UrlQuery;
}

/** Makes each attempt a live span, active while the attempt runs. */
class TracedAttempt extends BulwarkPolicy {
  private readonly api: OpenTelemetryApi;
  private readonly tracer: Tracer;

  constructor(
    tracer: Tracer | undefined,
    private readonly operationName: string,
    clock: Clock,
    private readonly urlQuery: UrlQuery,
  ) {
    super(clock);
    this.api = openTelemetryApi('tracedAttempt');
    this.tracer = tracer ?? this.api.trace.getTracer(TRACER_NAME);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const api = this.api;
    const parent = api.context.active();
    const state = parent.getValue(OPERATION_KEY) as OperationState | undefined;
    const name = `${state?.name ?? context.operation ?? this.operationName} attempt`;
    const tracer = state?.tracer ?? this.tracer;
    const span = tracer.startSpan(
      name,
      {
        // An attempt is one request to a dependency: the caller's side of it.
        kind: api.SpanKind.CLIENT,
        attributes: state?.attemptAttributes(context.attempt) ?? {
          [Attr.attempt]: context.attempt,
        },
      },
      parent,
    );
    if (!span.isRecording()) {
      span.end();
      return callNext(next, context);
    }
    if (state !== undefined) state.liveAttempts = true;
    return api.context.with(
      api.trace.setSpan(parent, span),
      runAttempt,
      undefined,
      api,
      context,
      next,
      span,
      state,
      this.urlQuery,
    );
  }
}

/** The attempt, inside its span's context. */
async function runAttempt(
  api: OpenTelemetryApi,
  context: Context,
  next: Next,
  span: Span,
  state: OperationState | undefined,
  urlQuery: UrlQuery,
): Promise<unknown> {
  let value: unknown;
  try {
    value = await next.call(context);
  } catch (error: unknown) {
    recordHttp(api, span, context, urlQuery);
    endSpan(api, span, true, error);
    throw error;
  }
  recordHttp(api, span, context, urlQuery);
  if (state === undefined) {
    endSpan(api, span, false, undefined);
  } else {
    // A retry may still count this value as a failure (a 503 response): its attempt event
    // ends the span; the operation ends it otherwise.
    if (state.openAttempt !== undefined) endSpan(api, state.openAttempt, false, undefined);
    state.openAttempt = span;
  }
  return value;
}

/** The HTTP request the attempt sent, when the function it ran describes it. */
function recordHttp(api: OpenTelemetryApi, span: Span, context: Context, urlQuery: UrlQuery) {
  const http = httpAttemptOf(context.fn, context.attempt);
  if (http !== undefined) setHttpAttributes(api, span, http, context.attempt, urlQuery);
}

/**
 * A policy that makes each attempt a live OpenTelemetry span, active while the attempt runs, so
 * what the attempt does (an HTTP client span, the request's `traceparent`) is a child of the
 * attempt that did it. Place it directly inside the retry policy, under `tracedOperation()`.
 * Without it, `openTelemetryListener()` still makes attempt spans, after the fact, from the
 * retry's `attempt` events.
 */
export function tracedAttempt(options: TracedAttemptOptions = {}): Policy {
  checkOptionsObject('tracedAttempt', options);
  checkKnownOptions('tracedAttempt', options, ['tracer', 'name', 'clock', 'urlQuery']);
  if (options.tracer !== undefined) checkTracer(options.tracer);
  if (options.name !== undefined) checkString('name', options.name);
  if (options.clock !== undefined) checkClock(options.clock);
  if (options.urlQuery !== undefined) checkOneOf('urlQuery', options.urlQuery, URL_QUERY_CHOICES);
  return new TracedAttempt(
    options.tracer,
    options.name ?? DEFAULT_SPAN_NAME,
    options.clock ?? systemClock,
    options.urlQuery ?? 'redact',
  );
}
