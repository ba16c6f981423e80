import type { BreakerState } from '@bulwark/core';
import type { Next, Context } from '@bulwark/core/internal';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import { OUTCOMES, describeFailure, outcomeIndex } from './failure.js';
import type { OpenTelemetryApi } from './peers.js';

/** The instrumentation scope of Bulwark's spans. */
export const TRACER_NAME = '@bulwark/telemetry';

/** The operation span's name when the pipeline names no operation. */
export const DEFAULT_SPAN_NAME = 'bulwark.operation';

/**
 * Attribute names. OpenTelemetry's semantic conventions have none for resilience policies, so
 * Bulwark's own live under `bulwark.`; `error.type` is the conventions' own.
 */
export const Attr = {
  operation: 'bulwark.operation',
  attempt: 'bulwark.attempt',
  attempts: 'bulwark.attempts',
  outcome: 'bulwark.outcome',
  policy: 'bulwark.policy',
  retryReason: 'bulwark.retry.reason',
  retryDelayMs: 'bulwark.retry.delay_ms',
  retryDelaySource: 'bulwark.retry.delay_source',
  gaveUpReason: 'bulwark.retry.gave_up_reason',
  breakerState: 'bulwark.breaker.state',
  breakerFrom: 'bulwark.breaker.from',
  breakerKey: 'bulwark.breaker.key',
  bulkheadReason: 'bulwark.bulkhead.reason',
  bulkheadActive: 'bulwark.bulkhead.active',
  bulkheadQueued: 'bulwark.bulkhead.queued',
  bulkheadLimit: 'bulwark.bulkhead.limit',
  bulkheadFrom: 'bulwark.bulkhead.from',
  timeoutMs: 'bulwark.timeout_ms',
  budgetMs: 'bulwark.deadline.budget_ms',
  cacheAgeSeconds: 'bulwark.cache.age_seconds',
  cacheReason: 'bulwark.cache.reason',
  cacheOutcome: 'bulwark.cache.outcome',
  cacheBackground: 'bulwark.cache.background',
  cacheStatus: 'bulwark.cache.response_status',
  cacheBytes: 'bulwark.cache.bytes',
  cacheTtlMs: 'bulwark.cache.ttl_ms',
  cacheCause: 'bulwark.cache.cause',
  cacheStoreOperation: 'bulwark.cache.store_operation',
  hedgeDelayMs: 'bulwark.hedge.delay_ms',
  hedgeTrigger: 'bulwark.hedge.trigger',
  hedgeCancelled: 'bulwark.hedge.cancelled',
  rateLimitReason: 'bulwark.rate_limit.reason',
  rateLimitPermits: 'bulwark.rate_limit.permits',
  rateLimitRemaining: 'bulwark.rate_limit.remaining',
  rateLimitWaitedMs: 'bulwark.rate_limit.waited_ms',
  rateLimitQueued: 'bulwark.rate_limit.queued',
  rateLimitRetryAfterMs: 'bulwark.rate_limit.retry_after_ms',
  rateLimitStoreMode: 'bulwark.rate_limit.store_error_mode',
  chaosKind: 'bulwark.chaos.kind',
  chaosLatencyMs: 'bulwark.chaos.latency_ms',
  chaosCutByDeadline: 'bulwark.chaos.cut_by_deadline',
  chaosStatus: 'bulwark.chaos.status',
  chaosAfterBytes: 'bulwark.chaos.after_bytes',
  chaosChunkDelayMs: 'bulwark.chaos.chunk_delay_ms',
  endpoint: 'bulwark.endpoint',
  endpoints: 'bulwark.endpoints',
  endpointsEjected: 'bulwark.endpoints.ejected',
  endpointsAdded: 'bulwark.endpoints.added',
  endpointsRemoved: 'bulwark.endpoints.removed',
  ejectionReason: 'bulwark.ejection.reason',
  ejectionMs: 'bulwark.ejection.duration_ms',
  ejections: 'bulwark.ejection.count',
  httpMethod: 'http.request.method',
  errorType: 'error.type',
} as const;

/**
 * Where the operation's state lives in the OpenTelemetry context: telemetry events carry no
 * context object, but they are emitted inside the call, where this context is active.
 * (`createContextKey()` is `Symbol.for()` of its description.)
 */
export const OPERATION_KEY = Symbol.for('bulwark.telemetry.operation');

/** Why the next attempt runs: the failure and the wait that came before it. */
export interface PendingRetry {
  readonly reason: string;
  readonly delayMs: number;
  readonly delaySource: string;
}

/** What the spans of one traced operation share while it runs. */
export class OperationState {
  attempts = 0;
  pendingRetry: PendingRetry | undefined = undefined;
  /** The breaker state met during the current attempt, for an attempt span made afterwards. */
  breakerState: BreakerState | undefined = undefined;
  /** A live attempt span that returned a value, until the retry says whether it counts as one. */
  openAttempt: Span | undefined = undefined;
  /** True once a live attempt span (from tracedAttempt) exists: no attempt spans are made afterwards. */
  liveAttempts = false;
  gaveUpReason: string | undefined = undefined;
  gaveUpWith: unknown = undefined;

  constructor(
    readonly api: OpenTelemetryApi,
    readonly tracer: Tracer,
    readonly span: Span,
    /** The operation's name, for its attempt spans. */
    readonly name: string,
  ) {}

  /** The attributes an attempt span starts with. Takes the pending retry, which is then used up. */
  attemptAttributes(attempt: number): Attributes {
    const attributes: Attributes = { [Attr.attempt]: attempt };
    const retry = this.pendingRetry;
    if (retry !== undefined) {
      attributes[Attr.retryReason] = retry.reason;
      attributes[Attr.retryDelayMs] = retry.delayMs;
      attributes[Attr.retryDelaySource] = retry.delaySource;
      this.pendingRetry = undefined;
    }
    return attributes;
  }

  /**
   * Ends the operation span, and any attempt span still waiting for a verdict. `outcome` is the
   * error when `failed`, else the value the call returned.
   */
  finish(failed: boolean, outcome: unknown): void {
    const open = this.openAttempt;
    if (open !== undefined) {
      this.openAttempt = undefined;
      endSpan(this.api, open, false, undefined);
    }
    const span = this.span;
    if (this.attempts > 0) span.setAttribute(Attr.attempts, this.attempts);
    if (this.gaveUpReason !== undefined) span.setAttribute(Attr.gaveUpReason, this.gaveUpReason);
    // A retry that gave up on a failed result (a 503 response) returns it: still a failure,
    // unless something between the retry and here replaced it (a fallback).
    const failedResult =
      !failed &&
      this.gaveUpReason !== undefined &&
      outcome !== undefined &&
      outcome === this.gaveUpWith;
    endSpan(this.api, span, failed || failedResult, failed || failedResult ? outcome : undefined);
  }
}

/** Sets the outcome, records a failure, and ends the span (at `endTime`, when given). */
export function endSpan(
  api: OpenTelemetryApi,
  span: Span,
  failed: boolean,
  failure: unknown,
  endTime?: number,
): void {
  span.setAttribute(Attr.outcome, OUTCOMES[outcomeIndex(failed ? 'failure' : 'success', failure)]!);
  if (failed) {
    if (failure instanceof Error) span.recordException(failure);
    span.setStatus({
      code: api.SpanStatusCode.ERROR,
      message: failure instanceof Error ? failure.message : undefined,
    });
    span.setAttribute(Attr.errorType, describeFailure(failure));
  }
  span.end(endTime);
}

/** Runs the rest of the pipeline as a promise, whatever `next` returns or throws. */
export function callNext(next: Next, context: Context): Promise<unknown> {
  try {
    return Promise.resolve(next.call(context));
  } catch (error: unknown) {
    return Promise.reject(error);
  }
}

/** Milliseconds since the epoch on OpenTelemetry's clock (its time origin plus `performance.now()`). */
export function otelNow(): number {
  return performance.timeOrigin + performance.now();
}
