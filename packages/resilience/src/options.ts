import type { Clock, ExecutionContext, TelemetryListener } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { Bulkhead, BulkheadOptions } from '@bulwark/bulkhead';
import type { CircuitBreaker, CircuitBreakerOptions } from '@bulwark/circuit-breaker';
import type { FallbackOptions } from '@bulwark/fallback';
import type { HedgingOptions } from '@bulwark/hedging';
import type { RateLimitPolicyOptions } from '@bulwark/rate-limit';
import type { RetryBudget, RetryBudgetOptions, RetryOptions } from '@bulwark/retry';
import { MAX_TIMEOUT_MS } from '@bulwark/timeout';

/** Picks the circuit breaker of one call: the "breaker per key" hook. */
export type BreakerFor = (context: ExecutionContext) => CircuitBreaker;

export interface StandardPipelineOptions {
  /** Names the operation in the execution context and in every telemetry event. */
  operation?: string;
  /**
   * Receives the pipeline's `call` events and the events of every stage this factory builds
   * (a stage's own `listener` option wins). The rate limiter reports to its limiter's listener.
   */
  listener?: TelemetryListener;
  /** The clock of the pipeline and of every stage it builds. Default: the system clock. */
  clock?: Clock;
  /** Stage 1: a `rateLimit()` policy's options (its `limiter` is required). Default: off. */
  rateLimit?: false | RateLimitPolicyOptions;
  /**
   * Stage 1: a concurrency limit. `true` or options without `limit`: {@link DEFAULT_BULKHEAD_LIMIT}
   * calls at once, {@link DEFAULT_BULKHEAD_QUEUE} waiting; or a `bulkhead()` you built (shared
   * between pipelines). Default: off.
   */
  bulkhead?: boolean | Partial<BulkheadOptions> | Bulkhead;
  /** Stage 2: the whole call's budget in milliseconds, or `false`. Default {@link DEFAULT_DEADLINE_MS}. */
  deadlineMs?: number | false;
  /** Stage 3: a `fallback()` policy's options (`value` or `fn` is required). Default: off. */
  fallback?: false | FallbackOptions;
  /** Stage 4: retries, or `false`. Default: on, with the defaults of this package. */
  retry?: boolean | Omit<RetryOptions, 'budget'>;
  /**
   * Stage 4, in retry's place: hedged attempts for calls safe to repeat (`idempotent` is
   * required). Setting it turns the default retry off; giving both throws. Default: off.
   */
  hedging?: false | Omit<HedgingOptions, 'budget'>;
  /**
   * The retry budget that the retry or the hedging draws on: options for a new one, one you
   * built (shared with other pipelines), or `false` for none. Default: a new budget with this
   * package's defaults.
   */
  budget?: false | RetryBudget | RetryBudgetOptions;
  /**
   * Stage 5: the circuit breaker: options, a breaker you built (a registry's `get(key)`), a
   * function that picks the breaker for each call (`(context) => registry.get(key)`), or `false`.
   * Default: on, with the defaults of this package.
   */
  breaker?: boolean | CircuitBreakerOptions | CircuitBreaker | BreakerFor;
  /** Stage 6: each attempt's time limit in milliseconds, or `false`. Default {@link DEFAULT_ATTEMPT_TIMEOUT_MS}. */
  attemptTimeoutMs?: number | false;
}

export const OPTION_NAMES: readonly string[] = [
  'operation',
  'listener',
  'clock',
  'rateLimit',
  'bulkhead',
  'deadlineMs',
  'fallback',
  'retry',
  'hedging',
  'budget',
  'breaker',
  'attemptTimeoutMs',
];

/**
 * Checks what the factory decides itself. The stages' own options are checked by their
 * packages' factories when the stages are built, with those packages' messages.
 */
export function checkOptions(options: StandardPipelineOptions): void {
  checkOptionsObject('standardPipeline', options);
  checkKnownOptions('standardPipeline', options, OPTION_NAMES);
  if (options.operation !== undefined) checkString('operation', options.operation);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (options.clock !== undefined) checkClock(options.clock);
  checkMs('deadlineMs', options.deadlineMs);
  checkMs('attemptTimeoutMs', options.attemptTimeoutMs);
  const retryOn = options.retry !== undefined && options.retry !== false;
  const hedgingOn = options.hedging !== undefined && options.hedging !== false;
  if (retryOn && hedgingOn) {
    throw new TypeError(
      'expected retry or hedging, got both: a call is retried or hedged, not both (hedging replaces the default retry; set retry to false or leave it out)',
    );
  }
  refuseOwnBudget('retry', options.retry);
  refuseOwnBudget('hedging', options.hedging);
}

function checkMs(name: string, value: unknown): void {
  if (value === undefined || value === false) return;
  if (typeof value !== 'number') {
    throw new TypeError(
      `expected ${name} to be an integer between 1 and ${MAX_TIMEOUT_MS} or false, got ${describeValue(value)}`,
    );
  }
  checkInteger(name, value, 1, MAX_TIMEOUT_MS);
}

// One budget is the point of the factory: a budget given to a stage would be a second one.
function refuseOwnBudget(stage: string, value: unknown): void {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'budget')) {
    throw new TypeError(
      `unknown option "${stage}.budget" for standardPipeline(); give the retry budget as the top-level budget option, shared by the retry or hedging stage`,
    );
  }
}
