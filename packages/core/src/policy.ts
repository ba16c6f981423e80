import {
  type Event,
  EventEmitter,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import type { Clock } from './clock.js';
import { Context, type ExecutionContext } from './context.js';
import { type FusedLayer, type FusedLimit, Frame, Plan } from './fused.js';

/**
 * A Bulwark policy: cockatiel's `IPolicy` shape with the richer {@link ExecutionContext}.
 * Bulwark policies go anywhere a cockatiel policy goes, and `pipeline()` takes both.
 */
export interface Policy extends IPolicy<ExecutionContext, never> {
  execute<T>(
    fn: (context: ExecutionContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T>;
}

/**
 * The rest of a pipeline, as a policy sees it: call it to run everything inside this policy.
 * Pipelines build these once, so a call through N policies allocates no closures.
 */
export interface Next {
  /** May return a promise or a plain value, or throw synchronously: await it inside try/catch. */
  call(context: Context): unknown;
}

/** The innermost step: runs the user's function. */
export const terminal: Next = { call: (context) => context.invokeFn() };

const POLICY_BRAND = Symbol.for('bulwark.policy');

/**
 * Counts the `onSuccess`/`onFailure` emitters ever made, by any policy: a pipeline re-checks
 * whether its policies are observed only when this has moved, not on every call.
 */
let emittersMade = 0;

export function observedVersion(): number {
  return emittersMade;
}

/**
 * Whether `execute()` was given a signal argument, even `undefined`: the mark of a caller such
 * as cockatiel's `wrap()`, which merges contexts with object spread (see
 * {@link Context.spreadable}). Takes the caller's `arguments.length`, which only it can read.
 */
export function isCockatielCaller(argumentCount: number): boolean {
  return argumentCount > 1;
}

/** True for Bulwark policies, from any installed copy of `@bulwark/core`. */
export function isBulwarkPolicy(value: unknown): value is BulwarkPolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[POLICY_BRAND] === true
  );
}

/**
 * Base class of every Bulwark policy. Subclasses implement {@link BulwarkPolicy.run}; this
 * class supplies cockatiel's `execute`, `onSuccess` and `onFailure`.
 */
export abstract class BulwarkPolicy implements Policy {
  declare readonly _altReturn: never;
  /** @internal */ readonly [POLICY_BRAND] = true;
  private successEmitter: EventEmitter<ISuccessEvent> | undefined = undefined;
  private failureEmitter: EventEmitter<IFailureEvent> | undefined = undefined;
  /** The fused plan of this policy alone, made at the first `execute()` (null: it has none). */
  private planAlone: Plan | null | undefined = undefined;

  protected constructor(
    /** The clock this policy measures time with. */
    readonly clock: Clock,
  ) {}

  /** Runs `next` under this policy. Must return a promise and never throw synchronously. */
  protected abstract run(context: Context, next: Next): Promise<unknown>;

  /** Whether a failure is this policy's business, for cockatiel's `onFailure` `handled` flag. */
  protected handles(_error: unknown): boolean {
    return true;
  }

  /**
   * Policy protocol (for Bulwark's policy packages, outside the semver promise): this policy's
   * part in a pipeline's fused path (see `fused.ts`), or undefined when
   * it always runs layer by layer.
   */
  fused(): FusedLayer | FusedLimit | undefined {
    return undefined;
  }

  /**
   * Policy protocol: true once someone listens to `onSuccess` or `onFailure`: calls then run
   * layer by layer.
   */
  get observed(): boolean {
    return this.successEmitter !== undefined || this.failureEmitter !== undefined;
  }

  /** Policy protocol: the entry point pipelines use. */
  invoke(context: Context, next: Next): Promise<unknown> {
    if (!this.observed) return this.run(context, next);
    return this.runObserved(context, next);
  }

  execute<T>(
    fn: (context: ExecutionContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    const spreadable = isCockatielCaller(arguments.length);
    // Alone, a time limit runs through the fused path as a one-policy pipeline would.
    const plan = this.planAlone === undefined ? this.makePlanAlone() : this.planAlone;
    if (plan !== null && !this.observed) {
      return Frame.run(plan, fn, signal, spreadable) as Promise<T>;
    }
    const context = Context.root(fn, signal, this.clock, undefined, spreadable);
    return this.invoke(context, terminal) as Promise<T>;
  }

  private makePlanAlone(): Plan | null {
    const part = this.fused();
    // Only a time limit gains by it: alone, its frame replaces the timer-and-signal context it
    // would otherwise build. A layer (retry, breaker, bulkhead) is cheaper invoked directly.
    if (part === undefined || !('expiredError' in part)) return (this.planAlone = null);
    const steps: Next[] = [{ call: (context) => this.invoke(context, terminal) }, terminal];
    return (this.planAlone = Plan.forLimit(part, steps, this.clock));
  }

  /** Cockatiel's success event: fires once per successful `execute`. */
  get onSuccess(): Event<ISuccessEvent> {
    if (this.successEmitter === undefined) {
      this.successEmitter = new EventEmitter<ISuccessEvent>();
      emittersMade++;
    }
    return this.successEmitter.addListener;
  }

  /** Cockatiel's failure event: fires once per failed `execute`. */
  get onFailure(): Event<IFailureEvent> {
    if (this.failureEmitter === undefined) {
      this.failureEmitter = new EventEmitter<IFailureEvent>();
      emittersMade++;
    }
    return this.failureEmitter.addListener;
  }

  private async runObserved(context: Context, next: Next): Promise<unknown> {
    const start = this.clock.now();
    try {
      const value = await this.run(context, next);
      this.successEmitter?.emit({ duration: this.clock.now() - start });
      return value;
    } catch (error: unknown) {
      this.failureEmitter?.emit({
        duration: this.clock.now() - start,
        handled: this.handles(error),
        reason: { error },
      });
      throw error;
    }
  }
}
