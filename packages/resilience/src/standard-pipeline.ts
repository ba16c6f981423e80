import {
  type AnyPolicy,
  type Clock,
  type ExecutionContext,
  type Pipeline,
  type PipelineOptions,
  type Policy,
  type TelemetryListener,
  pipeline,
  systemClock,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  checkKnownOptions,
  describeValue,
} from '@bulwark/core/internal';
import { type Bulkhead, bulkhead } from '@bulwark/bulkhead';
import {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  circuitBreaker,
  timeWindow,
} from '@bulwark/circuit-breaker';
import { type FallbackPolicy, fallback } from '@bulwark/fallback';
import { type HedgingPolicy, hedging } from '@bulwark/hedging';
import { type RateLimitPolicy, rateLimit } from '@bulwark/rate-limit';
import {
  type RetryBudget,
  type RetryPolicy,
  exponentialBackoff,
  retry,
  retryBudget,
} from '@bulwark/retry';
import { type DeadlinePolicy, type TimeoutPolicy, deadline, timeout } from '@bulwark/timeout';
import { BreakerPerCall } from './breaker-per-call.js';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BREAKER_FAILURE_RATIO,
  DEFAULT_BREAKER_MIN_THROUGHPUT,
  DEFAULT_BREAKER_WINDOW_MS,
  DEFAULT_BREAK_DURATION_MS,
  DEFAULT_BULKHEAD_LIMIT,
  DEFAULT_BULKHEAD_QUEUE,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BREAK_DURATION_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
  DEFAULT_RETRY_BUDGET_RATIO,
  DEFAULT_RETRY_BUDGET_WINDOW_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
} from './defaults.js';
import { type StandardPipelineOptions, checkOptions } from './options.js';
import { standardOrder } from './standard-order.js';

// Both are descriptions without state of their own: one serves every pipeline.
const DEFAULT_BACKOFF = exponentialBackoff({
  initialDelayMs: DEFAULT_RETRY_BASE_DELAY_MS,
  maxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS,
});
const DEFAULT_BREAKER_STRATEGY = timeWindow({
  windowMs: DEFAULT_BREAKER_WINDOW_MS,
  failureRatio: DEFAULT_BREAKER_FAILURE_RATIO,
  minimumThroughput: DEFAULT_BREAKER_MIN_THROUGHPUT,
});
const BUDGET_OPTION_NAMES = ['ratio', 'minRetriesPerSecond', 'windowMs', 'clock'];

/**
 * The standard pipeline: a policy (`execute(fn, signal?)`, and a step of `pipeline()`), with a
 * handle on each stage it holds. A handle is undefined when its stage is off; `breaker` is also
 * undefined when a function picks the breaker per call.
 */
export interface StandardPipeline extends Policy {
  /** The stages, outermost first, as composed. */
  readonly policies: readonly AnyPolicy[];
  readonly rateLimit: RateLimitPolicy | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly deadline: DeadlinePolicy | undefined;
  readonly fallback: FallbackPolicy | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly hedging: HedgingPolicy | undefined;
  /** The budget the retry or the hedging draws on: read its `state` for metrics. */
  readonly budget: RetryBudget | undefined;
  /** The breaker: `state` and `view()` for health checks, `isolate()` and `reset()` for operators. */
  readonly breaker: CircuitBreaker | undefined;
  readonly attemptTimeout: TimeoutPolicy | undefined;
}

/** What the factory built or was given, stage by stage: the pipeline's handles, and the breaker stage. */
interface Stages extends Omit<StandardPipeline, keyof Policy | 'policies'> {
  /** The breaker stage as composed: the breaker itself, or the stage that picks one per call. */
  readonly breakerStage: AnyPolicy | undefined;
}

/** The listener and clock every stage the factory builds is given, unless its options say otherwise. */
interface Common {
  readonly clock: Clock;
  readonly listener?: TelemetryListener;
}

class StandardPipelinePolicy extends BulwarkPolicy implements StandardPipeline {
  readonly policies: readonly AnyPolicy[];
  readonly rateLimit: RateLimitPolicy | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly deadline: DeadlinePolicy | undefined;
  readonly fallback: FallbackPolicy | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly hedging: HedgingPolicy | undefined;
  readonly budget: RetryBudget | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly attemptTimeout: TimeoutPolicy | undefined;

  constructor(
    stages: Stages,
    private readonly composed: Pipeline,
  ) {
    super(composed.clock);
    this.policies = composed.policies;
    this.rateLimit = stages.rateLimit;
    this.bulkhead = stages.bulkhead;
    this.deadline = stages.deadline;
    this.fallback = stages.fallback;
    this.retry = stages.retry;
    this.hedging = stages.hedging;
    this.budget = stages.budget;
    this.breaker = stages.breaker;
    this.attemptTimeout = stages.attemptTimeout;
  }

  // The composed pipeline's own execute() keeps its fused path; only an onSuccess/onFailure
  // listener on this object needs the layer-by-layer path that reports to it.
  override execute<T>(
    fn: (context: ExecutionContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    // A signal argument, even `undefined`, marks a caller such as cockatiel's wrap().
    const spreadable = arguments.length > 1;
    if (this.observed) return spreadable ? super.execute(fn, signal) : super.execute(fn);
    return spreadable ? this.composed.execute(fn, signal) : this.composed.execute(fn);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    return this.composed.invoke(context, next);
  }
}

/**
 * The recommended pipeline for any async call, outermost first: rate limit, bulkhead, total
 * deadline, fallback, retry or hedging (on one retry budget), circuit breaker, attempt timeout.
 * Deadline, retry, breaker and attempt timeout are on by default, with the defaults of
 * `defaults.ts`; every stage can be tuned by its options, replaced by an instance, or turned off
 * with `false`.
 *
 * @example
 * const getUser = standardPipeline({ operation: 'users.get' });
 * const user = await getUser.execute(({ signal }) => fetch(url, { signal }).then((r) => r.json()));
 */
export function standardPipeline(options: StandardPipelineOptions = {}): StandardPipeline {
  checkOptions(options);
  const clock = options.clock ?? systemClock;
  const common: Common =
    options.listener === undefined ? { clock } : { clock, listener: options.listener };
  const stages = buildStages(options, common);
  const policies = standardOrder({
    rateLimit: stages.rateLimit,
    bulkhead: stages.bulkhead,
    deadline: stages.deadline,
    fallback: stages.fallback,
    retry: stages.retry ?? stages.hedging,
    breaker: stages.breakerStage,
    attemptTimeout: stages.attemptTimeout,
  });
  const pipelineOptions: PipelineOptions = { ...common };
  if (options.operation !== undefined) pipelineOptions.operation = options.operation;
  return new StandardPipelinePolicy(stages, pipeline(pipelineOptions, ...policies));
}

function buildStages(options: StandardPipelineOptions, common: Common): Stages {
  const hedgingOn = options.hedging !== undefined && options.hedging !== false;
  // Hedging takes retry's place unless retry was asked for, which checkOptions refused.
  const retryOn = !hedgingOn && options.retry !== false;
  const budget = retryOn || hedgingOn ? buildBudget(options.budget, common.clock) : undefined;
  const breaker = buildBreaker(options.breaker, common);
  return {
    rateLimit: options.rateLimit ? rateLimit(options.rateLimit) : undefined,
    bulkhead: buildBulkhead(options.bulkhead, common),
    deadline:
      options.deadlineMs === false
        ? undefined
        : deadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS, { ...common }),
    fallback: options.fallback
      ? fallback({ ...common, ...ownOptions('fallback', options.fallback) })
      : undefined,
    retry: retryOn
      ? retry({
          maxAttempts: DEFAULT_MAX_ATTEMPTS,
          backoff: DEFAULT_BACKOFF,
          ...common,
          ...stageOptions('retry', options.retry),
          budget,
        })
      : undefined,
    hedging: options.hedging
      ? hedging({ ...common, ...ownOptions('hedging', options.hedging), budget })
      : undefined,
    budget,
    breaker: breaker instanceof BreakerPerCall ? undefined : breaker,
    breakerStage: breaker,
    attemptTimeout:
      options.attemptTimeoutMs === false
        ? undefined
        : timeout(options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS, { ...common }),
  };
}

function buildBudget(value: StandardPipelineOptions['budget'], clock: Clock) {
  if (value === false) return undefined;
  if (isRetryBudget(value)) return value;
  const own =
    value === undefined
      ? undefined
      : ownOptions('budget', value, 'a retryBudget(), its options or false');
  if (own !== undefined) checkKnownOptions('retryBudget', own, BUDGET_OPTION_NAMES, 'budget');
  return retryBudget({
    ratio: DEFAULT_RETRY_BUDGET_RATIO,
    minRetriesPerSecond: DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
    windowMs: DEFAULT_RETRY_BUDGET_WINDOW_MS,
    clock,
    ...own,
  });
}

function buildBulkhead(value: StandardPipelineOptions['bulkhead'], common: Common) {
  if (value === undefined || value === false) return undefined;
  if (isPolicyLike(value)) return value;
  return bulkhead({
    limit: DEFAULT_BULKHEAD_LIMIT,
    queue: DEFAULT_BULKHEAD_QUEUE,
    ...common,
    ...stageOptions('bulkhead', value),
  });
}

function buildBreaker(
  value: StandardPipelineOptions['breaker'],
  common: Common,
): CircuitBreaker | BreakerPerCall | undefined {
  if (value === false) return undefined;
  if (isPolicyLike(value)) return value;
  if (typeof value === 'function') return new BreakerPerCall(value, common.clock);
  const own: CircuitBreakerOptions = stageOptions('breaker', value) ?? {};
  const breakMs = typeof own.breakDurationMs === 'number' ? own.breakDurationMs : 0;
  return circuitBreaker({
    strategy: DEFAULT_BREAKER_STRATEGY,
    breakDurationMs: DEFAULT_BREAK_DURATION_MS,
    // A longer break of the caller's own must not fall foul of the default cap.
    breakBackoff: { maxMs: Math.max(DEFAULT_MAX_BREAK_DURATION_MS, breakMs) },
    ...common,
    ...own,
  });
}

/**
 * A stage's own options: undefined for `true` or absent (the defaults), the object otherwise.
 * Anything else would be spread as nothing and silently give the defaults, so it throws.
 */
function stageOptions<T extends object>(
  name: string,
  value: T | boolean | undefined,
): T | undefined {
  if (value === undefined || value === true) return undefined;
  return ownOptions(name, value, 'an options object or a boolean');
}

/** The options of a stage that has no defaults of its own (fallback, hedging): an object. */
function ownOptions<T extends object>(
  name: string,
  value: T | boolean,
  expected = 'an options object or false',
): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${name} to be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

function isPolicyLike(value: unknown): value is AnyPolicy {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Partial<AnyPolicy>).execute === 'function'
  );
}

function isRetryBudget(value: unknown): value is RetryBudget {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RetryBudget>).recordRequest === 'function' &&
    typeof (value as Partial<RetryBudget>).tryAcquireRetry === 'function'
  );
}
