import type { CacheEvent, PolicyEvent } from '@bulwark/core';
import { checkKnownOptions, checkOneOf, checkOptionsObject } from '@bulwark/core/internal';
import type { Attributes, Context as OtelContext, Span } from '@opentelemetry/api';
import type {
  BulwarkEvent,
  BulwarkListener,
  ChaosEventShape,
  EndpointEventShape,
  RateLimitEventShape,
} from './events.js';
import { OUTCOMES, describeFailure, outcomeIndex } from './failure.js';
import { URL_QUERY_CHOICES, type UrlQuery, setHttpAttributes } from './http-attributes.js';
import { Attr, OPERATION_KEY, type OperationState, endSpan, otelNow } from './operation-state.js';
import { type OpenTelemetryApi, openTelemetryApi } from './peers.js';

/** The events recorded as span events: every one but a call and a breaker's creation or use. */
type DecisionEvent = Exclude<
  BulwarkEvent,
  {
    type:
      'call' | 'breaker-created' | 'breaker-used' | 'health-check' | 'health-report' | 'shutdown';
  }
>;
type Of<Type extends PolicyEvent['type']> = Extract<PolicyEvent, { type: Type }>;

/** The attributes of a decision recorded as a span event: the policy's, then its family's. */
function eventAttributes(event: DecisionEvent): Attributes {
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
    case 'breaker-rejected':
      breakerAttributes(event, a);
      break;
    case 'bulkhead-rejected':
    case 'bulkhead-queued':
    case 'bulkhead-limit':
      bulkheadAttributes(event, a);
      break;
    case 'timeout':
      a[Attr.timeoutMs] = event.timeoutMs;
      break;
    case 'deadline-exceeded':
      if (event.budgetMs !== undefined) a[Attr.budgetMs] = event.budgetMs;
      break;
    case 'hedge-started':
    case 'hedge-won':
    case 'hedge-cancelled':
      hedgeAttributes(event, a);
      break;
    case 'fallback':
      a[Attr.outcome] = event.outcome;
      a[Attr.errorType] = event.reason;
      break;
    case 'cache-hit':
    case 'cache-miss':
    case 'cache-stale-served':
    case 'cache-revalidated':
    case 'cache-stored':
    case 'cache-not-stored':
    case 'cache-invalidated':
    case 'cache-store-error':
    case 'cache-coalesced':
      cacheAttributes(event, a);
      break;
    case 'rate-limit-granted':
    case 'rate-limit-queued':
    case 'rate-limit-rejected':
    case 'rate-limit-store-error':
      rateLimitAttributes(event, a);
      break;
    case 'chaos-injected':
      chaosAttributes(event, a);
      break;
    case 'endpoint-ejected':
    case 'endpoint-readmitted':
    case 'endpoints-updated':
    case 'endpoints-refresh-failed':
      endpointAttributes(event, a);
      break;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
  return a;
}

function breakerAttributes(event: Of<'breaker-state' | 'breaker-rejected'>, a: Attributes): void {
  if (event.type === 'breaker-state') {
    a[Attr.breakerFrom] = event.from;
    a[Attr.breakerState] = event.to;
  } else {
    a[Attr.breakerState] = event.state;
  }
  if (event.key !== undefined) a[Attr.breakerKey] = event.key;
}

function bulkheadAttributes(
  event: Of<'bulkhead-rejected' | 'bulkhead-queued' | 'bulkhead-limit'>,
  a: Attributes,
): void {
  if (event.type === 'bulkhead-limit') {
    a[Attr.bulkheadFrom] = event.from;
    a[Attr.bulkheadLimit] = event.to;
    return;
  }
  if (event.type === 'bulkhead-rejected') {
    a[Attr.bulkheadReason] = event.reason;
    a[Attr.bulkheadLimit] = event.limit;
  }
  a[Attr.bulkheadActive] = event.active;
  a[Attr.bulkheadQueued] = event.queued;
}

function hedgeAttributes(
  event: Of<'hedge-started' | 'hedge-won' | 'hedge-cancelled'>,
  a: Attributes,
): void {
  switch (event.type) {
    case 'hedge-started':
      a[Attr.attempt] = event.attempt;
      a[Attr.hedgeDelayMs] = event.delayMs;
      a[Attr.hedgeTrigger] = event.trigger;
      return;
    case 'hedge-won':
      a[Attr.attempt] = event.attempt;
      a[Attr.attempts] = event.attempts;
      return;
    case 'hedge-cancelled':
      a[Attr.hedgeCancelled] = event.count;
      return;
  }
}

/** The cache's decisions: the method where it applies, never the URL (a query can hold a token). */
function cacheAttributes(event: CacheEvent, a: Attributes): void {
  if (event.type !== 'cache-invalidated' && event.type !== 'cache-store-error') {
    a[Attr.httpMethod] = event.method;
  }
  switch (event.type) {
    case 'cache-hit':
      a[Attr.cacheAgeSeconds] = event.ageSeconds;
      return;
    case 'cache-miss':
      a[Attr.cacheReason] = event.reason;
      return;
    case 'cache-stale-served':
      a[Attr.cacheReason] = event.reason;
      a[Attr.cacheAgeSeconds] = event.ageSeconds;
      if (event.error !== undefined) {
        a[Attr.errorType] =
          typeof event.error === 'number' ? String(event.error) : describeFailure(event.error);
      }
      return;
    case 'cache-revalidated':
      a[Attr.cacheOutcome] = event.outcome;
      a[Attr.cacheBackground] = event.background;
      return;
    case 'cache-stored':
      a[Attr.cacheStatus] = event.status;
      a[Attr.cacheBytes] = event.bytes;
      a[Attr.cacheTtlMs] = event.ttlMs;
      return;
    case 'cache-not-stored':
      a[Attr.cacheStatus] = event.status;
      a[Attr.cacheReason] = event.reason;
      return;
    case 'cache-invalidated':
      a[Attr.cacheCause] = event.cause;
      return;
    case 'cache-store-error':
      a[Attr.cacheStoreOperation] = event.storeOperation;
      a[Attr.errorType] = describeFailure(event.error);
      return;
    case 'cache-coalesced':
      return;
  }
}

function rateLimitAttributes(event: RateLimitEventShape, a: Attributes): void {
  switch (event.type) {
    case 'rate-limit-granted':
      a[Attr.rateLimitPermits] = event.permits;
      a[Attr.rateLimitRemaining] = event.remaining;
      a[Attr.rateLimitWaitedMs] = event.waitedMs;
      return;
    case 'rate-limit-queued':
      a[Attr.rateLimitPermits] = event.permits;
      a[Attr.rateLimitQueued] = event.queued;
      return;
    case 'rate-limit-rejected':
      a[Attr.rateLimitReason] = event.reason;
      a[Attr.rateLimitPermits] = event.permits;
      a[Attr.rateLimitRetryAfterMs] = event.retryAfterMs;
      return;
    case 'rate-limit-store-error':
      a[Attr.rateLimitStoreMode] = event.mode;
      a[Attr.errorType] = describeFailure(event.error);
      return;
  }
}

/** What a chaos policy injected: its kind and the fields that kind has. Never the origin. */
function chaosAttributes(event: ChaosEventShape, a: Attributes): void {
  a[Attr.chaosKind] = event.kind;
  if (event.latencyMs !== undefined) a[Attr.chaosLatencyMs] = event.latencyMs;
  if (event.cutByDeadline !== undefined) a[Attr.chaosCutByDeadline] = event.cutByDeadline;
  if (event.error !== undefined) a[Attr.errorType] = describeFailure(event.error);
  if (event.method !== undefined) a[Attr.httpMethod] = event.method;
  if (event.status !== undefined) a[Attr.chaosStatus] = event.status;
  if (event.afterBytes !== undefined) a[Attr.chaosAfterBytes] = event.afterBytes;
  if (event.chunkDelayMs !== undefined) a[Attr.chaosChunkDelayMs] = event.chunkDelayMs;
}

/** A service client's endpoints: which one, why and for how long; counts for the others. */
function endpointAttributes(event: EndpointEventShape, a: Attributes): void {
  switch (event.type) {
    case 'endpoint-ejected':
      a[Attr.endpoint] = event.endpoint;
      a[Attr.ejectionReason] = event.reason;
      a[Attr.ejectionMs] = event.durationMs;
      a[Attr.ejections] = event.ejections;
      a[Attr.endpointsEjected] = event.ejected;
      break;
    case 'endpoint-readmitted':
      a[Attr.endpoint] = event.endpoint;
      a[Attr.endpointsEjected] = event.ejected;
      break;
    case 'endpoints-updated':
      a[Attr.endpointsAdded] = event.added.length;
      a[Attr.endpointsRemoved] = event.removed.length;
      break;
    case 'endpoints-refresh-failed':
      a[Attr.errorType] = describeFailure(event.error);
      break;
  }
  a[Attr.endpoints] = event.endpoints;
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

  readonly record = (event: BulwarkEvent): void => {
    // The operation span (tracedOperation) covers the whole call; a breaker's creation, or its
    // first call of an operation, is no decision about the call in progress, and a permit granted
    // at once is no decision either.
    if (event.type === 'call' || event.type === 'breaker-created' || event.type === 'breaker-used')
      return;
    if (event.type === 'rate-limit-granted' && event.waitedMs === 0) return;
    // Health checks run for probes, outside any call: metrics, not span events.
    if (event.type === 'health-check' || event.type === 'health-report') return;
    if (event.type === 'shutdown') return;
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
      case 'breaker-rejected': {
        const breakerState = event.type === 'breaker-state' ? event.to : event.state;
        if (state !== undefined) state.breakerState = breakerState;
        span?.setAttribute(Attr.breakerState, breakerState);
        break;
      }
      default:
        // Every other decision is a span event only (eventAttributes covers them all).
        break;
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
 * and rejections, timeouts, exceeded deadlines, hedges, fallbacks, the cache's decisions, rate
 * limiters' refusals and waits, chaos injections). Give it to rate limiters and chaos policies
 * too. Uses only `@opentelemetry/api`: the application registers the SDK. Without one, each
 * event costs a context lookup.
 */
export function openTelemetryListener(options: OpenTelemetryListenerOptions = {}): BulwarkListener {
  checkOptionsObject('openTelemetryListener', options);
  checkKnownOptions('openTelemetryListener', options, ['urlQuery']);
  if (options.urlQuery !== undefined) checkOneOf('urlQuery', options.urlQuery, URL_QUERY_CHOICES);
  return new OpenTelemetryRecorder(
    openTelemetryApi('openTelemetryListener'),
    options.urlQuery ?? 'redact',
  ).record;
}
