import type { AnyPolicy, Clock, SuccessTemplate, TelemetryListener } from '@bulwark/core';
import { type Pipeline, isTimeoutError, pipeline } from '@bulwark/core';
import { type SuccessReporter, emit, successReporter } from '@bulwark/core/internal';
import { type Bulkhead, bulkhead } from '@bulwark/bulkhead';
import {
  type BreakerRegistry,
  type CircuitBreaker,
  breakerRegistry,
} from '@bulwark/circuit-breaker';
import { standardOrder } from '@bulwark/resilience';
import { type RetryPolicy, retry, retryBudget } from '@bulwark/retry';
import { type DeadlinePolicy, MAX_TIMEOUT_MS, deadline } from '@bulwark/timeout';
import { AttemptReporter } from './attempt-reporter.js';
import { httpRetryClassifier, isLocalShutdown } from './call-attempts.js';
import { isNetworkError } from './errors.js';
import type { ClientSettings, HttpBulkheadOptions, HttpRetryOptions } from './options.js';

/** What the policies of every origin share. */
export interface SharedPolicies {
  readonly bulkhead: HttpBulkheadOptions | undefined;
  /** The client's own deadline, or undefined when it has none. */
  readonly deadline: DeadlinePolicy | undefined;
  /** Enforces a per-request deadline when the client has no deadline of its own. */
  readonly enforcer: () => DeadlinePolicy;
  readonly retry: HttpRetryOptions | undefined;
  readonly breakers: BreakerRegistry | undefined;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
  /** The caller's own policies: outermost, and directly inside the retry. */
  readonly callPolicy: AnyPolicy | undefined;
  readonly attemptPolicy: AnyPolicy | undefined;
  /** With retries off and a listener, reports the attempt in the retry's place. */
  readonly attemptReporter: AnyPolicy | undefined;
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

/** The client's per-origin breakers, or `undefined` when it was built with `breaker: false`. */
export function originBreakers(settings: ClientSettings): BreakerRegistry | undefined {
  if (settings.breaker === undefined) return undefined;
  const { maxOrigins, ...breaker } = settings.breaker;
  return breakerRegistry({
    maxKeys: maxOrigins,
    breaker: { classify: httpBreakerClassify, name: settings.name, ...breaker },
    listener: settings.listener,
    clock: settings.clock,
  });
}

/** What the client's settings make of the policies every origin shares. */
export function sharedPolicies(
  settings: ClientSettings,
  breakers: BreakerRegistry | undefined,
): SharedPolicies {
  const { clock, listener, name } = settings;
  let enforcer: DeadlinePolicy | undefined;
  return {
    bulkhead: settings.bulkhead,
    deadline:
      settings.deadlineMs === undefined
        ? undefined
        : deadline(settings.deadlineMs, { clock, listener, name }),
    enforcer: () => (enforcer ??= deadline(MAX_TIMEOUT_MS, { clock, listener, name })),
    retry: settings.retry,
    breakers,
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
}

/** Per-origin policies are built on first use: this builds one of each now, so bad options fail at once. */
export function checkOriginPolicies(shared: SharedPolicies): void {
  if (shared.retry !== undefined) originRetry(shared, shared.retry);
  if (shared.bulkhead !== undefined) originBulkhead(shared, shared.bulkhead);
}

/** Builds the retry policy of one origin, with its own retry budget. */
export function originRetry(shared: SharedPolicies, options: HttpRetryOptions): RetryPolicy {
  const { budget = {} } = options;
  return retry({
    maxAttempts: options.maxAttempts,
    backoff: options.backoff,
    maxDelayMs: options.maxDelayMs,
    maxHintMs: options.maxHintMs,
    delayHint: options.delayHint,
    random: options.random,
    classify: httpRetryClassifier,
    budget: budget === false ? undefined : retryBudget({ ...budget, clock: shared.clock }),
    name: shared.name,
    listener: shared.listener,
    clock: shared.clock,
  });
}

export function originBulkhead(shared: SharedPolicies, options: HttpBulkheadOptions): Bulkhead {
  return bulkhead({
    limit: options.limit,
    queue: options.queue,
    queueTimeoutMs: options.queueTimeoutMs,
    name: shared.name,
    listener: shared.listener,
    clock: shared.clock,
  });
}

/**
 * The policies of one origin, in the standard order of `@bulwark/resilience` (the one place it is
 * written): the caller's outer policies, bulkhead, deadline, retry (with the origin's retry
 * budget), the caller's per-attempt policies, the origin's circuit breaker. The attempt timeout
 * sits inside, in the call's attempts, next to the socket it has to stop.
 */
export class OriginPolicies {
  private readonly bulkhead: Bulkhead | undefined;
  private readonly retry: RetryPolicy | undefined;
  private breaker: CircuitBreaker | undefined;
  private plain: Pipeline;
  private bounded: Pipeline | undefined = undefined;
  // Operation names by method, so a call builds no string.
  private readonly operations = new Map<string, string>();
  /** The listener's fast path for successful calls, when it has one. */
  private readonly calls: SuccessReporter | undefined;

  constructor(
    readonly origin: string,
    private readonly shared: SharedPolicies,
  ) {
    this.bulkhead = shared.bulkhead && originBulkhead(shared, shared.bulkhead);
    this.retry = shared.retry && originRetry(shared, shared.retry);
    this.breaker = shared.breakers?.get(origin);
    this.plain = this.compose(shared.deadline);
    const name = shared.name;
    this.calls = successReporter(shared.listener, (operation): SuccessTemplate => ({
      type: 'call',
      policy: 'http-client',
      name,
      operation,
      outcome: 'success',
      error: undefined,
    }));
  }

  /** Reports a call that succeeded to the listener (the client has one). */
  reportCall(operation: string, durationMs: number): void {
    if (this.calls !== undefined) {
      this.calls.report(operation, durationMs);
      return;
    }
    emit(this.shared.listener!, {
      type: 'call',
      policy: 'http-client',
      name: this.shared.name,
      operation,
      outcome: 'success',
      durationMs,
      error: undefined,
    });
  }

  /** The pipeline for a call; `bounded` when the call brings a deadline that must be enforced. */
  pipelineFor(bounded: boolean): Pipeline {
    const breakers = this.shared.breakers;
    if (breakers !== undefined) {
      // The registry may have dropped and re-created this origin's breaker: follow it.
      const breaker = breakers.get(this.origin);
      if (breaker !== this.breaker) {
        this.breaker = breaker;
        this.plain = this.compose(this.shared.deadline);
        this.bounded = undefined;
      }
    }
    if (!bounded || this.shared.deadline !== undefined) return this.plain;
    return (this.bounded ??= this.compose(this.shared.enforcer()));
  }

  /** `GET https://api.example.com`: the origin, never the path (paths hold IDs). */
  operation(method: string): string {
    let name = this.operations.get(method);
    if (name === undefined) {
      name = `${method} ${this.origin}`;
      this.operations.set(method, name);
    }
    return name;
  }

  private compose(deadline: DeadlinePolicy | undefined): Pipeline {
    const { callPolicy, attemptPolicy, attemptReporter, clock } = this.shared;
    const policies = standardOrder({
      outer: callPolicy,
      bulkhead: this.bulkhead,
      deadline,
      retry: this.retry ?? attemptReporter,
      perAttempt: attemptPolicy,
      breaker: this.breaker,
    });
    // No listener: the client reports each call itself, with what its caller got.
    return pipeline({ clock }, ...policies);
  }
}
