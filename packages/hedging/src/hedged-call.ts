import {
  CancelledError,
  type Clock,
  type HedgeTrigger,
  type TelemetryListener,
  isCancelledError,
  isDeadlineExceededError,
} from '@bulwark/core';
import {
  type Context,
  Expirable,
  type Next,
  Scope,
  type TimerQueue,
  emit,
  releaseResult,
} from '@bulwark/core/internal';
import type { ErrorPredicate, ResultPredicate, RetryBudget } from '@bulwark/retry';
import type { AdaptiveDelayEstimator } from './adaptive-delay.js';

/** What a hedger works out once, at construction, and each of its calls reads. */
export interface HedgingSettings {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The delay before attempt `attempt` (from 2): a number >= 0, or Infinity for none on time. */
  readonly delayFor: (attempt: number, context: Context, now: number) => number;
  /** The latencies the delay learns from, when it adapts. */
  readonly adaptive: AdaptiveDelayEstimator | undefined;
  readonly errorPredicate: ErrorPredicate | undefined;
  readonly resultPredicate: ResultPredicate | undefined;
  readonly budget: RetryBudget | undefined;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
  /** The expiries of every call waiting to hedge: one timer for the hedger, not one per call. */
  readonly queue: TimerQueue;
}

/**
 * Whether an error is a failure to hedge past. A cancellation or a spent deadline never is:
 * another attempt can neither undo the caller's abort nor give back the time.
 */
export function isHedgeableError(settings: HedgingSettings, error: unknown): boolean {
  if (isCancelledError(error) || isDeadlineExceededError(error)) return false;
  return settings.errorPredicate !== undefined && settings.errorPredicate(error);
}

/**
 * The attempts of a call that has started none yet. Shared and never written to: the first
 * attempt replaces it with an array of one, as pushing onto an empty array reserves room for
 * many, and most calls never start a second.
 */
const NO_ATTEMPTS: Attempt[] = [];

/**
 * One attempt of a hedged call. It is the cancellation scope the attempt runs in (a child of the
 * call's), so that it can be aborted alone, and one object per attempt is all it costs.
 */
class Attempt extends Scope {
  ended = false;

  constructor(
    readonly call: HedgedCall,
    readonly number: number,
    parent: Scope,
    /** The clock reading it started at. */
    readonly startedAt: number,
  ) {
    super(parent, undefined);
  }

  succeeded(value: unknown): void {
    this.call.settle(this, true, value);
  }

  failed(error: unknown): void {
    this.call.settle(this, false, error);
  }
}

/**
 * The call whose promise is being built: {@link keepSettlers}, the promise's executor, stores
 * the promise's resolve/reject on it. One module-level executor instead of a closure per call,
 * which would capture the call in a context of its own; the executor runs synchronously, so no
 * other call can be in between (the same choice as core's fused path).
 */
let callAwaitingSettlers: HedgedCall | undefined;
function keepSettlers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  callAwaitingSettlers!.resolve = resolve;
  callAwaitingSettlers!.reject = reject;
}

/**
 * One call through a hedger: its attempts, and its place in the hedger's timer queue while the
 * next hedge waits for its delay. The first acceptable outcome settles the call and aborts every
 * attempt still running; a failure starts the next hedge at once; when nothing is running and
 * nothing more may start, the last failure surfaces as it was.
 */
export class HedgedCall extends Expirable {
  readonly promise: Promise<unknown>;
  /** @internal Set by {@link keepSettlers}. */
  resolve!: (value: unknown) => void;
  /** @internal Set by {@link keepSettlers}. */
  reject!: (error: unknown) => void;
  private attempts: Attempt[] = NO_ATTEMPTS;
  private running = 0;
  /** The call has settled: outcomes still arriving are the losers'. */
  private done = false;
  /** False once the budget refused a hedge: the call starts no more. */
  private mayHedge = true;
  /** The latest failure, surfaced if no attempt does better. */
  private failure: unknown = undefined;
  private failureIsResult = false;
  private hasFailure = false;
  /** The delay the queued expiry was set for, for the `hedge-started` event. */
  private delayMs = 0;

  constructor(
    private readonly settings: HedgingSettings,
    private readonly context: Context,
    private readonly inner: Next,
  ) {
    super();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by keepSettlers, at once
    callAwaitingSettlers = this;
    this.promise = new Promise(keepSettlers);
    callAwaitingSettlers = undefined;
  }

  /** Starts the first attempt at `now`, and the hedges whose delay is 0. */
  start(now: number): void {
    const budget = this.settings.budget;
    // Deposits as a retry policy does: once per call, not per retry of an outer retry policy.
    if (budget !== undefined && this.context.attempt === 1) budget.recordRequest();
    this.launch(now);
    this.scheduleNext(now);
  }

  private mayStartAnother(): boolean {
    return !this.done && this.mayHedge && this.attempts.length < this.settings.maxAttempts;
  }

  /** Runs the rest of the pipeline as the next attempt, with a scope and a context of its own. */
  private launch(now: number): void {
    const { context } = this;
    const number = this.attempts.length + 1;
    const attempt = new Attempt(this, number, context.scope, now);
    if (number === 1) this.attempts = [attempt];
    else this.attempts.push(attempt);
    this.running++;
    let pending: unknown;
    try {
      pending = this.inner.call(context.withAttemptIn(number, attempt));
    } catch (error: unknown) {
      pending = Promise.reject(error);
    }
    // Bound methods: a bound function is smaller than a closure and its context.
    Promise.resolve(pending).then(attempt.succeeded.bind(attempt), attempt.failed.bind(attempt));
  }

  /** Queues the next hedge for its delay, or starts it now when the delay is 0. */
  private scheduleNext(now: number): void {
    const { settings, context } = this;
    while (this.mayStartAnother()) {
      const delayMs = settings.delayFor(this.attempts.length + 1, context, now);
      // A hedge due at or after the deadline could not answer in time (nor can one never due).
      if (!(delayMs < context.deadline - now)) return;
      if (delayMs > 0) {
        this.delayMs = delayMs;
        settings.queue.add(this, now, delayMs);
        return;
      }
      if (!this.hedge('delay', 0, now)) return;
    }
  }

  /** Starts another attempt unless the cap, the caller's abort, the deadline or the budget says no. */
  private hedge(trigger: HedgeTrigger, delayMs: number, now: number): boolean {
    if (!this.mayStartAnother()) return false;
    const { settings, context } = this;
    if (context.scope.aborted || !(now < context.deadline)) return false;
    // Taken last, so a hedge refused for another reason leaves the budget alone.
    if (settings.budget !== undefined && !settings.budget.tryAcquireRetry()) {
      this.mayHedge = false;
      return false;
    }
    if (settings.listener !== undefined) {
      emit(settings.listener, {
        type: 'hedge-started',
        policy: 'hedging',
        name: settings.name,
        operation: context.operation,
        attempt: this.attempts.length + 1,
        delayMs,
        trigger,
      });
    }
    this.launch(now);
    return true;
  }

  /** @internal The hedger's timer: the delay before the next hedge has passed. */
  onExpire(): void {
    const now = this.settings.clock.now();
    if (this.hedge('delay', this.delayMs, now)) this.scheduleNext(now);
  }

  /** @internal An attempt settled. */
  settle(attempt: Attempt, ok: boolean, value: unknown): void {
    attempt.ended = true;
    attempt.dispose();
    this.running--;
    if (this.done) {
      // A loser that answered after all: nobody will read its result.
      if (ok) releaseResult(value);
      return;
    }
    const { settings, context } = this;
    if (
      !ok &&
      (context.scope.aborted || isCancelledError(value) || isDeadlineExceededError(value))
    ) {
      // The caller aborted or the deadline is spent: no other attempt can do better.
      this.end(attempt, false, context.scope.aborted ? context.scope.abortError() : value);
      return;
    }
    const failed = ok
      ? settings.resultPredicate !== undefined && settings.resultPredicate(value)
      : isHedgeableError(settings, value);
    if (!failed) {
      this.win(attempt, ok, value);
      return;
    }
    if (this.hasFailure && this.failureIsResult) releaseResult(this.failure);
    this.failure = value;
    this.failureIsResult = ok;
    this.hasFailure = true;
    const now = settings.clock.now();
    // The delay waits for a slow answer; a failure is an answer, so the next hedge starts now.
    if (this.hedge('failure', 0, now)) {
      settings.queue.delete(this);
      this.scheduleNext(now);
    } else if (this.running === 0) {
      this.giveUp();
    }
  }

  /** An attempt's outcome is acceptable: it is the call's. */
  private win(winner: Attempt, ok: boolean, value: unknown): void {
    const { settings, context } = this;
    const adaptive = settings.adaptive;
    // Only answers are learnt from (see adaptive-delay.ts): an aborted attempt's time is a lower
    // bound, and counting it as a latency would push the delay up by its own hedging.
    if (adaptive !== undefined && ok) {
      const now = settings.clock.now();
      adaptive.record(now - winner.startedAt, now);
    }
    if (settings.listener !== undefined && this.attempts.length > 1) {
      emit(settings.listener, {
        type: 'hedge-won',
        policy: 'hedging',
        name: settings.name,
        operation: context.operation,
        attempt: winner.number,
        attempts: this.attempts.length,
      });
    }
    this.end(winner, ok, value);
  }

  /** Nothing is running and nothing more may start: the last failure surfaces as it was. */
  private giveUp(): void {
    const { failure, failureIsResult, context } = this;
    this.hasFailure = false;
    if (context.scope.aborted) {
      if (failureIsResult) releaseResult(failure);
      this.end(undefined, false, context.scope.abortError());
    } else {
      this.end(undefined, failureIsResult, failure);
    }
  }

  /** Settles the call with `value`, and aborts every attempt still running. */
  private end(winner: Attempt | undefined, ok: boolean, value: unknown): void {
    this.done = true;
    const settings = this.settings;
    settings.queue.delete(this);
    if (this.hasFailure && this.failureIsResult) releaseResult(this.failure);
    if (this.running > 0) {
      const cancelled = this.cancelRunning(winner);
      if (cancelled > 0 && settings.listener !== undefined) {
        emit(settings.listener, {
          type: 'hedge-cancelled',
          policy: 'hedging',
          name: settings.name,
          operation: this.context.operation,
          count: cancelled,
        });
      }
    }
    if (ok) this.resolve(value);
    else this.reject(value);
  }

  /** Aborts the attempts still running; returns how many this aborted. */
  private cancelRunning(winner: Attempt | undefined): number {
    const reason = new CancelledError(
      winner === undefined
        ? 'hedged attempt cancelled: the call has ended'
        : `hedged attempt cancelled: attempt ${winner.number} answered first`,
    );
    let cancelled = 0;
    for (const attempt of this.attempts) {
      if (attempt.ended || attempt.aborted) continue;
      attempt.abort(reason);
      cancelled++;
    }
    return cancelled;
  }
}
