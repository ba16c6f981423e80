import {
  type BreakerState,
  BrokenCircuitError,
  type Clock,
  IsolatedCircuitError,
  isBrokenCircuitError,
  isTimeoutError,
  systemClock,
  type TelemetryListener,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  checkFunction,
  checkInteger,
  checkClock,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  emit,
  optionNames,
  type Frame,
  type FusedLayer,
  type Next,
} from '@bulwark/core/internal';
import {
  type BreakBackoff,
  type BreakBackoffOptions,
  nextBreak,
  parseBreakBackoff,
} from './break-backoff.js';
import type { BreakerView } from './breaker-view.js';
import { type BreakerClassify, type Classifiers, parseClassify } from './classify.js';
import { consecutive } from './consecutive.js';
import { type BreakerSnapshot, checkSnapshot, SNAPSHOT_VERSION } from './snapshot.js';
import { type BreakerCounter, type BreakerStrategy, isBreakerStrategy } from './strategy.js';

export const DEFAULT_BREAK_DURATION_MS = 30_000;
export const DEFAULT_HALF_OPEN_TRIALS = 1;
/** Opens after five failures in a row: built once, shared by every breaker left to the default. */
const DEFAULT_STRATEGY = consecutive();
/** Keys name downstreams (an origin, an endpoint): longer ones are a bug, not a key. */
export const MAX_KEY_LENGTH = 1024;
/**
 * Operations whose first call a breaker reports (`breaker-used`): a breaker serves a few, and
 * one that meets more keeps this many names rather than one per call's name.
 */
export const MAX_REPORTED_OPERATIONS = 64;

// States as small integers: the hot path compares numbers, events and views get the names.
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

export interface CircuitBreakerOptions {
  /** When the breaker opens. Default: `consecutive({ threshold: 5 })`. */
  strategy?: BreakerStrategy;
  /** How long the breaker stays open before letting trial calls through, in ms. Default 30 000. */
  breakDurationMs?: number;
  /** Grows the break after each failed trial. Default: every break lasts `breakDurationMs`. */
  breakBackoff?: BreakBackoffOptions;
  /**
   * How many trial calls half-open admits. All must succeed for the breaker to close; the
   * first failure re-opens it. Calls beyond these are rejected. Default 1.
   */
  halfOpenTrials?: number;
  /** Which errors and results count as failures. */
  classify?: BreakerClassify;
  /** The breaker's key (a downstream's name), carried by its errors, events and view. */
  key?: string;
  /** Names the breaker in telemetry events. */
  name?: string;
  /** Receives `breaker-created`, `breaker-used`, `breaker-state` and `breaker-rejected` events. */
  listener?: TelemetryListener;
  clock?: Clock;
  /** Starts from a snapshot taken by `snapshot()`, e.g. before a restart. */
  restore?: BreakerSnapshot;
}

/** What the options say, checked once; a registry builds every breaker from one of these. */
export interface BreakerConfig {
  readonly strategy: BreakerStrategy;
  readonly breakMs: number;
  readonly backoff: BreakBackoff | undefined;
  readonly trials: number;
  readonly classify: Classifiers;
  readonly name: string | undefined;
}

/** The options that say how a breaker behaves, not whose it is: all a registry's `breaker` takes. */
type BehaviourOptions = Omit<CircuitBreakerOptions, 'key' | 'listener' | 'clock' | 'restore'>;

/** The names of {@link BehaviourOptions}. */
export const BREAKER_OPTION_NAMES = optionNames<BehaviourOptions>({
  strategy: true,
  breakDurationMs: true,
  breakBackoff: true,
  halfOpenTrials: true,
  classify: true,
  name: true,
});

/** How {@link parseBreakerConfig} reads an options object. */
export interface ParseBreakerConfigArgs {
  /** The factory named in messages: `circuitBreaker`, or `breaker` for a registry's option. */
  readonly factory: string;
  /**
   * Whether the object holds nothing but {@link BREAKER_OPTION_NAMES} (a registry's `breaker`
   * option), so any other name is refused here. circuitBreaker() checks its wider set itself.
   */
  readonly onlyBehaviourOptions: boolean;
}

export function parseBreakerConfig(
  options: CircuitBreakerOptions,
  { factory, onlyBehaviourOptions }: ParseBreakerConfigArgs,
): BreakerConfig {
  checkOptionsObject(factory, options);
  if (onlyBehaviourOptions) checkKnownOptions(factory, options, BREAKER_OPTION_NAMES);
  const {
    strategy = DEFAULT_STRATEGY,
    breakDurationMs = DEFAULT_BREAK_DURATION_MS,
    halfOpenTrials = DEFAULT_HALF_OPEN_TRIALS,
    name,
  } = options;
  if (!isBreakerStrategy(strategy)) {
    throw new TypeError(
      `expected strategy to be a breaker strategy from consecutive(), countWindow() or timeWindow(), got ${describeValue(strategy)}`,
    );
  }
  checkInteger('breakDurationMs', breakDurationMs, 1, Infinity);
  checkInteger('halfOpenTrials', halfOpenTrials, 1, Infinity);
  if (name !== undefined) checkString('name', name);
  return {
    strategy,
    breakMs: breakDurationMs,
    backoff: parseBreakBackoff(options.breakBackoff, breakDurationMs, factory),
    trials: halfOpenTrials,
    classify: parseClassify(options.classify, factory),
    name,
  };
}

/**
 * A circuit breaker. Closed, it runs calls and feeds their outcomes to its strategy; open, it
 * rejects calls with a `BrokenCircuitError` without running them; once the break has elapsed,
 * half-open, it lets `halfOpenTrials` calls through and closes when all of them succeed.
 *
 * No timer runs while open: the first call after the break moves the breaker to half-open.
 * Outcomes of calls that began before a transition are ignored (an `epoch` tells them apart),
 * so a slow call admitted while closed can neither re-open a half-open breaker nor pass as its trial.
 */
export class CircuitBreaker extends BulwarkPolicy {
  /** @internal Keeps the epoch a call entered in. */
  readonly usesSlot = true;
  /** @internal Only a slow-call rule needs the time a call started. */
  readonly readsClock: boolean;
  /** The state as an index into STATES: CLOSED, OPEN, HALF_OPEN or ISOLATED. */
  private stateIndex = CLOSED;
  private epoch = 0;
  /** When open: when trials may start, on the monotonic clock. */
  private openUntil = 0;
  private breakMs: number;
  private reopens = 0;
  private trialsInFlight = 0;
  private trialsPassed = 0;
  private readonly counter: BreakerCounter;
  private readonly timed: boolean;
  private readonly slowCallMs: number;
  /** Operations whose first call was reported; only with a listener. */
  private readonly operationsSeen: Set<string> | undefined;
  /** The operation of the last call that was checked against {@link operationsSeen}. */
  private lastOperation: string | undefined = undefined;

  /** @internal Use {@link circuitBreaker} or a registry. */
  constructor(
    private readonly config: BreakerConfig,
    /** The breaker's key, when it has one. */
    readonly key: string | undefined,
    clock: Clock,
    private readonly listener: TelemetryListener | undefined,
  ) {
    super(clock);
    this.breakMs = config.breakMs;
    this.counter = config.strategy.create();
    this.timed = this.counter.timed;
    this.slowCallMs = this.counter.slowCallMs;
    this.readsClock = this.slowCallMs !== Infinity;
    this.operationsSeen = listener === undefined ? undefined : new Set();
    // So a metrics listener shows the state from now on, not from the first transition.
    if (listener !== undefined) {
      emit(listener, {
        type: 'breaker-created',
        policy: 'circuit-breaker',
        name: config.name,
        operation: undefined,
        key,
        state: STATES[CLOSED]!,
      });
    }
  }

  /** The state a call arriving now would meet (see {@link BreakerView.state}). */
  get state(): BreakerState {
    if (this.stateIndex === OPEN && this.clock.now() >= this.openUntil) return 'half-open';
    return STATES[this.stateIndex]!;
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    if (this.operationsSeen !== undefined && context.operation !== this.lastOperation) {
      this.used(context.operation);
    }
    return this.stateIndex === CLOSED
      ? this.runClosed(context, next)
      : this.runGuarded(context, next);
  }

  protected override handles(error: unknown): boolean {
    return (
      isBrokenCircuitError(error) || this.config.classify.error({ error, callerAborted: false })
    );
  }

  // Closed is the hot path: a `.then` with two small closures, not an async function, whose
  // frame and awaits cost several times as much per call ("Design figures" in RESULTS.md).
  private runClosed(context: Context, next: Next): Promise<unknown> {
    const epoch = this.epoch;
    // Only a slow-call rule needs the start time; a time window needs just the end.
    const start = this.slowCallMs !== Infinity ? this.clock.now() : 0;
    let pending: unknown;
    try {
      pending = next.call(context);
    } catch (error: unknown) {
      this.closedFailed(epoch, start, context, error);
      return Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (result: unknown) => {
        this.closedSucceeded(epoch, start, context.operation, result);
        return result;
      },
      (error: unknown) => {
        this.closedFailed(epoch, start, context, error);
        throw error;
      },
    );
  }

  /** A call admitted while closed (in `epoch`) returned `result`. */
  private closedSucceeded(
    epoch: number,
    start: number,
    operation: string | undefined,
    result: unknown,
  ): void {
    if (epoch !== this.epoch) return;
    const classify = this.config.classify.result;
    this.recordClosed(classify !== undefined && classify({ result }), start, operation);
  }

  private closedFailed(epoch: number, start: number, context: Context, error: unknown): void {
    if (epoch === this.epoch && this.counts(error, context.scope.aborted, context.scope.reason))
      this.recordClosed(true, start, context.operation);
  }

  private recordClosed(failed: boolean, start: number, operation: string | undefined): void {
    const now = this.timed ? this.clock.now() : 0;
    if (this.counter.record(failed, now, this.slowCallMs !== Infinity ? now - start : 0)) {
      this.open(this.timed ? now : this.clock.now(), operation);
    }
  }

  /** @internal Closed, a call enters the fused path; in any other state it runs layer by layer. */
  override fused(): FusedLayer {
    // Returning `this` checks the protocol's shape: an `implements` clause would name, in the
    // published types, members they leave out as internal.
    return this;
  }

  /** @internal */
  fusedEnter(frame: Frame): boolean {
    if (this.stateIndex !== CLOSED) return false;
    if (this.operationsSeen !== undefined && frame.operation !== this.lastOperation) {
      this.used(frame.operation);
    }
    frame.slot = this.epoch;
    return true;
  }

  /**
   * Reports the first call of an operation, so a listener knows which breaker serves it while the
   * breaker is healthy (no transition or rejection names the operation then). Calls of the
   * operation met last skip this method altogether: a breaker nearly always serves one.
   */
  private used(operation: string | undefined): void {
    this.lastOperation = operation;
    const seen = this.operationsSeen!;
    if (operation === undefined || seen.has(operation)) return;
    if (seen.size >= MAX_REPORTED_OPERATIONS) return;
    seen.add(operation);
    emit(this.listener!, {
      type: 'breaker-used',
      policy: 'circuit-breaker',
      name: this.config.name,
      operation,
      key: this.key,
      state: this.state,
    });
  }

  /** @internal */
  fusedSucceeded(frame: Frame, _index: number, result: unknown): unknown {
    this.closedSucceeded(frame.slot, frame.now, frame.operation, result);
    return result;
  }

  /** @internal */
  fusedFailed(frame: Frame, index: number, error: unknown): unknown {
    if (
      frame.slot === this.epoch &&
      this.counts(error, frame.abortedAt(index), frame.reasonAt(index))
    ) {
      this.recordClosed(true, frame.now, frame.operation);
    }
    return error;
  }

  private async runGuarded(context: Context, next: Next): Promise<unknown> {
    if (this.stateIndex === ISOLATED)
      throw this.reject(new IsolatedCircuitError(this.key), context);
    if (this.stateIndex === OPEN) {
      const now = this.clock.now();
      if (now < this.openUntil) {
        const retryAfterMs = Math.ceil(this.openUntil - now);
        const where = this.key === undefined ? 'circuit' : `circuit ${this.key}`;
        throw this.reject(
          new BrokenCircuitError(
            `${where} is open; next trial in ${retryAfterMs} ms`,
            this.key,
            retryAfterMs,
          ),
          context,
        );
      }
      this.transition(HALF_OPEN, context.operation);
    }
    if (this.stateIndex === HALF_OPEN) {
      if (this.trialsInFlight + this.trialsPassed >= this.config.trials) {
        const where = this.key === undefined ? 'circuit' : `circuit ${this.key}`;
        throw this.reject(
          new BrokenCircuitError(`${where} is half-open and its trial calls are taken`, this.key),
          context,
        );
      }
      return this.runTrial(context, next);
    }
    return this.runClosed(context, next);
  }

  private async runTrial(context: Context, next: Next): Promise<unknown> {
    const epoch = this.epoch;
    this.trialsInFlight++;
    const start = this.slowCallMs !== Infinity ? this.clock.now() : 0;
    let result: unknown;
    try {
      result = await next.call(context);
    } catch (error: unknown) {
      if (epoch === this.epoch) {
        this.trialsInFlight--;
        // An error that does not count frees the slot for another trial: it proved nothing.
        if (this.counts(error, context.scope.aborted, context.scope.reason)) {
          this.reopen(context.operation);
        }
      }
      throw error;
    }
    if (epoch === this.epoch) {
      this.trialsInFlight--;
      const classify = this.config.classify.result;
      // With a slow-call rule, a slow trial fails: the downstream is still degraded.
      if (
        (classify !== undefined && classify({ result })) ||
        (this.slowCallMs !== Infinity && this.clock.now() - start > this.slowCallMs)
      ) {
        this.reopen(context.operation);
      } else if (++this.trialsPassed >= this.config.trials) {
        this.close(context.operation);
      }
    }
    return result;
  }

  /** Whether `error` counts as a failure, given whether (and why) the call's scope aborted. */
  private counts(error: unknown, aborted: boolean, reason: unknown): boolean {
    // An outer timeout aborting the call is the downstream's slowness; anything else that
    // aborted the scope (the caller, a deadline) is the caller's doing.
    const callerAborted = aborted && !isTimeoutError(reason);
    return this.config.classify.error({ error, callerAborted });
  }

  private reject(error: BrokenCircuitError, context: Context): BrokenCircuitError {
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'breaker-rejected',
        policy: 'circuit-breaker',
        name: this.config.name,
        operation: context.operation,
        key: this.key,
        state: STATES[this.stateIndex]!,
      });
    }
    return error;
  }

  private open(now: number, operation: string | undefined): void {
    this.reopens = 0;
    this.breakMs = this.config.breakMs;
    this.openUntil = now + this.breakMs;
    this.transition(OPEN, operation);
  }

  private reopen(operation: string | undefined): void {
    this.reopens++;
    this.breakMs = nextBreak(this.config.backoff, this.breakMs, this.config.breakMs);
    this.openUntil = this.clock.now() + this.breakMs;
    this.transition(OPEN, operation);
  }

  private close(operation: string | undefined): void {
    this.clearHistory();
    this.transition(CLOSED, operation);
  }

  private clearHistory(): void {
    this.reopens = 0;
    this.breakMs = this.config.breakMs;
    this.counter.reset();
  }

  private transition(to: number, operation: string | undefined): void {
    const from = this.stateIndex;
    this.stateIndex = to;
    this.epoch++;
    this.trialsInFlight = 0;
    this.trialsPassed = 0;
    if (this.listener !== undefined && from !== to) {
      emit(this.listener, {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: this.config.name,
        operation,
        key: this.key,
        from: STATES[from]!,
        to: STATES[to]!,
      });
    }
  }

  /**
   * Holds the breaker open until {@link reset}: every call fails with an
   * `IsolatedCircuitError` without running. For maintenance windows and kill switches.
   */
  isolate(): void {
    if (this.stateIndex !== ISOLATED) this.transition(ISOLATED, undefined);
  }

  /**
   * Closes the breaker and forgets its history: counters, break backoff, and the outcomes of
   * calls still in flight.
   */
  reset(): void {
    this.clearHistory();
    this.transition(CLOSED, undefined);
  }

  /** A read-only picture for health checks. */
  view(): BreakerView {
    const now = this.clock.now();
    const state = this.state;
    const { failures, calls, slowCalls } = this.counter.stats(now);
    const open = state === 'open';
    return {
      key: this.key,
      name: this.config.name,
      state,
      strategy: this.config.strategy.kind,
      failures,
      calls,
      failureRatio: calls === undefined || calls === 0 ? undefined : failures / calls,
      slowCalls,
      slowCallRatio: slowCalls === undefined || !calls ? undefined : slowCalls / calls,
      breakMs: this.breakMs,
      reopens: this.reopens,
      nextTrialAt: open ? Math.ceil(this.clock.dateNow() + (this.openUntil - now)) : undefined,
      retryAfterMs: open ? Math.ceil(this.openUntil - now) : undefined,
      halfOpen:
        state === 'half-open'
          ? { trials: this.config.trials, inFlight: this.trialsInFlight, passed: this.trialsPassed }
          : undefined,
    };
  }

  /** The breaker's state as JSON-safe data, to {@link restore} after a restart. */
  snapshot(): BreakerSnapshot {
    const now = this.clock.now();
    const dateNow = this.clock.dateNow();
    const current = this.stateIndex;
    return {
      version: SNAPSHOT_VERSION,
      key: this.key,
      state: current === CLOSED ? 'closed' : current === ISOLATED ? 'isolated' : 'open',
      takenAt: dateNow,
      // Half-open is saved as open with its trial due now.
      openUntil:
        current === OPEN
          ? dateNow + (this.openUntil - now)
          : current === HALF_OPEN
            ? dateNow
            : undefined,
      breakMs: this.breakMs,
      reopens: this.reopens,
      strategy: this.counter.snapshot(now, dateNow),
    };
  }

  /**
   * Takes the state of a snapshot. An open breaker stays open until the snapshot's time;
   * counters of another strategy kind (the config changed) are dropped. Calls in flight are
   * forgotten, as after {@link reset}.
   */
  restore(snapshot: BreakerSnapshot): void {
    checkSnapshot(snapshot);
    const now = this.clock.now();
    const dateNow = this.clock.dateNow();
    this.counter.reset();
    this.counter.restore(snapshot.strategy, now, dateNow);
    this.breakMs = snapshot.breakMs;
    this.reopens = snapshot.reopens;
    let to = CLOSED;
    if (snapshot.state === 'isolated') to = ISOLATED;
    else if (snapshot.state === 'open') {
      to = OPEN;
      this.openUntil = now + (snapshot.openUntil! - dateNow);
    }
    this.transition(to, undefined);
  }
}

/**
 * A circuit breaker policy: stops calling a downstream that keeps failing, and lets a few
 * trial calls through after a break to find out whether it recovered.
 *
 * @example
 * const breaker = circuitBreaker({ strategy: consecutive({ threshold: 5 }), breakDurationMs: 10_000 });
 * const user = await breaker.execute(({ signal }) => fetchUser(id, { signal }));
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const config = parseBreakerConfig(options, {
    factory: 'circuitBreaker',
    onlyBehaviourOptions: false,
  });
  checkKnownOptions('circuitBreaker', options, [
    ...BREAKER_OPTION_NAMES,
    'key',
    'listener',
    'clock',
    'restore',
  ]);
  const { key, listener, clock = systemClock, restore } = options;
  if (key !== undefined) checkString('key', key, MAX_KEY_LENGTH);
  if (listener !== undefined) checkFunction('listener', listener);
  checkClock(clock);
  const breaker = new CircuitBreaker(config, key, clock, listener);
  if (restore !== undefined) breaker.restore(restore);
  return breaker;
}
