import { type Clock, type TelemetryListener, isCancelledError, systemClock } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  Continue,
  type Frame,
  type FusedLayer,
  type Next,
  TimerQueue,
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  emit,
  releaseResult,
} from '@bulwark/core/internal';
import {
  DEFAULT_WHEN,
  type FallbackClassifier,
  type FallbackErrorPredicate,
  type FallbackResultPredicate,
  checkClassifier,
  failureReason,
} from './classify.js';
import {
  type FallbackFn,
  TimedFallback,
  type TimedFallbackSettings,
  callerScope,
} from './timed-fallback.js';

/**
 * A fallback is a last resort: a local cache, a default. One that takes longer than this should
 * not keep the caller waiting as long as the call it stands in for.
 */
const DEFAULT_TIMEOUT_MS = 1_000;
/** Node timers overflow past 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

const OPTION_NAMES: readonly string[] = [
  'value',
  'fn',
  'when',
  'timeoutMs',
  'name',
  'listener',
  'clock',
];

interface FallbackCommonOptions {
  /**
   * Which failures to answer for: thrown errors and returned values. Default: every thrown error
   * ({@link DEFAULT_WHEN}), no returned value. A cancellation is never answered for.
   */
  when?: FallbackClassifier;
  /** Names this policy in telemetry events. */
  name?: string;
  /** Receives a `fallback` event each time the fallback answers, or fails to. */
  listener?: TelemetryListener;
  /** The clock for the function's time limit and durations. Default: the system clock. */
  clock?: Clock;
}

/** Answer with a fixed value. */
export interface FallbackValueOptions extends FallbackCommonOptions {
  /** What the call returns instead of a failure it answers for. */
  value: unknown;
  fn?: never;
  timeoutMs?: never;
}

/** Answer with what a function returns. */
export interface FallbackFnOptions extends FallbackCommonOptions {
  /** Runs once per failure answered for, with `{ error, isResult, context }`. */
  fn: FallbackFn;
  /** The function's time limit in milliseconds (an integer >= 1). Default 1,000. */
  timeoutMs?: number;
  value?: never;
}

export type FallbackOptions = FallbackValueOptions | FallbackFnOptions;

/**
 * Answers for a classified failure of the rest of the pipeline with a value, or with a function
 * run once under its own time limit. Built by {@link fallback}.
 */
export class FallbackPolicy extends BulwarkPolicy implements FusedLayer {
  /** @internal */ readonly usesSlot = false;
  /** @internal */ readonly readsClock = false;
  readonly name: string | undefined;
  private readonly errorPredicate: FallbackErrorPredicate | undefined;
  private readonly resultPredicate: FallbackResultPredicate | undefined;
  private readonly listener: TelemetryListener | undefined;
  /** The fixed answer, when the policy has no function. */
  private readonly value: unknown;
  /** Set when the policy answers with a function. */
  private readonly timed: TimedFallbackSettings | undefined;

  /** @internal Use {@link fallback}, which validates the options. */
  constructor(settings: {
    value: unknown;
    fn: FallbackFn | undefined;
    timeoutMs: number;
    when: FallbackClassifier;
    name: string | undefined;
    listener: TelemetryListener | undefined;
    clock: Clock;
  }) {
    super(settings.clock);
    this.name = settings.name;
    this.errorPredicate = settings.when.error;
    this.resultPredicate = settings.when.result;
    this.listener = settings.listener;
    this.value = settings.value;
    this.timed =
      settings.fn === undefined
        ? undefined
        : {
            fn: settings.fn,
            timeoutMs: settings.timeoutMs,
            name: settings.name,
            listener: settings.listener,
            clock: settings.clock,
            queue: new TimerQueue(settings.clock),
          };
  }

  /** @internal A fallback takes part in a pipeline's fused path: it has nothing to enter. */
  override fused(): FusedLayer {
    return this;
  }

  /** @internal */
  fusedEnter(): boolean {
    return true;
  }

  /** @internal */
  fusedSucceeded(frame: Frame, index: number, result: unknown): unknown {
    if (this.resultPredicate === undefined || !this.resultPredicate(result)) return result;
    const context = frame.contextAt(index);
    if (!this.answersFor(context, result, true)) return result;
    return new Continue(this.answer(context, result, true));
  }

  /** @internal */
  fusedFailed(frame: Frame, index: number, error: unknown): unknown {
    const context = frame.contextAt(index);
    if (!this.answersFor(context, error, false)) return error;
    return new Continue(this.answer(context, error, false));
  }

  /** Whether `when` answers for `error`: cockatiel's `onFailure` `handled` flag. */
  protected override handles(error: unknown): boolean {
    return (
      !isCancelledError(error) && this.errorPredicate !== undefined && this.errorPredicate(error)
    );
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    if (context.scope.aborted) return this.afterError(context, context.scope.abortError());
    let pending: unknown;
    try {
      pending = next.call(context);
    } catch (error: unknown) {
      return this.afterError(context, error);
    }
    const failed = (error: unknown) => this.afterError(context, error);
    if (this.resultPredicate === undefined) return Promise.resolve(pending).then(undefined, failed);
    return Promise.resolve(pending).then((result: unknown) => {
      if (!this.resultPredicate!(result) || !this.answersFor(context, result, true)) return result;
      return this.answer(context, result, true);
    }, failed);
  }

  private afterError(context: Context, error: unknown): Promise<unknown> {
    if (!this.answersFor(context, error, false)) return Promise.reject(error);
    return this.answer(context, error, false);
  }

  /**
   * Whether the fallback answers for this failure. Never for a cancellation, nor once the
   * caller's own signal has aborted: the caller stopped listening, and its abort is a decision,
   * not a failure to paper over.
   */
  private answersFor(context: Context, failure: unknown, isResult: boolean): boolean {
    if (!isResult && isCancelledError(failure)) return false;
    if (callerScope(context.scope).aborted) return false;
    const predicate = isResult ? this.resultPredicate : this.errorPredicate;
    return predicate !== undefined && predicate(failure);
  }

  /** The answer: the value, or the function's result under its time limit. */
  private answer(context: Context, failure: unknown, isResult: boolean): Promise<unknown> {
    const reason = failureReason(failure, isResult);
    if (this.timed !== undefined) {
      const run = new TimedFallback(this.timed, context, failure, isResult, reason);
      run.start();
      return run.promise;
    }
    // The failed result is replaced: release it, so its connection is not held until collected.
    if (isResult) releaseResult(failure);
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'fallback',
        policy: 'fallback',
        name: this.name,
        operation: context.operation,
        reason,
        outcome: 'success',
        durationMs: 0,
        error: failure,
        fallbackError: undefined,
      });
    }
    return Promise.resolve(this.value);
  }
}

/**
 * A fallback policy: on a failure `when` classifies (by default, every thrown error), the call
 * answers with `value`, or with what `fn` returns. `fn` runs once, with `{ error, isResult,
 * context }`, under its own time limit (`timeoutMs`, default 1,000 ms, and no later than a
 * pipeline deadline that has time left); its own failure surfaces as a `FallbackFailedError`
 * whose `cause` is the original failure. A cancellation by the caller is never answered for.
 *
 * @example
 * const withDefault = pipeline(fallback({ value: [] }), circuitBreaker(), timeout(500));
 * const items = await withDefault.execute(({ signal }) => listItems({ signal }));
 */
export function fallback(options: FallbackOptions): FallbackPolicy {
  checkOptionsObject('fallback', options);
  checkKnownOptions('fallback', options, OPTION_NAMES);
  const hasValue = 'value' in options;
  const { fn, timeoutMs, when = DEFAULT_WHEN, name, listener, clock = systemClock } = options;
  if (hasValue === (fn !== undefined)) {
    throw new TypeError(
      `expected exactly one of value and fn, got ${hasValue ? 'both' : 'neither'}`,
    );
  }
  if (fn !== undefined) checkFunction('fn', fn);
  if (timeoutMs !== undefined) {
    if (fn === undefined) {
      throw new TypeError(
        'expected timeoutMs only with fn (a value needs no time limit), got it with value',
      );
    }
    checkInteger('timeoutMs', timeoutMs, 1, MAX_TIMEOUT_MS);
  }
  checkClassifier(when);
  if (name !== undefined) checkString('name', name);
  if (listener !== undefined) checkFunction('listener', listener);
  checkClock(clock);
  return new FallbackPolicy({
    value: hasValue ? options.value : undefined,
    fn,
    timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS,
    when,
    name,
    listener,
    clock,
  });
}
