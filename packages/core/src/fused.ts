import type { Clock } from './clock.js';
import {
  Context,
  type ContextFn,
  type ExecutionContext,
  plainContext,
  remainingUntil,
} from './context.js';
import { emitCall, type SuccessReporter, type TelemetryListener } from './events.js';
import { isFailedResult } from './failed-result.js';
import type { Next } from './policy.js';
import { Scope } from './scope.js';
import type { QueueEntry, TimerQueue } from './timer-queue.js';

// The fused path of a pipeline: one frame and one promise reaction for a whole call, instead of
// a promise reaction, a derived context and (for time limits) a scope and a timer entry per
// layer. How it works and why: docs/architecture.md, "Decision 4".

/**
 * The context a pipeline handed its function, as a {@link Context}: on the fused path the
 * function may be handed the frame itself, which then makes a context of itself.
 */
export function toContext(context: ExecutionContext): Context {
  return context instanceof Frame ? context.asContext() : (context as Context);
}

/** Returned by a layer's exit: the call goes on asynchronously, and settles as this promise does. */
export class Continue {
  constructor(readonly promise: Promise<unknown>) {}
}

/** A policy that can take part in the fused path (everything but time limits). */
export interface FusedLayer {
  /** True when the layer keeps a number per call in {@link Frame.slot}; a frame has one. */
  readonly usesSlot: boolean;
  /** True when the layer needs {@link Frame.now}, the clock reading the call started at. */
  readonly readsClock: boolean;
  /**
   * Enters synchronously and returns true, or returns false having taken nothing: then this
   * layer and those inside it run layer by layer. Never throws.
   */
  fusedEnter(frame: Frame, index: number): boolean;
  /** The call inside succeeded with `value`: returns the value to pass out, or a {@link Continue}. */
  fusedSucceeded(frame: Frame, index: number, value: unknown): unknown;
  /** The call inside failed with `error`: returns the error to pass out, or a {@link Continue}. */
  fusedFailed(frame: Frame, index: number, error: unknown): unknown;
}

/** A time limit on the fused path. */
export interface FusedLimit {
  readonly ms: number;
  /** Whether an expiry releases the caller at once (else the caller waits for the function). */
  readonly aggressive: boolean;
  /** The limit's timer queue. */
  readonly queue: TimerQueue;
  /** The error a call fails with when its time is up (`byDeadline`: an outer deadline set it). */
  expiredError(byDeadline: boolean, operation: string | undefined): Error;
  /** Reports an expiry to the limit's listener, if it has one. */
  report(byDeadline: boolean, operation: string | undefined): void;
}

/** What a plan's calls report to: the pipeline's operation name and listener. */
export interface PlanTelemetry {
  readonly operation: string | undefined;
  readonly listener: TelemetryListener | undefined;
  /** The listener's fast path for successful calls, when it has one. */
  readonly calls: SuccessReporter | undefined;
}

const NO_TELEMETRY: PlanTelemetry = { operation: undefined, listener: undefined, calls: undefined };

function isFusedLimit(part: FusedLayer | FusedLimit): part is FusedLimit {
  return 'expiredError' in part;
}

/** What a pipeline works out once, at construction, for its fused path. */
export class Plan {
  /** How many of the pipeline's policies can enter fused (a prefix: the rest run layer by layer). */
  readonly size: number;
  /** Per index: the layer, or undefined where a time limit sits. */
  readonly layers: readonly (FusedLayer | undefined)[];
  /** Per index: the time limit, or undefined where a layer sits. */
  readonly limits: readonly (FusedLimit | undefined)[];
  /** Per index: the innermost time limit before it (-1 for none). */
  readonly limitBefore: Int32Array;
  /** Per time limit index: its deadline, as an offset from the frame's clock reading. */
  readonly offset: Float64Array;
  /** Per time limit index: whether an outer deadline, not its own duration, sets its deadline. */
  readonly byDeadline: Uint8Array;
  /** The outermost aggressive time limit within the fused prefix (Infinity for none). */
  readonly firstAggressive: number;
  /** Whether a call reads the clock when it starts. */
  readonly readsClock: boolean;
  readonly operation: string | undefined;
  readonly listener: TelemetryListener | undefined;
  /** The listener's fast path for successful calls, when it has one. */
  readonly calls: SuccessReporter | undefined;

  /**
   * The plan of a pipeline whose outermost policies offer `parts` (what each policy's `fused()`
   * returns, in order, up to the first that offers none): the longest prefix with at most one
   * layer keeping a per-call slot (a breaker's epoch). Undefined when there is no part.
   */
  static forPipeline(
    parts: readonly (FusedLayer | FusedLimit)[],
    /** `steps[i]` runs policies `i..` layer by layer; the last is the user's function. */
    steps: readonly Next[],
    clock: Clock,
    telemetry: PlanTelemetry,
  ): Plan | undefined {
    const layers: (FusedLayer | undefined)[] = [];
    const limits: (FusedLimit | undefined)[] = [];
    let slots = 0;
    let layersReadClock = false;
    for (const part of parts) {
      if (isFusedLimit(part)) {
        layers.push(undefined);
        limits.push(part);
        continue;
      }
      if (part.usesSlot && ++slots > 1) break;
      if (part.readsClock) layersReadClock = true;
      layers.push(part);
      limits.push(undefined);
    }
    if (layers.length === 0) return undefined;
    return new Plan(layers, limits, steps, clock, telemetry, layersReadClock);
  }

  /**
   * The plan of a time limit alone, for its own `execute()`: what {@link Plan.forPipeline} makes
   * for a pipeline of that one limit. `steps` runs the limit layer by layer, then the function.
   */
  static forLimit(limit: FusedLimit, steps: readonly Next[], clock: Clock): Plan {
    return new Plan([undefined], [limit], steps, clock, NO_TELEMETRY, false);
  }

  private constructor(
    layers: readonly (FusedLayer | undefined)[],
    limits: readonly (FusedLimit | undefined)[],
    readonly steps: readonly Next[],
    readonly clock: Clock,
    telemetry: PlanTelemetry,
    /** Whether some layer wants the start time even without a time limit. */
    layersReadClock: boolean,
  ) {
    this.layers = layers;
    this.limits = limits;
    this.operation = telemetry.operation;
    this.listener = telemetry.listener;
    this.calls = telemetry.calls;
    this.size = layers.length;
    const n = this.size;
    this.limitBefore = new Int32Array(n + 1);
    this.offset = new Float64Array(n);
    this.byDeadline = new Uint8Array(n);
    let inner = -1;
    let offset = Infinity;
    let firstAggressive = Infinity;
    for (let i = 0; i < n; i++) {
      this.limitBefore[i] = inner;
      const limit = limits[i];
      if (limit !== undefined) {
        this.byDeadline[i] = offset <= limit.ms ? 1 : 0;
        if (limit.ms < offset) offset = limit.ms;
        this.offset[i] = offset;
        if (limit.aggressive && firstAggressive === Infinity) firstAggressive = i;
        inner = i;
      }
    }
    this.limitBefore[n] = inner;
    this.firstAggressive = firstAggressive;
    this.readsClock = inner !== -1 || this.listener !== undefined || layersReadClock;
  }
}

/**
 * "No limit" in the frame's limit-index fields, above every real index: V8's largest small
 * integer, not `Infinity`, because V8 boxes a double field in a heap number of its own per
 * object and these are read on every call ("Design figures" in benchmarks/RESULTS.md).
 */
const NO_LIMIT = 0x3fffffff;

/** What an exit returns when the caller has been released already: nothing to pass on. */
const DISCARDED: unique symbol = Symbol('discarded');

/**
 * What a call needs once a limit expires, the caller may abort or a layer needs a scope of its
 * own: made on first need, so that the frame every call makes stays small.
 */
class AbortState {
  /** The outermost time limit that has expired (NO_LIMIT for none). */
  expiredMin = NO_LIMIT;
  /** The aggressive limit that released the caller (NO_LIMIT while none has). */
  releasedAt = NO_LIMIT;
  /** Per index, the error of a time limit that expired while nothing outside it had aborted. */
  expired: Error[] | undefined = undefined;
  /** Scopes for the layers inside each time limit, made when a layer needs a context of its own. */
  limitScopes: Scope[] | undefined = undefined;
  /** Unsubscribes from the caller's signal. */
  unsubscribe: (() => void) | undefined = undefined;
}

/**
 * The frame whose caller's promise is being built: {@link keepSettlers}, the promise's executor,
 * stores the promise's resolve/reject on it. One module-level executor instead of a closure per
 * call, which would capture the frame in a context of its own ("Design figures" in
 * benchmarks/RESULTS.md); the executor runs synchronously, so no other call can be in between.
 */
let frameAwaitingSettlers: Frame | undefined;
function keepSettlers(resolve: (value: unknown) => void, reject: (error: unknown) => void) {
  frameAwaitingSettlers!.resolveOuter = resolve;
  frameAwaitingSettlers!.rejectOuter = reject;
}

/**
 * One call on the fused path: its scope, its timer entry and what its layers keep. When every
 * layer entered and a time limit is among them, the frame is also the context the user's
 * function receives (the frame is that context's scope anyway): one object per call, not two.
 */
export class Frame extends Scope implements QueueEntry, ExecutionContext {
  expiresAt = 0;
  prev: QueueEntry | undefined = undefined;
  next: QueueEntry | undefined = undefined;
  queued = false;
  /** The limit whose queue holds the frame, while one does. */
  private queuedLimit = -1;
  /** The user's function. */
  readonly fn: ContextFn;
  /** See {@link Context.spreadable}. */
  readonly spreadable: boolean;
  /** The call's operation name: its caller's, else the pipeline's. */
  readonly operation: string | undefined;
  /** The clock reading the call started at (0 when nothing needed it). */
  readonly now: number;
  /** A reading taken when the layers exit, shared by their events (undefined until read). */
  private end: number | undefined = undefined;
  /** How many layers entered. */
  private depth = 0;
  /** Expiries, releases and scopes made on need: undefined on most calls. */
  private aborts: AbortState | undefined = undefined;
  resolveOuter: ((value: unknown) => void) | undefined = undefined;
  rejectOuter: ((error: unknown) => void) | undefined = undefined;
  /**
   * A number the one layer with `usesSlot` keeps for the length of the call (a
   * breaker's epoch); a pipeline fuses at most one such layer.
   */
  slot = 0;

  private constructor(
    readonly plan: Plan,
    root: Scope,
    fn: ContextFn,
    spreadable: boolean,
    operation: string | undefined,
  ) {
    super(root, undefined);
    this.fn = fn;
    this.spreadable = spreadable;
    this.operation = operation;
    this.now = plan.readsClock ? plan.clock.now() : 0;
  }

  /** Runs one call through the plan's pipeline. */
  static run(
    plan: Plan,
    fn: ContextFn,
    signal: AbortSignal | undefined,
    spreadable: boolean,
  ): Promise<unknown> {
    return Frame.runIn(plan, fn, Scope.from(signal), spreadable, plan.operation);
  }

  /**
   * Runs one call through the plan's pipeline in a root scope the caller has made already (a
   * client that listens to the caller's signal itself), under the caller's operation name.
   */
  static runIn(
    plan: Plan,
    fn: ContextFn,
    root: Scope,
    spreadable: boolean,
    operation: string | undefined,
  ): Promise<unknown> {
    if (root.aborted) return Promise.reject(root.abortError());
    const frame = new Frame(plan, root, fn, spreadable, operation);
    const n = plan.size;
    const layers = plan.layers;
    let depth = 0;
    while (depth < n) {
      const layer = layers[depth];
      if (layer !== undefined && !layer.fusedEnter(frame, depth)) break;
      depth++;
    }
    frame.depth = depth;
    const inner = plan.limitBefore[depth]!;
    if (inner !== -1) {
      frame.releasesCaller = plan.limits[inner]!.aggressive;
      frame.queueFor(inner, frame.now);
    }
    let pending: unknown;
    try {
      if (depth !== plan.steps.length - 1) {
        pending = plan.steps[depth]!.call(frame.contextAt(depth));
      } else if (inner === -1) {
        // No time limit: the function runs in the caller's scope, with the caller's own signal.
        pending = frame.contextAt(depth).invokeFn();
      } else {
        pending = fn(spreadable ? plainContext(frame) : frame);
      }
    } catch (error: unknown) {
      pending = Promise.reject(error);
    }
    // Bound methods: a bound function is smaller than a closure and its context.
    if (plan.firstAggressive >= depth) {
      return Promise.resolve(pending).then(frame.succeeded.bind(frame), frame.failed.bind(frame));
    }
    frameAwaitingSettlers = frame;
    const outer = new Promise(keepSettlers);
    frameAwaitingSettlers = undefined;
    if (root.canAbort) frame.abortState().unsubscribe = root.onAbort(() => frame.callerAborted());
    Promise.resolve(pending).then(
      frame.succeededReleasing.bind(frame),
      frame.failedReleasing.bind(frame),
    );
    return outer;
  }

  /** Which attempt this is: the fused path runs first attempts only. */
  get attempt(): number {
    return 1;
  }

  /** The deadline inside every layer that entered (`Infinity` when there is none). */
  get deadline(): number {
    const k = this.plan.limitBefore[this.depth]!;
    return k === -1 ? Infinity : this.now + this.plan.offset[k]!;
  }

  remaining(): number {
    return remainingUntil(this.deadline, this.plan.clock);
  }

  /** The root scope: the caller's signal, or none. */
  get root(): Scope {
    return this.parent!;
  }

  private abortState(): AbortState {
    return (this.aborts ??= new AbortState());
  }

  /** The call inside the fused layers succeeded (no aggressive limit entered). */
  private succeeded(value: unknown): unknown {
    return this.exit(this.depth - 1, true, value);
  }

  private failed(error: unknown): unknown {
    return this.exit(this.depth - 1, false, error);
  }

  /** The call inside the fused layers succeeded (an aggressive limit entered). */
  private succeededReleasing(value: unknown): void {
    this.deliver(this.depth - 1, true, value);
  }

  private failedReleasing(error: unknown): void {
    this.deliver(this.depth - 1, false, error);
  }

  /** The outermost time limit that has expired (NO_LIMIT for none). */
  private get expiredMin(): number {
    return this.aborts === undefined ? NO_LIMIT : this.aborts.expiredMin;
  }

  /** The aggressive limit that released the caller (NO_LIMIT while none has). */
  private get releasedAt(): number {
    return this.aborts === undefined ? NO_LIMIT : this.aborts.releasedAt;
  }

  /** A clock reading for the layers exiting now: read once, shared by their events. */
  endNow(): number {
    return (this.end ??= this.plan.clock.now());
  }

  /** Whether the scope the layer at `index` runs in has aborted. */
  abortedAt(index: number): boolean {
    return this.expiredMin < index || this.root.aborted;
  }

  /** Why the scope the layer at `index` runs in aborted, when it has. */
  reasonAt(index: number): unknown {
    const expired = this.aborts?.expired;
    if (expired !== undefined) {
      for (let k = this.plan.limitBefore[index]!; k !== -1; k = this.plan.limitBefore[k]!) {
        if (expired[k] !== undefined) return expired[k];
      }
    }
    return this.root.reason;
  }

  /**
   * A context of its own for the layer at `index`, as that layer would have seen it outside the
   * fused path: for a retry that runs the layers inside it again.
   */
  contextAt(index: number): Context {
    const k = this.plan.limitBefore[index]!;
    const { fn, spreadable, plan } = this;
    const deadline = k === -1 ? Infinity : this.now + plan.offset[k]!;
    // Inside every limit that entered, the frame is the scope; elsewhere it is made on need.
    const scope = index === this.depth && k !== -1 ? this : this.scopeInside(k);
    return Context.forCall(fn, scope, deadline, this.operation, plan.clock, spreadable);
  }

  /**
   * The frame as the context the function receives when it is handed the frame itself, for a
   * function that derives contexts from it (an attempt timeout inside the function).
   */
  asContext(): Context {
    return this.contextAt(this.depth);
  }

  /** The scope inside the time limit at `k` (the root scope for -1), made on first need. */
  private scopeInside(k: number): Scope {
    if (k === -1) return this.root;
    const scopes = (this.abortState().limitScopes ??= []);
    let scope = scopes[k];
    if (scope === undefined) {
      scope = this.scopeInside(this.plan.limitBefore[k]!).child();
      scopes[k] = scope;
      const own = this.aborts?.expired?.[k];
      if (own !== undefined) scope.abort(own);
    }
    return scope;
  }

  /**
   * The layers from `from` down to the outermost exit with the call's outcome. Returns what the
   * outermost layer passes out (a value, or a promise when a layer continues), or throws.
   */
  exit(from: number, ok: boolean, value: unknown): unknown {
    this.end = undefined;
    const layers = this.plan.layers;
    for (let i = from; i >= 0; i--) {
      // An aggressive limit at `i` has released the caller: what is inside it ends unheard.
      if (i === this.releasedAt) return DISCARDED;
      const layer = layers[i];
      if (layer === undefined) {
        if (!ok && this.expiredMin === i && !this.root.aborted) {
          const reason = this.aborts?.expired?.[i];
          if (reason !== undefined && reason !== value) value = reason;
        }
        continue;
      }
      const result = ok ? layer.fusedSucceeded(this, i, value) : layer.fusedFailed(this, i, value);
      if (result instanceof Continue) {
        this.requeueInside(i);
        return result.promise.then(
          (v: unknown) => this.exit(i - 1, true, v),
          (e: unknown) => this.exit(i - 1, false, e),
        );
      }
      value = result;
    }
    this.finish(ok, value);
    if (ok) return value;
    throw value;
  }

  /** Aggressive mode: exits, then settles the caller's promise unless it was released already. */
  private deliver(from: number, ok: boolean, value: unknown): void {
    let result: unknown;
    try {
      result = this.exit(from, ok, value);
    } catch (error: unknown) {
      this.rejectOuter!(error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (settled: unknown) => this.resolveUnlessDiscarded(settled),
        (error: unknown) => this.rejectOuter!(error),
      );
    } else {
      this.resolveUnlessDiscarded(result);
    }
  }

  private resolveUnlessDiscarded(value: unknown): void {
    if (value !== DISCARDED) this.resolveOuter!(value);
  }

  /** The call has ended for the caller: nothing of it stays queued or linked. */
  private finish(ok: boolean, value: unknown): void {
    if (this.queuedLimit !== -1) {
      this.plan.limits[this.queuedLimit]!.queue.delete(this);
      this.queuedLimit = -1;
    }
    this.dispose();
    const aborts = this.aborts;
    if (aborts !== undefined) {
      const scopes = aborts.limitScopes;
      if (scopes !== undefined) for (const scope of scopes) scope?.dispose();
      const unsubscribe = aborts.unsubscribe;
      if (unsubscribe !== undefined) {
        aborts.unsubscribe = undefined;
        unsubscribe();
      }
    }
    const { listener, calls } = this.plan;
    const operation = this.operation;
    if (listener !== undefined) {
      const durationMs = this.endNow() - this.now;
      // A value a layer counted as a failure (a retry gave up on it) is the call's failure.
      if (!ok || isFailedResult(value)) emitCall(listener, operation, 'failure', durationMs, value);
      else if (calls !== undefined) calls.report(operation, durationMs);
      else emitCall(listener, operation, 'success', durationMs, undefined);
    }
  }

  /** Puts the frame in the queue of the time limit at `k`, which expires at its deadline. */
  private queueFor(k: number, now: number): void {
    this.queuedLimit = k;
    const at = this.now + this.plan.offset[k]!;
    this.plan.limits[k]!.queue.add(this, now, at > now ? at - now : 0);
  }

  /**
   * A layer at `index` continues asynchronously: the limits inside it are done, so the frame
   * moves to the queue of the innermost limit outside it (if any), which still runs.
   */
  private requeueInside(index: number): void {
    const k = this.plan.limitBefore[index]!;
    if (this.queuedLimit === k || this.queuedLimit === -1) return;
    this.plan.limits[this.queuedLimit]!.queue.delete(this);
    this.queuedLimit = -1;
    if (k !== -1 && this.expiredMin > k) this.queueFor(k, this.plan.clock.now());
  }

  /** The queue's timer: the limit holding the frame has run out. */
  onExpire(): void {
    const k = this.queuedLimit;
    this.queuedLimit = -1;
    this.expire(k);
  }

  private expire(k: number): void {
    const plan = this.plan;
    const limit = plan.limits[k]!;
    const byDeadline = plan.byDeadline[k] === 1;
    const error = limit.expiredError(byDeadline, this.operation);
    if (!this.abortedAt(k)) (this.abortState().expired ??= [])[k] = error;
    if (k < this.expiredMin) this.abortState().expiredMin = k;
    // As a layer-by-layer limit does: abort first, then report.
    this.abort(error);
    this.aborts?.limitScopes?.[k]?.abort(error);
    limit.report(byDeadline, this.operation);
    const outer = plan.limitBefore[k]!;
    // While the caller waits, the limit outside this one still runs; once released, nothing does.
    if (outer !== -1 && this.releasedAt === NO_LIMIT) this.queueFor(outer, plan.clock.now());
    if (limit.aggressive && k < this.releasedAt) this.release(k, error);
  }

  /** The caller's signal aborted: the outermost aggressive limit releases the caller at once. */
  private callerAborted(): void {
    this.aborts!.unsubscribe = undefined;
    const k = this.plan.firstAggressive;
    if (k < this.releasedAt) this.release(k, this.root.abortError());
  }

  /** An aggressive limit at `k` lets its caller go with `error`; what is inside it carries on. */
  private release(k: number, error: unknown): void {
    this.abortState().releasedAt = k;
    this.deliver(k - 1, false, error);
  }
}
