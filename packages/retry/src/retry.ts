import {
  type Clock,
  type ContextFn,
  type GiveUpReason,
  type HttpAttemptInfo,
  type RetryScheduledEvent,
  type TelemetryListener,
  isCancelledError,
  isDeadlineExceededError,
  systemClock,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  Continue,
  type Frame,
  type FusedLayer,
  type Next,
  checkBoolean,
  checkFunction,
  checkInteger,
  checkNumber,
  checkClock,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  emit,
  httpAttemptOf,
  markFailedResult,
  optionNames,
  releaseResult,
  type SuccessReporter,
  successReporter,
} from '@bulwark/core/internal';
import { type Backoff, exponentialBackoff } from './backoff.js';
import {
  type ErrorPredicate,
  type ResultPredicate,
  type RetryClassifier,
  defaultClassifier,
} from './classify.js';
import { type DelayHintFn, defaultDelayHint } from './delay-hint.js';
import {
  type Failure,
  type RetryDelay,
  type RetryRules,
  failedValue,
  nextStep,
} from './next-step.js';
import { type RetryBudget, isRetryBudget } from './retry-budget.js';
import { sleep } from './sleep.js';

/** Three attempts in all: the first and two retries. */
const DEFAULT_MAX_ATTEMPTS = 3;
/** Retrying a thousand times is a loop, not a retry; `Infinity` is refused on purpose. */
const MAX_ATTEMPTS_LIMIT = 1000;
/** No backoff delay is longer than this, whatever the backoff says. */
const DEFAULT_MAX_DELAY_MS = 30_000;
/** A server hint above this is cut down to it. */
const DEFAULT_MAX_HINT_MS = 60_000;
/** Neither cap may exceed a day. */
const DELAY_LIMIT_MS = 86_400_000;
/** Exponential from 100 ms, doubling up to 10 s, with full jitter: built once, shared. */
const DEFAULT_BACKOFF: Backoff = exponentialBackoff();

export interface RetryOptions {
  /** Attempts in all, the first included: an integer from 1 to 1000. Default 3. */
  maxAttempts?: number;
  /** The delay before each retry when the server gave no hint. Default: exponential with full jitter, 100 ms to 10 s. */
  backoff?: Backoff;
  /** Caps every backoff delay, in milliseconds. Default 30,000. */
  maxDelayMs?: number;
  /** Which failures are retried. Default {@link defaultClassifier}. */
  classify?: RetryClassifier;
  /** Finds a server delay hint in a failure. Default {@link defaultDelayHint}; `() => undefined` turns hints off. */
  delayHint?: DelayHintFn;
  /** Caps every server hint, in milliseconds. Default 60,000. */
  maxHintMs?: number;
  /** A budget shared with other calls and policies that limits how much retries add to load. */
  budget?: RetryBudget;
  /** Names this policy in telemetry events. */
  name?: string;
  /** Receives `attempt`, `retry-scheduled` and `retry-gave-up` events. */
  listener?: TelemetryListener;
  /** The clock for delays, durations and HTTP dates. Default: the system clock. */
  clock?: Clock;
  /** Random numbers in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Lets the process exit while a call waits for its next attempt. Default false. */
  unref?: boolean;
}

/**
 * The `retry-scheduled` event as this policy emits it: with the server's hint before
 * `maxHintMs` capped it, so a capped hint is visible.
 */
export interface RetryScheduledHintEvent extends RetryScheduledEvent {
  /** The server's hint in milliseconds, uncapped; undefined when the delay came from the backoff. */
  readonly hintMs: number | undefined;
}

const OPTION_NAMES = optionNames<RetryOptions>({
  maxAttempts: true,
  backoff: true,
  maxDelayMs: true,
  classify: true,
  delayHint: true,
  maxHintMs: true,
  budget: true,
  name: true,
  listener: true,
  clock: true,
  random: true,
  unref: true,
});
const CLASSIFY_OPTION_NAMES = optionNames<RetryClassifier>({ error: true, result: true });

interface RetrySettings {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly maxDelayMs: number;
  readonly classify: RetryClassifier;
  readonly delayHint: DelayHintFn;
  readonly maxHintMs: number;
  readonly budget: RetryBudget | undefined;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly unref: boolean;
}

/**
 * Runs the rest of the pipeline again when it fails in a way the classifier retries, waiting a
 * server hint or a backoff delay in between, within the attempt limit, the retry budget and the
 * context's deadline. Built by {@link retry}.
 */
export class RetryPolicy extends BulwarkPolicy implements FusedLayer {
  /** @internal */ readonly usesSlot = false;
  /** @internal The attempt event needs the time the first attempt started. */
  readonly readsClock: boolean;
  readonly maxAttempts: number;
  readonly budget: RetryBudget | undefined;
  readonly name: string | undefined;
  private readonly errorPredicate: ErrorPredicate | undefined;
  private readonly resultPredicate: ResultPredicate | undefined;
  /** What {@link nextStep} decides with after a failed attempt. */
  private readonly rules: RetryRules;
  private readonly listener: TelemetryListener | undefined;
  /** The listener's fast path for successful first attempts, when it has one. */
  private readonly firstAttempts: SuccessReporter | undefined;
  private readonly unref: boolean;

  /** @internal Use {@link retry}, which validates the options. */
  constructor(settings: RetrySettings) {
    super(settings.clock);
    this.maxAttempts = settings.maxAttempts;
    this.errorPredicate = settings.classify.error;
    this.resultPredicate = settings.classify.result;
    this.budget = settings.budget;
    const clock = settings.clock;
    this.rules = {
      maxAttempts: settings.maxAttempts,
      isRetryableError: (error) => this.isRetryableError(error),
      delayHint: settings.delayHint,
      maxHintMs: settings.maxHintMs,
      backoff: settings.backoff,
      maxDelayMs: settings.maxDelayMs,
      random: settings.random,
      budget: settings.budget,
      dateNow: () => clock.dateNow(),
    };
    this.name = settings.name;
    this.listener = settings.listener;
    const name = settings.name;
    this.firstAttempts = successReporter(settings.listener, (operation) => ({
      type: 'attempt',
      policy: 'retry',
      name,
      operation,
      attempt: 1,
      outcome: 'success',
      error: undefined,
    }));
    this.unref = settings.unref;
    this.readsClock = settings.listener !== undefined;
  }

  /** @internal A first attempt takes part in a pipeline's fused path. */
  override fused(): FusedLayer {
    return this;
  }

  /** @internal */
  fusedEnter(): boolean {
    if (this.budget !== undefined) this.budget.recordRequest();
    return true;
  }

  /** @internal */
  fusedSucceeded(frame: Frame, index: number, result: unknown): unknown {
    if (this.resultPredicate !== undefined && this.resultPredicate(result)) {
      return this.fusedRetry(frame, index, { kind: 'result', result });
    }
    if (this.listener !== undefined) {
      this.firstSucceeded(frame.fn, frame.operation, frame.endNow() - frame.now);
    }
    return result;
  }

  /** @internal The first attempt failed: the rest of the call runs layer by layer. */
  fusedFailed(frame: Frame, index: number, error: unknown): unknown {
    return this.fusedRetry(frame, index, { kind: 'error', error });
  }

  private fusedRetry(frame: Frame, index: number, failure: Failure): Continue {
    const next = frame.plan.steps[index + 1]!;
    return new Continue(this.retryAfter(frame.contextAt(index), next, failure, frame.now));
  }

  /** Whether the classifier retries `error`: cockatiel's `handled` flag in `onFailure`. */
  protected override handles(error: unknown): boolean {
    return this.isRetryableError(error);
  }

  private isRetryableError(error: unknown): boolean {
    // Retrying can neither undo the caller's abort nor give back a spent deadline.
    if (isCancelledError(error) || isDeadlineExceededError(error)) return false;
    return this.errorPredicate !== undefined && this.errorPredicate(error);
  }

  // The first attempt, which nearly always succeeds, runs here without an async frame ("Design
  // figures" in benchmarks/RESULTS.md): a `.then` whose handlers only run the slow path after a
  // failure. It reads the clock only for a listener; everything after a failure is retryAfter().
  protected run(context: Context, next: Next): Promise<unknown> {
    if (context.scope.aborted) return Promise.reject(context.scope.abortError());
    if (this.budget !== undefined) this.budget.recordRequest();
    const start = this.listener === undefined ? 0 : this.clock.now();
    let pending: unknown;
    try {
      // A root context already says attempt 1: no need to derive another.
      pending = next.call(context.attempt === 1 ? context : context.withAttempt(1));
    } catch (error: unknown) {
      return this.retryAfter(context, next, { kind: 'error', error }, start);
    }
    const failed = (error: unknown) =>
      this.retryAfter(context, next, { kind: 'error', error }, start);
    if (this.resultPredicate === undefined && this.listener === undefined) {
      return Promise.resolve(pending).then(undefined, failed);
    }
    return Promise.resolve(pending).then((result: unknown) => {
      if (this.resultPredicate !== undefined && this.resultPredicate(result)) {
        return this.retryAfter(context, next, { kind: 'result', result }, start);
      }
      if (this.listener !== undefined) {
        this.firstSucceeded(context.fn, context.operation, this.clock.now() - start);
      }
      return result;
    }, failed);
  }

  /**
   * Reports a first attempt that succeeded (the listener is set). An attempt that describes the
   * HTTP request it sent is a whole event: the fast path carries no more than a duration.
   */
  private firstSucceeded(fn: ContextFn, operation: string | undefined, durationMs: number): void {
    const http = httpAttemptOf(fn, 1);
    if (http === undefined && this.firstAttempts !== undefined) {
      this.firstAttempts.report(operation, durationMs);
      return;
    }
    this.emitAttempt(operation, 1, durationMs, undefined, http);
  }

  /**
   * After attempt 1 failed: reports each attempt, asks {@link nextStep} what to do, waits and
   * runs the next attempt, until a step gives up or an attempt succeeds.
   */
  private async retryAfter(
    context: Context,
    next: Next,
    failure: Failure,
    start: number,
  ): Promise<unknown> {
    const listener = this.listener;
    const scope = context.scope;
    let previousDelayMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (listener !== undefined) {
        const http = httpAttemptOf(context.fn, attempt);
        this.emitAttempt(context.operation, attempt, this.clock.now() - start, failure, http);
      }
      const step = nextStep(this.rules, {
        failure,
        attempt,
        previousDelayMs,
        aborted: scope.aborted,
        context,
      });
      if (step.giveUp !== undefined) {
        // Given up because the scope aborted, the call ends with the scope's reason.
        const last: Failure =
          step.giveUp === 'aborted' ? { kind: 'error', error: scope.abortError() } : failure;
        return this.giveUp(context, attempt, step.giveUp, last);
      }
      if (step.source === 'backoff') previousDelayMs = step.delayMs;
      if (listener !== undefined) this.emitScheduled(context, attempt, step, failure);
      if (failure.kind === 'result') releaseResult(failure.result);
      if (step.delayMs > 0) {
        try {
          await sleep(this.clock, scope, step.delayMs, this.unref);
        } catch (error: unknown) {
          return this.giveUp(context, attempt, 'aborted', { kind: 'error', error });
        }
      }
      if (scope.aborted) {
        return this.giveUp(context, attempt, 'aborted', {
          kind: 'error',
          error: scope.abortError(),
        });
      }

      start = listener === undefined ? 0 : this.clock.now();
      let result: unknown;
      try {
        result = await next.call(context.withAttempt(attempt + 1));
      } catch (error: unknown) {
        failure = { kind: 'error', error };
        continue;
      }
      if (this.resultPredicate !== undefined && this.resultPredicate(result)) {
        failure = { kind: 'result', result };
        continue;
      }
      if (listener !== undefined) {
        const http = httpAttemptOf(context.fn, attempt + 1);
        this.emitAttempt(context.operation, attempt + 1, this.clock.now() - start, undefined, http);
      }
      return result;
    }
  }

  /** Ends the call: a failed result is returned as it is, an error thrown. */
  private giveUp(
    context: Context,
    attempt: number,
    reason: GiveUpReason,
    failure: Failure,
  ): unknown {
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'retry-gave-up',
        policy: 'retry',
        name: this.name,
        operation: context.operation,
        attempt,
        reason,
        error: failedValue(failure),
      });
    }
    if (failure.kind === 'result') {
      // The caller gets the result, but the call failed: its `call` event must say so.
      markFailedResult(failure.result);
      return failure.result;
    }
    throw failure.error;
  }

  /** Reports an attempt (the listener is set): `failure` is undefined for a success. */
  private emitAttempt(
    operation: string | undefined,
    attempt: number,
    durationMs: number,
    failure: Failure | undefined,
    http: HttpAttemptInfo | undefined,
  ): void {
    emit(this.listener!, {
      type: 'attempt',
      policy: 'retry',
      name: this.name,
      operation,
      attempt,
      outcome: failure === undefined ? 'success' : 'failure',
      durationMs,
      error: failure === undefined ? undefined : failedValue(failure),
      http,
    });
  }

  /** Reports the retry `step` schedules after `attempt` failed (the listener is set). */
  private emitScheduled(
    context: Context,
    attempt: number,
    step: RetryDelay,
    failure: Failure,
  ): void {
    const event: RetryScheduledHintEvent = {
      type: 'retry-scheduled',
      policy: 'retry',
      name: this.name,
      operation: context.operation,
      attempt,
      delayMs: step.delayMs,
      delaySource: step.source,
      hintMs: step.hint,
      error: failedValue(failure),
    };
    emit(this.listener!, event);
  }
}

function checkClassifier(value: unknown): asserts value is RetryClassifier {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected classify to be an object with error and/or result predicates, got ${describeValue(value)}`,
    );
  }
  checkKnownOptions('retry', value, CLASSIFY_OPTION_NAMES, 'classify');
  const { error, result } = value as { error?: unknown; result?: unknown };
  if (error === undefined && result === undefined) {
    throw new TypeError('expected classify to have an error or a result predicate, got neither');
  }
  if (error !== undefined) checkFunction('classify.error', error);
  if (result !== undefined) checkFunction('classify.result', result);
}

/**
 * A retry policy. Each attempt runs the rest of the pipeline with `attempt` set (from 1); a
 * failure the classifier retries is retried after the server's delay hint or the backoff, until
 * `maxAttempts`, the budget or the deadline says no, and then the last failure surfaces as it was.
 *
 * @example
 * const policy = retry({ maxAttempts: 4, budget: retryBudget() });
 * const res = await policy.execute(({ signal }) => fetch(url, { signal }));
 */
export function retry(options: RetryOptions = {}): RetryPolicy {
  checkOptionsObject('retry', options);
  checkKnownOptions('retry', options, OPTION_NAMES);
  const {
    maxAttempts = DEFAULT_MAX_ATTEMPTS,
    backoff = DEFAULT_BACKOFF,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    classify = defaultClassifier,
    delayHint = defaultDelayHint,
    maxHintMs = DEFAULT_MAX_HINT_MS,
    budget,
    name,
    listener,
    clock = systemClock,
    random = Math.random,
    unref = false,
  } = options;
  checkInteger('maxAttempts', maxAttempts, 1, MAX_ATTEMPTS_LIMIT);
  checkFunction('backoff', backoff);
  checkNumber('maxDelayMs', maxDelayMs, 0, DELAY_LIMIT_MS);
  checkClassifier(classify);
  checkFunction('delayHint', delayHint);
  checkNumber('maxHintMs', maxHintMs, 0, DELAY_LIMIT_MS);
  if (budget !== undefined && !isRetryBudget(budget)) {
    throw new TypeError(
      `expected budget to be a RetryBudget from retryBudget(), got ${describeValue(budget)}`,
    );
  }
  if (name !== undefined) checkString('name', name);
  if (listener !== undefined) checkFunction('listener', listener);
  checkClock(clock);
  checkFunction('random', random);
  checkBoolean('unref', unref);
  return new RetryPolicy({
    maxAttempts,
    backoff,
    maxDelayMs,
    classify,
    delayHint,
    maxHintMs,
    budget,
    name,
    listener,
    clock,
    random,
    unref,
  });
}
