import {
  type Clock,
  DeadlineExceededError,
  type ExecutionContext,
  type TelemetryListener,
  TimeoutError,
} from '@bulwark/core';
import {
  type Context,
  Expirable,
  type Scope,
  type TimerQueue,
  emit,
  releaseResult,
} from '@bulwark/core/internal';
import { FallbackFailedError } from './errors.js';

/** What a fallback function is told. */
export interface FallbackArgs {
  /** The failure to answer for: the error thrown, or the result `when.result` rejected. */
  readonly error: unknown;
  /** True when `error` is a returned result rather than a thrown error. */
  readonly isResult: boolean;
  /** The fallback's own context: its `signal` aborts at its time limit or the caller's abort. */
  readonly context: ExecutionContext;
}

/** Answers for a failure: returns (or resolves to) what the call returns instead. */
export type FallbackFn = (args: FallbackArgs) => unknown;

/** What a fallback policy with a function works out once, at construction. */
export interface TimedFallbackSettings {
  readonly fn: FallbackFn;
  readonly timeoutMs: number;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
  /** The expiries of every fallback running under this policy: one timer, not one per call. */
  readonly queue: TimerQueue;
}

/** The scope of the call's caller: the root the other scopes descend from. */
export function callerScope(scope: Scope): Scope {
  let root = scope;
  while (root.parent !== undefined) root = root.parent;
  return root;
}

/**
 * One run of a fallback function, under its own time limit: in a scope of its own, so its signal
 * aborts at the limit, and released at that limit whether or not the function stops.
 */
export class TimedFallback extends Expirable {
  readonly promise: Promise<unknown>;
  private resolve!: (value: unknown) => void;
  private reject!: (error: unknown) => void;
  private settled = false;
  private unsubscribe: (() => void) | undefined = undefined;
  /** The scope the fallback runs in; its parent is the one it follows. */
  private readonly scope: Scope;
  private readonly caller: Scope;
  private readonly startedAt: number;
  private readonly limitMs: number;
  /** True when what was left of the pipeline's deadline, not `timeoutMs`, set the limit. */
  private readonly byDeadline: boolean;

  constructor(
    private readonly settings: TimedFallbackSettings,
    private readonly context: Context,
    private readonly failure: unknown,
    private readonly isResult: boolean,
    private readonly reason: string,
  ) {
    super();
    const now = settings.clock.now();
    const deadlineLeft = context.deadline - now;
    this.caller = callerScope(context.scope);
    // While the pipeline's deadline has time left, the fallback keeps to it too. Once that
    // deadline (or a timeout outside this policy) has aborted the call's scope, the failure is
    // that expiry, and the fallback answers for it under its own limit, following only the
    // caller's signal.
    const inTime = !context.scope.aborted && deadlineLeft > 0;
    this.byDeadline = inTime && deadlineLeft < settings.timeoutMs;
    this.limitMs = this.byDeadline ? deadlineLeft : settings.timeoutMs;
    this.scope = (inTime ? context.scope : this.caller).child();
    this.startedAt = now;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Runs the fallback function once. */
  start(): void {
    const { settings, context, scope } = this;
    settings.queue.add(this, this.startedAt, this.limitMs);
    const parent = scope.parent!;
    if (parent.canAbort) this.unsubscribe = parent.onAbort(() => this.parentAborted(parent));
    const own = context.withScope(scope, this.startedAt + this.limitMs);
    let pending: unknown;
    try {
      pending = settings.fn({
        error: this.failure,
        isResult: this.isResult,
        context: own.spreadable ? own.toPlain() : own,
      });
    } catch (error: unknown) {
      pending = Promise.reject(error);
    }
    Promise.resolve(pending).then(
      (value: unknown) => this.succeeded(value),
      (error: unknown) => this.failed(error),
    );
  }

  /** @internal The time limit ran out: abort the fallback's signal and release the caller. */
  onExpire(): void {
    const error = this.byDeadline
      ? new DeadlineExceededError(undefined, 'deadline exceeded during the fallback')
      : new TimeoutError(this.limitMs);
    this.scope.abort(error);
    this.fail(error);
  }

  /**
   * The scope the fallback follows aborted: the caller's abort, or the pipeline's deadline. The
   * fallback's own scope is left linked: the parent tells it next (this subscription came
   * first), and unlinking it here would leave the function's signal unaborted.
   */
  private parentAborted(parent: Scope): void {
    if (this.settled) return;
    const error = parent.abortError();
    // A cancellation is the caller's, and surfaces as it is, not as a failed fallback.
    if (this.caller.aborted) this.finish(false, error, error);
    else this.fail(error);
  }

  private succeeded(value: unknown): void {
    // An answer after the limit: nobody will read it.
    if (this.settled) {
      releaseResult(value);
      return;
    }
    this.scope.dispose();
    this.finish(true, value, undefined);
  }

  private failed(error: unknown): void {
    if (this.settled) return;
    this.scope.dispose();
    this.fail(error);
  }

  private fail(error: unknown): void {
    this.finish(false, new FallbackFailedError(this.failure, error, this.reason), error);
  }

  /** Settles the call with `outcome`, reporting the fallback's own error when it failed. */
  private finish(ok: boolean, outcome: unknown, fallbackError: unknown): void {
    this.settled = true;
    const settings = this.settings;
    settings.queue.delete(this);
    if (this.unsubscribe !== undefined) this.unsubscribe();
    if (settings.listener !== undefined) {
      emit(settings.listener, {
        type: 'fallback',
        policy: 'fallback',
        name: settings.name,
        operation: this.context.operation,
        reason: this.reason,
        outcome: ok ? 'success' : 'failure',
        durationMs: settings.clock.now() - this.startedAt,
        error: this.failure,
        fallbackError,
      });
    }
    if (ok) this.resolve(outcome);
    else this.reject(outcome);
  }
}
