import {
  type Clock,
  type PolicyEvent,
  type TelemetryListener,
  DeadlineExceededError,
  TimeoutError,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  Expirable,
  type FusedLimit,
  type Next,
  type Scope,
  TimerQueue,
  emit,
} from '@bulwark/core/internal';

/**
 * How a time limit ends a call that runs too long.
 * - `aggressive`: the signal aborts and the caller is released at once with the error, whether or
 *   not the function stops (its eventual result is discarded).
 * - `cooperative`: the signal aborts and the caller waits for the function to stop; if it then
 *   fails, the failure is reported as the timeout.
 */
export type TimeoutStrategy = 'aggressive' | 'cooperative';

export const DEFAULT_STRATEGY: TimeoutStrategy = 'aggressive';

/** One running call under a time limit: its queue entry, scope, and (aggressive) its settle functions. */
class LimitedCall extends Expirable {
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;
  settled = false;
  unsubscribe: (() => void) | undefined = undefined;

  constructor(
    readonly limit: TimeLimit,
    readonly context: Context,
    readonly scope: Scope,
    /** True when the remaining deadline, not this policy's own duration, set the expiry. */
    readonly byDeadline: boolean,
  ) {
    super();
  }

  onExpire(): void {
    const operation = this.context.operation;
    const error = this.limit.expiredError(this.byDeadline, operation);
    this.scope.abort(error);
    this.limit.report(this.byDeadline, operation);
    if (this.reject !== undefined) this.settle(undefined, error, false);
  }

  /** Parent (caller) abort, for aggressive limits: release the caller at once. */
  onParentAbort(): void {
    this.settle(undefined, this.context.scope.abortError(), false);
  }

  settle(value: unknown, error: unknown, ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.limit.finish(this);
    if (ok) this.resolve!(value);
    else this.reject!(error);
  }
}

/**
 * What a held call's caller runs under the limit (an HTTP attempt): it can be ended at once from
 * outside, its promise then failing with the error it was ended with.
 */
export interface EndableStep {
  end(error: Error): void;
}

/**
 * One call under an aggressive limit whose caller awaits the step itself and can end it (see
 * {@link TimeLimit.hold}): the expiry ends the step, which releases the caller as the limit's
 * own promise would, so the limit needs no promise and no settle functions of its own.
 */
class HeldCall extends Expirable {
  unsubscribe: (() => void) | undefined = undefined;

  constructor(
    readonly limit: TimeLimit,
    /** The context the limit was entered with. */
    readonly outer: Context,
    /** The context inside the limit: its scope and expiry. */
    readonly context: Context,
    readonly byDeadline: boolean,
    private readonly step: EndableStep,
  ) {
    super();
  }

  onExpire(): void {
    const operation = this.outer.operation;
    const error = this.limit.expiredError(this.byDeadline, operation);
    this.context.scope.abort(error);
    this.limit.report(this.byDeadline, operation);
    this.step.end(error);
  }

  /** Parent (caller) abort: end the step at once, as an aggressive limit releases its caller. */
  onParentAbort(): void {
    this.step.end(this.outer.scope.abortError());
  }

  /** The step settled: the limit lets go of it (its timer entry, scope and subscription). */
  release(): void {
    this.limit.queue.delete(this);
    this.context.scope.dispose();
    if (this.unsubscribe !== undefined) this.unsubscribe();
  }

  /** The error the caller sees for the step's `error`: a failure this limit caused is the limit's. */
  failure(error: unknown): unknown {
    return translate(this.context.scope, this.outer.scope, error);
  }
}

/** A function that failed because a limit aborted its scope failed because of the limit. */
function translate(inner: Scope, outer: Scope, error: unknown): unknown {
  if (!inner.aborted || outer.aborted) return error;
  const reason = inner.reason;
  if (reason === error || !(reason instanceof Error)) return error;
  return reason;
}

/** The shared machinery of `timeout()` and `deadline()`: one child scope and one queue entry per call. */
export abstract class TimeLimit extends BulwarkPolicy {
  /** @internal Expiry times of the calls running under this limit. */
  readonly queue: TimerQueue;
  /** @internal */
  readonly aggressive: boolean;

  protected constructor(
    /** The limit, in milliseconds. */
    readonly ms: number,
    readonly strategy: TimeoutStrategy,
    clock: Clock,
    protected readonly name: string | undefined,
    protected readonly listener: TelemetryListener | undefined,
  ) {
    super(clock);
    this.queue = new TimerQueue(clock);
    this.aggressive = strategy === 'aggressive';
  }

  /** @internal A time limit takes part in a pipeline's fused path. */
  override fused(): FusedLimit {
    // Returning `this` checks the protocol's shape: an `implements` clause would name, in the
    // published types, members they leave out as internal.
    return this;
  }

  /** How many calls are running under this limit right now. */
  get pending(): number {
    return this.queue.size;
  }

  /**
   * @internal The error a call fails with when its time is up; `byDeadline` when the remaining
   * deadline, not this limit's own duration, set the expiry.
   */
  abstract expiredError(byDeadline: boolean, operation: string | undefined): Error;
  /** @internal The telemetry event for an expiry. */
  protected abstract expiredEvent(byDeadline: boolean, operation: string | undefined): PolicyEvent;

  /** @internal */
  report(byDeadline: boolean, operation: string | undefined): void {
    if (this.listener !== undefined) emit(this.listener, this.expiredEvent(byDeadline, operation));
  }

  /** @internal */
  finish(call: LimitedCall): void {
    this.queue.delete(call);
    call.scope.dispose();
    if (call.unsubscribe !== undefined) call.unsubscribe();
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const parent = context.scope;
    if (parent.aborted) return Promise.reject(parent.abortError());
    const now = this.clock.now();
    const ms = this.allowance(context, now);
    if (ms instanceof Error) return Promise.reject(ms);
    const byDeadline = this.isDeadlineBound(context, now);
    const scope = context.scope.child();
    if (this.strategy === 'aggressive') scope.releasesCaller = true;
    const call = new LimitedCall(this, context, scope, byDeadline);
    this.queue.add(call, now, ms);
    const inner = context.withScope(scope, now + ms);
    return this.strategy === 'aggressive'
      ? this.runAggressive(call, inner, next)
      : this.runCooperative(call, inner, next);
  }

  /**
   * Policy protocol (for Bulwark's packages, outside the semver promise): enters this aggressive
   * limit for a caller that runs `step` itself in the returned call's context, awaits it, and
   * then calls `release()` and maps a failure through `failure()`. The expiry, or the caller's
   * abort, ends the step, which fails at once with the same error the limit's own promise would
   * have: the same timer entry, scope, events and errors as {@link TimeLimit.invoke}, without the
   * promise, settle functions and reactions a layer of its own costs. Throws what the limit
   * would have failed with before the call started (an aborted caller, a spent deadline).
   */
  hold(context: Context, step: EndableStep): HeldCall {
    if (this.strategy !== 'aggressive') {
      throw new TypeError(
        'expected an aggressive time limit to hold a call, got a cooperative one',
      );
    }
    const parent = context.scope;
    if (parent.aborted) throw parent.abortError();
    const now = this.clock.now();
    const ms = this.allowance(context, now);
    if (ms instanceof Error) throw ms;
    const byDeadline = this.isDeadlineBound(context, now);
    const scope = parent.child();
    scope.releasesCaller = true;
    const call = new HeldCall(this, context, context.withScope(scope, now + ms), byDeadline, step);
    this.queue.add(call, now, ms);
    // As runAggressive: only a parent that does not release its caller itself needs a listener.
    if (parent.canAbort && !parent.releasesCaller) {
      call.unsubscribe = parent.onAbort(() => call.onParentAbort());
    }
    return call;
  }

  /** Whether the deadline, not this limit's duration, sets the expiry (it wins a tie). */
  private isDeadlineBound(context: Context, now: number): boolean {
    return context.deadline !== Infinity && context.deadline - now <= this.ms;
  }

  /**
   * How long a call may run under this limit from `now`: this limit's duration, or what is left
   * of the deadline when that is shorter; or the error it fails with when nothing is left.
   */
  private allowance(context: Context, now: number): number | Error {
    if (context.deadline === Infinity) return this.ms;
    const left = context.deadline - now;
    if (left <= 0) {
      if (this.listener !== undefined) {
        emit(this.listener, {
          type: 'deadline-exceeded',
          policy: 'timeout',
          name: this.name,
          operation: context.operation,
          budgetMs: undefined,
        });
      }
      return this.deadlineError(context);
    }
    return left <= this.ms ? left : this.ms;
  }

  private runAggressive(call: LimitedCall, inner: Context, next: Next): Promise<unknown> {
    return new Promise((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
      // An enclosing aggressive limit releases its caller itself: only a caller's own signal,
      // or the scope of a cooperative limit (which waits for this call), needs a listener.
      const parent = call.context.scope;
      if (parent.canAbort && !parent.releasesCaller) {
        call.unsubscribe = parent.onAbort(() => call.onParentAbort());
      }
      let result: unknown;
      try {
        result = next.call(inner);
      } catch (error: unknown) {
        call.settle(undefined, error, false);
        return;
      }
      Promise.resolve(result).then(
        (value) => call.settle(value, undefined, true),
        (error: unknown) => call.settle(undefined, this.translate(call, error), false),
      );
    });
  }

  private runCooperative(call: LimitedCall, inner: Context, next: Next): Promise<unknown> {
    let pending: unknown;
    try {
      pending = next.call(inner);
    } catch (error: unknown) {
      this.finish(call);
      return Promise.reject(this.translate(call, error));
    }
    // `.then` rather than an async frame: a quarter of the allocation per call.
    return Promise.resolve(pending).then(
      (value: unknown) => {
        this.finish(call);
        return value;
      },
      (error: unknown) => {
        this.finish(call);
        throw this.translate(call, error);
      },
    );
  }

  /** A function that failed because this limit aborted it failed because of the limit. */
  private translate(call: LimitedCall, error: unknown): unknown {
    return translate(call.scope, call.context.scope, error);
  }

  protected deadlineError(context: Context): Error {
    return new DeadlineExceededError(
      undefined,
      `deadline exceeded before ${context.operation ?? 'the call'} could start`,
    );
  }
}

export { HeldCall, LimitedCall, TimeoutError };
