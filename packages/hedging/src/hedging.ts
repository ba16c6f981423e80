import {
  type Clock,
  type ExecutionContext,
  type TelemetryListener,
  systemClock,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  TimerQueue,
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import { type RetryBudget, type RetryClassifier, defaultClassifier } from '@bulwark/retry';
import { type AdaptiveDelay, AdaptiveDelayEstimator, adaptiveDelay } from './adaptive-delay.js';
import { NotIdempotentError } from './errors.js';
import { HedgedCall, type HedgingSettings, isHedgeableError } from './hedged-call.js';
import { isIdempotent } from './idempotent.js';

/** Polly's default: one hedge, so a call costs at most two attempts. */
const DEFAULT_MAX_HEDGED_ATTEMPTS = 1;
/** Polly's ceiling too: past a handful of parallel copies, hedging is a load generator. */
const MAX_HEDGED_ATTEMPTS_LIMIT = 10;
/** Node timers overflow past 2^31 - 1 ms. */
const MAX_DELAY_MS = 2_147_483_647;

const OPTION_NAMES: readonly string[] = [
  'idempotent',
  'maxHedgedAttempts',
  'delay',
  'classify',
  'budget',
  'name',
  'listener',
  'clock',
];

/** What a delay function is told. */
export interface HedgingDelayArgs {
  /** The attempt about to be started: 2 for the first hedge. */
  readonly attempt: number;
  /** The call's execution context (its deadline, operation, signal). */
  readonly context: ExecutionContext;
}

/**
 * The delay in milliseconds before attempt `attempt` starts, counted from the start of the one
 * before. `Infinity`, or anything but a number >= 0 (NaN, a negative number, a throw), starts no
 * hedge on time: only a failure then starts the next attempt.
 */
export type HedgingDelayFn = (args: HedgingDelayArgs) => number;

export interface HedgingOptions {
  /**
   * Required: which calls are safe to run more than once at a time. `true`: every call through
   * this hedger is (you acknowledge it). `'marked'`: only calls whose function was marked with
   * `idempotent()`; any other call is refused with a `NotIdempotentError`, and nothing runs.
   */
  idempotent: true | 'marked';
  /** Attempts beyond the first: an integer from 1 to 10. Default 1. */
  maxHedgedAttempts?: number;
  /**
   * How long to wait for an answer before the next hedge: milliseconds (0 starts every attempt
   * at once), a function of `{ attempt, context }`, or an `adaptiveDelay()`. Default: a new
   * `adaptiveDelay()` (the 95th percentile of recent latencies) for this hedger.
   */
  delay?: number | HedgingDelayFn | AdaptiveDelay;
  /**
   * Which outcomes are failures to hedge past (errors and returned values); any other outcome is
   * acceptable, and the first acceptable one settles the call. Default: `@bulwark/retry`'s
   * `defaultClassifier`.
   */
  classify?: RetryClassifier;
  /** A retry budget, shared with retry policies: each hedge needs a withdrawal from it. */
  budget?: RetryBudget;
  /** Names this policy in telemetry events. */
  name?: string;
  /** Receives `hedge-started`, `hedge-won` and `hedge-cancelled` events. */
  listener?: TelemetryListener;
  /** The clock for delays and latencies. Default: the system clock. */
  clock?: Clock;
}

/**
 * Runs the rest of the pipeline again, in parallel, when an attempt is slow or fails, and settles
 * with the first acceptable outcome, aborting the others. Built by {@link hedging}.
 */
export class HedgingPolicy extends BulwarkPolicy {
  readonly maxHedgedAttempts: number;
  readonly name: string | undefined;
  readonly budget: RetryBudget | undefined;
  /** The adaptive delay this hedger learns into, when its delay adapts. */
  readonly adaptiveDelay: AdaptiveDelay | undefined;
  private readonly settings: HedgingSettings;
  /** True for `idempotent: 'marked'`: each call's function must carry the mark. */
  private readonly marked: boolean;

  /** @internal Use {@link hedging}, which validates the options. */
  constructor(
    settings: Omit<HedgingSettings, 'queue' | 'clock'> & { clock: Clock },
    marked: boolean,
  ) {
    super(settings.clock);
    this.settings = { ...settings, queue: new TimerQueue(settings.clock) };
    this.maxHedgedAttempts = settings.maxAttempts - 1;
    this.name = settings.name;
    this.budget = settings.budget;
    this.adaptiveDelay = settings.adaptive;
    this.marked = marked;
  }

  /** Whether the classifier counts `error` as a failure: cockatiel's `onFailure` `handled` flag. */
  protected override handles(error: unknown): boolean {
    return isHedgeableError(this.settings, error);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const scope = context.scope;
    if (scope.aborted) return Promise.reject(scope.abortError());
    if (this.marked && !isIdempotent(context.fn)) {
      return Promise.reject(new NotIdempotentError(context.operation));
    }
    const call = new HedgedCall(this.settings, context, next);
    call.start(this.clock.now());
    return call.promise;
  }
}

/** The delay lookup for each kind of `delay` option. */
function delaySource(delay: unknown): Pick<HedgingSettings, 'delayFor' | 'adaptive'> {
  if (delay === undefined) delay = adaptiveDelay();
  if (delay instanceof AdaptiveDelayEstimator) {
    const adaptive = delay;
    return { adaptive, delayFor: (_attempt, _context, now) => adaptive.delayAt(now) };
  }
  if (typeof delay === 'function') {
    const fn = delay as HedgingDelayFn;
    return { adaptive: undefined, delayFor: (attempt, context) => callDelay(fn, attempt, context) };
  }
  if (typeof delay === 'number') {
    checkNumber('delay', delay, 0, MAX_DELAY_MS);
    const ms = delay;
    return { adaptive: undefined, delayFor: () => ms };
  }
  throw new TypeError(
    `expected delay to be a number of milliseconds, a function or an adaptiveDelay(), got ${describeValue(delay)}`,
  );
}

/** A delay function's answer, sanitised: a number >= 0, else Infinity (no hedge on time). */
function callDelay(fn: HedgingDelayFn, attempt: number, context: Context): number {
  let delay: unknown;
  try {
    delay = fn({ attempt, context: context.spreadable ? context.toPlain() : context });
  } catch {
    // A broken delay function must not fail the call, nor add load: no hedge on time.
    return Infinity;
  }
  return typeof delay === 'number' && delay >= 0 ? delay : Infinity;
}

function checkIdempotent(value: unknown): asserts value is true | 'marked' {
  if (value !== true && value !== 'marked') {
    // `false` is the likely mistake here, and describeValue() names only its type.
    const given = typeof value === 'boolean' ? String(value) : describeValue(value);
    throw new TypeError(
      `expected idempotent to be true (every call through this hedger is safe to repeat) or "marked" (only calls marked with idempotent()), got ${given}`,
    );
  }
}

function checkClassifier(value: unknown): asserts value is RetryClassifier {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected classify to be an object with error and/or result predicates, got ${describeValue(value)}`,
    );
  }
  checkKnownOptions('classify', value, ['error', 'result']);
  const { error, result } = value as { error?: unknown; result?: unknown };
  if (error === undefined && result === undefined) {
    throw new TypeError('expected classify to have an error or a result predicate, got neither');
  }
  if (error !== undefined) checkFunction('classify.error', error);
  if (result !== undefined) checkFunction('classify.result', result);
}

function checkBudget(value: unknown): asserts value is RetryBudget {
  const budget = value as Partial<RetryBudget> | null;
  if (
    typeof budget !== 'object' ||
    budget === null ||
    typeof budget.recordRequest !== 'function' ||
    typeof budget.tryAcquireRetry !== 'function'
  ) {
    throw new TypeError(
      `expected budget to be a RetryBudget from retryBudget(), got ${describeValue(value)}`,
    );
  }
}

/**
 * A hedging policy, as in "The Tail at Scale" and Polly's hedging strategy: when an attempt has
 * not answered after the delay (by default the 95th percentile of recent latencies), another one
 * starts; the first acceptable outcome wins and every other attempt is aborted through its own
 * signal. Only for calls that are safe to repeat: `idempotent` is required.
 *
 * @example
 * const hedger = hedging({ idempotent: true, budget: retryBudget() });
 * const res = await hedger.execute(({ signal }) => fetch(url, { signal }));
 */
export function hedging(options: HedgingOptions): HedgingPolicy {
  checkOptionsObject('hedging', options);
  checkKnownOptions('hedging', options, OPTION_NAMES);
  const {
    idempotent,
    maxHedgedAttempts = DEFAULT_MAX_HEDGED_ATTEMPTS,
    delay,
    classify = defaultClassifier,
    budget,
    name,
    listener,
    clock = systemClock,
  } = options;
  checkIdempotent(idempotent);
  checkInteger('maxHedgedAttempts', maxHedgedAttempts, 1, MAX_HEDGED_ATTEMPTS_LIMIT);
  const { delayFor, adaptive } = delaySource(delay);
  checkClassifier(classify);
  if (budget !== undefined) checkBudget(budget);
  if (name !== undefined) checkString('name', name);
  if (listener !== undefined) checkFunction('listener', listener);
  checkClock(clock);
  return new HedgingPolicy(
    {
      maxAttempts: maxHedgedAttempts + 1,
      delayFor,
      adaptive,
      errorPredicate: classify.error,
      resultPredicate: classify.result,
      budget,
      name,
      listener,
      clock,
    },
    idempotent === 'marked',
  );
}
