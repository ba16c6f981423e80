import type { IDefaultPolicyContext } from 'cockatiel';
import { type Clock, systemClock } from './clock.js';
import { Scope } from './scope.js';

/**
 * What every function run through a policy receives. Compatible with cockatiel's
 * `IDefaultPolicyContext`: cockatiel policies and Bulwark policies share it.
 */
export interface ExecutionContext extends IDefaultPolicyContext {
  /** Aborts when the caller aborts, a timeout elapses or the deadline runs out. */
  readonly signal: AbortSignal;
  /** Which attempt this is, counting from 1. Outside a retry it is always 1. */
  readonly attempt: number;
  /** The absolute deadline on the pipeline's clock (`Infinity` when there is none). */
  readonly deadline: number;
  /** The operation name given to the pipeline, for telemetry and logs. */
  readonly operation: string | undefined;
  /** Milliseconds left before the deadline (`Infinity` when there is none, never negative). */
  remaining(): number;
}

/** The user's function as policies see it. */
export type ContextFn<T = unknown> = (context: ExecutionContext) => PromiseLike<T> | T;

/**
 * The execution context as policies build it. A policy that changes something (a retry sets
 * the attempt, a timeout a new scope) derives a new context rather than mutating the one it
 * was given, so a function that keeps its context after an await still sees its own signal.
 *
 * `signal` is a prototype getter so that it costs nothing until read.
 *
 * Contexts are made per call and per layer, so the constructor stays positional; build them with
 * the named factories ({@link Context.root}, {@link Context.forCall}) and the `with*` methods.
 */
export class Context implements ExecutionContext {
  /** Prefer a factory or a `with*` method, which name what they set. */
  constructor(
    /** The user's function, called by the innermost layer. */
    readonly fn: ContextFn,
    /** The cancellation scope. */
    readonly scope: Scope,
    readonly attempt: number,
    readonly deadline: number,
    readonly operation: string | undefined,
    /** The clock deadlines are measured on. */
    readonly clock: Clock,
    /**
     * True when the caller passed a signal argument to `execute()`, as cockatiel's
     * `wrap()` always does. Cockatiel merges contexts with object spread, which copies own
     * properties only, so such callers are handed a copy whose `signal` is an own property.
     */
    readonly spreadable: boolean,
  ) {}

  /** The root context of one `execute()` call. */
  static root(
    fn: ContextFn,
    signal: AbortSignal | undefined,
    clock: Clock = systemClock,
    operation?: string,
    spreadable = false,
  ): Context {
    return new Context(fn, Scope.from(signal), 1, Infinity, operation, clock, spreadable);
  }

  /**
   * The context of a call's first attempt, running in `scope` until `deadline`: for a caller
   * that has its scope and deadline already (a client call, a fused frame's layer).
   * `spreadable`: see {@link Context.spreadable}; a caller of Bulwark's own API is not.
   */
  static forCall(
    fn: ContextFn,
    scope: Scope,
    deadline: number,
    operation: string | undefined,
    clock: Clock,
    spreadable = false,
  ): Context {
    return new Context(fn, scope, 1, deadline, operation, clock, spreadable);
  }

  get signal(): AbortSignal {
    return this.scope.signal;
  }

  remaining(): number {
    return remainingUntil(this.deadline, this.clock);
  }

  withAttempt(attempt: number): Context {
    return new Context(
      this.fn,
      this.scope,
      attempt,
      this.deadline,
      this.operation,
      this.clock,
      this.spreadable,
    );
  }

  withScope(scope: Scope, deadline: number): Context {
    return new Context(
      this.fn,
      scope,
      this.attempt,
      deadline,
      this.operation,
      this.clock,
      this.spreadable,
    );
  }

  /** Attempt `attempt` in a scope of its own (a hedged attempt's), within the same deadline. */
  withAttemptIn(attempt: number, scope: Scope): Context {
    return new Context(
      this.fn,
      scope,
      attempt,
      this.deadline,
      this.operation,
      this.clock,
      this.spreadable,
    );
  }

  withOperation(operation: string | undefined): Context {
    return new Context(
      this.fn,
      this.scope,
      this.attempt,
      this.deadline,
      operation,
      this.clock,
      this.spreadable,
    );
  }

  /** Runs the user's function with this context. May return a promise or throw synchronously. */
  invokeFn(): unknown {
    return this.fn(this.spreadable ? this.toPlain() : this);
  }

  /** A plain object whose properties, `signal` included, survive object spread. */
  toPlain(): ExecutionContext {
    return plainContext(this);
  }
}

/** Milliseconds left before `deadline` on `clock`: `Infinity` without one, never negative. */
export function remainingUntil(deadline: number, clock: Clock): number {
  if (deadline === Infinity) return Infinity;
  const left = deadline - clock.now();
  return left > 0 ? left : 0;
}

/** A copy of `source` whose properties, `signal` included, are own ones that survive object spread. */
export function plainContext(source: ExecutionContext): ExecutionContext {
  return {
    get signal() {
      return source.signal;
    },
    attempt: source.attempt,
    deadline: source.deadline,
    operation: source.operation,
    remaining: () => source.remaining(),
  };
}
