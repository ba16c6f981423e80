import type { PolicyEvent, TelemetryListener } from '@bulwark/core';
import { checkKnownOptions, checkOneOf, checkOptionsObject } from '@bulwark/core/internal';
import type { Attributes, Context as OtelContext, Span } from '@opentelemetry/api';
import { OUTCOMES, describeFailure, outcomeIndex } from './failure.js';
import { URL_QUERY_CHOICES, type UrlQuery, setHttpAttributes } from './http-attributes.js';
import { Attr, OPERATION_KEY, type OperationState, endSpan, otelNow } from './operation-state.js';
import { type OpenTelemetryApi, openTelemetryApi } from './peers.js';

/** The attributes of a policy decision recorded as a span event. */
function eventAttributes(
  event: Exclude<PolicyEvent, { type: 'call' | 'breaker-created' }>,
): Attributes {
  const a: Attributes = { [Attr.policy]: event.name ?? event.policy };
  switch (event.type) {
    case 'attempt':
      a[Attr.attempt] = event.attempt;
      a[Attr.outcome] = OUTCOMES[outcomeIndex(event.outcome, event.error)]!;
      break;
    case 'retry-scheduled':
      a[Attr.attempt] = event.attempt;
      a[Attr.retryDelayMs] = event.delayMs;
      a[Attr.retryDelaySource] = event.delaySource;
      a[Attr.retryReason] = describeFailure(event.error);
      break;
    case 'retry-gave-up':
      a[Attr.attempt] = event.attempt;
      a[Attr.gaveUpReason] = event.reason;
      break;
    case 'breaker-state':
      a[Attr.breakerFrom] = event.from;
      a[Attr.breakerState] = event.to;
      if (event.key !== undefined) a[Attr.breakerKey] = event.key;
      break;
    case 'breaker-rejected':
      a[Attr.breakerState] = event.state;
      if (event.key !== undefined) a[Attr.breakerKey] = event.key;
      break;
    case 'bulkhead-rejected':
      a[Attr.bulkheadReason] = event.reason;
      a[Attr.bulkheadActive] = event.active;
      a[Attr.bulkheadQueued] = event.queued;
      a[Attr.bulkheadLimit] = event.limit;
      break;
    case 'bulkhead-queued':
      a[Attr.bulkheadActive] = event.active;
      a[Attr.bulkheadQueued] = event.queued;
      break;
    case 'bulkhead-limit':
      a[Attr.bulkheadFrom] = event.from;
      a[Attr.bulkheadLimit] = event.to;
      break;
    case 'timeout':
      a[Attr.timeoutMs] = event.timeoutMs;
      break;
    case 'deadline-exceeded':
      if (event.budgetMs !== undefined) a[Attr.budgetMs] = event.budgetMs;
      break;
    case 'hedge-started':
      a[Attr.attempt] = event.attempt;
      a[Attr.hedgeDelayMs] = event.delayMs;
      a[Attr.hedgeTrigger] = event.trigger;
      break;
    case 'hedge-won':
      a[Attr.attempt] = event.attempt;
      a[Attr.attempts] = event.attempts;
      break;
    case 'hedge-cancelled':
      a[Attr.hedgeCancelled] = event.count;
      break;
    case 'fallback':
      a[Attr.outcome] = event.outcome;
      a[Attr.errorType] = event.reason;
      break;
    case 'cache-hit':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheAgeSeconds] = event.ageSeconds;
      break;
    case 'cache-miss':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheReason] = event.reason;
      break;
    case 'cache-stale-served':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheReason] = event.reason;
      a[Attr.cacheAgeSeconds] = event.ageSeconds;
      if (event.error !== undefined) {
        a[Attr.errorType] =
          typeof event.error === 'number' ? String(event.error) : describeFailure(event.error);
      }
      break;
    case 'cache-revalidated':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheOutcome] = event.outcome;
      a[Attr.cacheBackground] = event.background;
      break;
    case 'cache-stored':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheStatus] = event.status;
      a[Attr.cacheBytes] = event.bytes;
      a[Attr.cacheTtlMs] = event.ttlMs;
      break;
    case 'cache-not-stored':
      a[Attr.httpMethod] = event.method;
      a[Attr.cacheStatus] = event.status;
      a[Attr.cacheReason] = event.reason;
      break;
    case 'cache-invalidated':
      a[Attr.cacheCause] = event.cause;
      break;
    case 'cache-store-error':
      a[Attr.cacheStoreOperation] = event.storeOperation;
      a[Attr.errorType] = describeFailure(event.error);
      break;
    case 'cache-coalesced':
      a[Attr.httpMethod] = event.method;
      break;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
  return a;
}

export interface OpenTelemetryListenerOptions {
  /**
   * The query of an HTTP attempt's `url.full`: `redact` replaces it with `REDACTED` (a query
   * can carry a token), `keep` exports it as sent. Default `redact`.
   */
  urlQuery?: UrlQuery;
}

class OpenTelemetryRecorder {
  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly urlQuery: UrlQuery,
  ) {}

  readonly record = (event: PolicyEvent): void => {
    // The operation span (tracedOperation) covers the whole call; a breaker's creation is no
    // decision about the call in progress.
    if (event.type === 'call' || event.type === 'breaker-created') return;
    const active = this.api.context.active();
    const state = active.getValue(OPERATION_KEY) as OperationState | undefined;
    const span = this.api.trace.getSpan(active);
    // Without an SDK the context is always empty: this is the whole cost.
    if (state === undefined && span === undefined) return;
    switch (event.type) {
      case 'attempt':
        if (state !== undefined) this.attempt(event, state, active);
        else span?.addEvent(event.type, eventAttributes(event));
        return;
      case 'retry-scheduled':
        if (state !== undefined) {
          state.pendingRetry = {
            reason: describeFailure(event.error),
            delayMs: event.delayMs,
            delaySource: event.delaySource,
          };
        }
        break;
      case 'retry-gave-up':
        if (state !== undefined) {
          state.gaveUpReason = event.reason;
          state.gaveUpWith = event.error;
        }
        break;
      case 'breaker-state':
        if (state !== undefined) state.breakerState = event.to;
        span?.setAttribute(Attr.breakerState, event.to);
        break;
      case 'breaker-rejected':
        if (state !== undefined) state.breakerState = event.state;
        span?.setAttribute(Attr.breakerState, event.state);
        break;
      case 'bulkhead-queued':
      case 'bulkhead-rejected':
      case 'bulkhead-limit':
      case 'timeout':
      case 'deadline-exceeded':
      case 'hedge-started':
      case 'hedge-won':
      case 'hedge-cancelled':
      case 'fallback':
      case 'cache-hit':
      case 'cache-miss':
      case 'cache-coalesced':
      case 'cache-stale-served':
      case 'cache-revalidated':
      case 'cache-stored':
      case 'cache-not-stored':
      case 'cache-invalidated':
      case 'cache-store-error':
        break;
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
    span?.addEvent(event.type, eventAttributes(event));
  };

  /** Ends a live attempt span, or makes the attempt's span now that its duration is known. */
  private attempt(
    event: Extract<PolicyEvent, { type: 'attempt' }>,
    state: OperationState,
    active: OtelContext,
  ): void {
    state.attempts++;
    const failed = event.outcome === 'failure';
    const open = state.openAttempt;
    if (open !== undefined) {
      state.openAttempt = undefined;
      endSpan(this.api, open, failed, event.error);
      return;
    }
    // Live attempt spans record themselves; one that failed has ended already.
    if (state.liveAttempts) return;
    const end = otelNow();
    const span: Span = state.tracer.startSpan(
      `${state.name} attempt`,
      {
        // An attempt is one request to a dependency: the caller's side of it.
        kind: this.api.SpanKind.CLIENT,
        startTime: end - event.durationMs,
        attributes: state.attemptAttributes(event.attempt),
      },
      this.api.trace.setSpan(active, state.span),
    );
    if (state.breakerState !== undefined) {
      span.setAttribute(Attr.breakerState, state.breakerState);
      state.breakerState = undefined;
    }
    if (event.http !== undefined) {
      setHttpAttributes(this.api, span, event.http, event.attempt, this.urlQuery);
    }
    endSpan(this.api, span, failed, event.error, end);
  }
}

/**
 * A telemetry listener that records Bulwark's decisions in OpenTelemetry: under a
 * `tracedOperation()` span, one child span per attempt (made when the retry reports the attempt,
 * with its real start and duration, unless `tracedAttempt()` made it live) with its number,
 * outcome, retry reason and breaker state; and a span event on the active span for every policy
 * decision (retry scheduled or given up, breaker transitions and rejections, bulkhead queueing
 * and rejections, timeouts, exceeded deadlines). Uses only `@opentelemetry/api`: the
 * application registers the SDK. Without one, each event costs a context lookup.
 */
export function openTelemetryListener(
  options: OpenTelemetryListenerOptions = {},
): TelemetryListener {
  checkOptionsObject('openTelemetryListener', options);
  checkKnownOptions('openTelemetryListener', options, ['urlQuery']);
  if (options.urlQuery !== undefined) checkOneOf('urlQuery', options.urlQuery, URL_QUERY_CHOICES);
  return new OpenTelemetryRecorder(
    openTelemetryApi('openTelemetryListener'),
    options.urlQuery ?? 'redact',
  ).record;
}
