import type { IPolicy, IDefaultPolicyContext } from 'cockatiel';
import { type Clock, systemClock } from './clock.js';
import { Context, type ContextFn, type ExecutionContext } from './context.js';
import { fromCockatielError } from './errors.js';
import { isFailedResult } from './failed-result.js';
import {
  callTemplate,
  emitCall,
  type SuccessReporter,
  successReporter,
  type TelemetryListener,
} from './events.js';
import { type FusedLayer, type FusedLimit, Plan, Frame } from './fused.js';
import {
  BulwarkPolicy,
  isBulwarkPolicy,
  isCockatielCaller,
  type Next,
  observedVersion,
  terminal,
} from './policy.js';
import { Scope } from './scope.js';
import {
  checkClock,
  checkFunction,
  checkKnownOptions,
  checkString,
  describeValue,
} from './validate.js';

/** Anything `pipeline()` can hold: Bulwark policies, pipelines and cockatiel policies. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- cockatiel's own wrap() accepts any context and alt-return types.
export type AnyPolicy = IPolicy<IDefaultPolicyContext, any>;

export interface PipelineOptions {
  /** Names the operation in the execution context and in every telemetry event. */
  operation?: string;
  /** Receives a `call` event per execution, with its outcome and duration. */
  listener?: TelemetryListener;
  /** The clock deadlines are measured on. Default: the first Bulwark policy's, else the system clock. */
  clock?: Clock;
}

class PolicyStep implements Next {
  constructor(
    private readonly policy: BulwarkPolicy,
    private readonly next: Next,
  ) {}
  call(context: Context): Promise<unknown> {
    return this.policy.invoke(context, this.next);
  }
}

/** Runs a foreign (cockatiel) policy and carries its signal and attempt into the context. */
class ForeignStep implements Next {
  constructor(
    private readonly policy: AnyPolicy,
    private readonly next: Next,
  ) {}
  call(context: Context): Promise<unknown> {
    return this.policy
      .execute((inner: IDefaultPolicyContext & { attempt?: unknown }) => {
        let derived = context;
        if (inner.signal !== undefined && inner.signal !== context.signal) {
          derived = derived.withScope(Scope.from(inner.signal), context.deadline);
        }
        // cockatiel's retry counts attempts from 0; Bulwark from 1.
        if (typeof inner.attempt === 'number') derived = derived.withAttempt(inner.attempt + 1);
        return this.next.call(derived);
      }, context.signal)
      .then(undefined, rethrowAsBulwark);
  }
}

function rethrowAsBulwark(error: unknown): never {
  throw fromCockatielError(error);
}

/** The steps of a chain: `steps[i]` runs policies `i..`, the last runs `last`. */
function chainSteps(policies: readonly AnyPolicy[], last: Next): Next[] {
  const steps: Next[] = new Array<Next>(policies.length + 1);
  let next = last;
  steps[policies.length] = next;
  for (let i = policies.length - 1; i >= 0; i--) {
    const policy = policies[i]!;
    next = isBulwarkPolicy(policy) ? new PolicyStep(policy, next) : new ForeignStep(policy, next);
    steps[i] = next;
  }
  return steps;
}

function chain(policies: readonly AnyPolicy[], last: Next): Next {
  return chainSteps(policies, last)[0]!;
}

/**
 * The fused parts of the outermost policies, up to the first that cannot take part: not a
 * Bulwark policy, on another clock than the pipeline's, or one that always runs layer by layer.
 */
function fusedParts(policies: readonly AnyPolicy[], clock: Clock): (FusedLayer | FusedLimit)[] {
  const parts: (FusedLayer | FusedLimit)[] = [];
  for (const policy of policies) {
    if (!isBulwarkPolicy(policy) || policy.clock !== clock) break;
    const part = policy.fused();
    if (part === undefined) break;
    parts.push(part);
  }
  return parts;
}

/**
 * Policies composed into one: the first is outermost. A pipeline is itself a policy, so
 * pipelines nest, and each composed step is built once, not per call.
 */
export class Pipeline extends BulwarkPolicy {
  private readonly entry: Next;
  /** The fused path, when the outermost policy can take part in it. */
  private readonly plan: Plan | undefined;
  /** The emitter count at which {@link Pipeline.observedCache} was worked out (-1: never). */
  private observedAt = -1;
  private observedCache = false;
  // Nested in another pipeline, the inner chain must end in the outer one's next step; the
  // chain for the last such step is kept, as a pipeline nearly always sits in one place.
  private cachedNext: Next | undefined = undefined;
  private cachedEntry: Next | undefined = undefined;
  private readonly operation: string | undefined;
  private readonly listener: TelemetryListener | undefined;
  /** The listener's fast path for successful calls, when it has one. */
  private readonly calls: SuccessReporter | undefined;

  constructor(
    readonly policies: readonly AnyPolicy[],
    options: PipelineOptions,
  ) {
    super(options.clock ?? policies.find(isBulwarkPolicy)?.clock ?? systemClock);
    const steps = chainSteps(policies, terminal);
    this.entry = steps[0]!;
    this.operation = options.operation;
    this.listener = options.listener;
    this.calls = successReporter(this.listener, callTemplate);
    this.plan = Plan.forPipeline(fusedParts(policies, this.clock), steps, this.clock, {
      operation: this.operation,
      listener: this.listener,
      calls: this.calls,
    });
  }

  override execute<T>(
    fn: (context: ExecutionContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    const cockatielCaller = isCockatielCaller(arguments.length);
    if (this.plan !== undefined && !this.isObserved()) {
      return Frame.run(this.plan, fn, signal, cockatielCaller) as Promise<T>;
    }
    // super.execute() reads its own arguments.length: hand the signal on only if it was given.
    return cockatielCaller ? super.execute(fn, signal) : super.execute(fn);
  }

  /**
   * Policy protocol (for Bulwark's packages, outside the semver promise): runs one call of `fn`
   * in `scope` (the caller's root scope), under `operation`, until `deadline`: as `execute()`
   * does, on the fused path when it can, for a caller that made its scope and names its calls
   * itself. A call with a deadline of its own runs layer by layer, where each time limit reads it.
   */
  runCall(
    fn: ContextFn,
    scope: Scope,
    deadline: number,
    operation: string | undefined,
  ): Promise<unknown> {
    if (this.plan !== undefined && deadline === Infinity && !this.isObserved()) {
      return Frame.runIn(this.plan, fn, scope, false, operation ?? this.operation);
    }
    const context = Context.forCall(fn, scope, deadline, operation, this.clock);
    return this.invoke(context, terminal);
  }

  /** Whether an `onSuccess`/`onFailure` listener sits on this pipeline or one of its policies. */
  private isObserved(): boolean {
    const version = observedVersion();
    if (version !== this.observedAt) {
      this.observedCache = this.anyObserved();
      this.observedAt = version;
    }
    return this.observedCache;
  }

  private anyObserved(): boolean {
    if (this.observed) return true;
    for (const policy of this.policies) {
      if (isBulwarkPolicy(policy) && policy.observed) return true;
    }
    return false;
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    let entry = this.entry;
    if (next !== terminal) {
      if (next !== this.cachedNext) {
        this.cachedEntry = chain(this.policies, next);
        this.cachedNext = next;
      }
      entry = this.cachedEntry!;
    }
    if (this.operation !== undefined && context.operation === undefined) {
      context = context.withOperation(this.operation);
    }
    if (this.listener !== undefined) return this.runMeasured(context, entry, this.listener);
    if (context.scope.aborted) return Promise.reject(context.scope.abortError());
    // Steps return promises, but an empty pipeline calls the user's function directly.
    return this.policies.length === 0
      ? toPromise(entry, context)
      : (entry.call(context) as Promise<unknown>);
  }

  // A `.then` rather than an async frame: this runs on every call of a pipeline with a listener.
  private runMeasured(
    context: Context,
    entry: Next,
    listener: TelemetryListener,
  ): Promise<unknown> {
    const clock = this.clock;
    const start = clock.now();
    let pending: unknown;
    try {
      if (context.scope.aborted) throw context.scope.abortError();
      pending = entry.call(context);
    } catch (error: unknown) {
      emitCall(listener, context.operation, 'failure', clock.now() - start, error);
      return Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (value: unknown) => {
        const durationMs = clock.now() - start;
        if (isFailedResult(value)) {
          emitCall(listener, context.operation, 'failure', durationMs, value);
        } else if (this.calls !== undefined) {
          this.calls.report(context.operation, durationMs);
        } else {
          emitCall(listener, context.operation, 'success', durationMs, undefined);
        }
        return value;
      },
      (error: unknown) => {
        emitCall(listener, context.operation, 'failure', clock.now() - start, error);
        throw error;
      },
    );
  }
}

async function toPromise(step: Next, context: Context): Promise<unknown> {
  return await step.call(context);
}

/**
 * Composes policies, outermost first: `pipeline(bulkhead, deadline, retry, breaker, timeout)`.
 * Takes Bulwark policies, other pipelines and cockatiel policies (including cockatiel's `wrap`).
 * Pass an options object first to name the operation or listen for per-call events.
 *
 * @example
 * const policy = pipeline({ operation: 'get-user' }, deadline(2000), retry(), timeout(500));
 * const user = await policy.execute(({ signal }) => fetchUser(id, { signal }));
 */
export function pipeline(...policies: AnyPolicy[]): Pipeline;
export function pipeline(options: PipelineOptions, ...policies: AnyPolicy[]): Pipeline;
export function pipeline(...args: Array<AnyPolicy | PipelineOptions>): Pipeline {
  let options: PipelineOptions = {};
  let first = 0;
  if (args.length > 0 && !isPolicyLike(args[0])) {
    const candidate = args[0];
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
      throw new TypeError(
        `expected pipeline argument 1 to be a policy or an options object, got ${describeValue(candidate)}`,
      );
    }
    options = candidate;
    first = 1;
    checkKnownOptions('pipeline', options, ['operation', 'listener', 'clock']);
    if (options.operation !== undefined) checkString('operation', options.operation);
    if (options.clock !== undefined) checkClock(options.clock);
    if (options.listener !== undefined) checkFunction('listener', options.listener);
  }
  const policies = first === 0 ? args : args.slice(first);
  policies.forEach((policy, index) => {
    if (!isPolicyLike(policy)) {
      // Count arguments as the caller wrote them, the options object included.
      throw new TypeError(
        `expected pipeline argument ${index + first + 1} to be a policy with an execute() method, got ${describePolicy(policy)}`,
      );
    }
  });
  return new Pipeline(policies as AnyPolicy[], options);
}

function isPolicyLike(value: unknown): value is AnyPolicy {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Partial<AnyPolicy>).execute === 'function'
  );
}

function describePolicy(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return 'an object without execute()';
  }
  return describeValue(value);
}

export type { ExecutionContext };
