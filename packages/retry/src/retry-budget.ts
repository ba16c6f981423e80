import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';

/** Finagle's defaults: retries may add 20% load, with 10 retries a second always allowed. */
const DEFAULT_RATIO = 0.2;
const DEFAULT_MIN_RETRIES_PER_SECOND = 10;
const DEFAULT_WINDOW_MS = 10_000;
const MAX_RATIO = 100;
const MAX_MIN_RETRIES_PER_SECOND = 1_000_000;
const MIN_WINDOW_MS = 100;
const MAX_WINDOW_MS = 3_600_000;
/**
 * The window is kept as this many buckets: O(1) per call and fixed memory, and an entry expires
 * between 0.9 and 1.0 windows after it was recorded.
 */
const BUCKETS = 10;
/** 0.29 × 100 is 28.999999999999996 in floating point; this keeps it 29. */
const EPSILON = 1e-9;

const OPTION_NAMES = optionNames<RetryBudgetOptions>({
  ratio: true,
  minRetriesPerSecond: true,
  windowMs: true,
  clock: true,
});

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt in the window: 0.2 lets retries add 20% load. Default 0.2. */
  ratio?: number;
  /** Retries allowed per second regardless of traffic, so quiet clients can still retry. Default 10. */
  minRetriesPerSecond?: number;
  /** How far back requests and retries count, in milliseconds. Default 10,000. */
  windowMs?: number;
  /** The clock the window is measured on. Default: the system clock. */
  clock?: Clock;
}

/** A read-only snapshot of a budget, for metrics. */
export interface RetryBudgetState {
  /** Retries that would be allowed now. */
  readonly available: number;
  /** First attempts recorded in the window. */
  readonly requests: number;
  /** Retries granted in the window. */
  readonly retries: number;
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
}

/**
 * A retry budget, as in Finagle's RetryBudget and Envoy's retry_budget: shared by every call
 * through one or several retry policies, it keeps retries to `ratio` of first attempts plus a
 * reserve of `minRetriesPerSecond`, over a sliding window. When a downstream fails for
 * everyone, retries stop at a bounded extra load instead of multiplying it.
 */
export interface RetryBudget {
  /** Counts a first attempt (a deposit). Retry policies call it once per call. */
  recordRequest(): void;
  /** Takes one retry from the budget: false, and nothing taken, when it is empty. */
  tryAcquireRetry(): boolean;
  /** Retries that would be allowed now. */
  readonly available: number;
  /** A snapshot for metrics. */
  readonly state: RetryBudgetState;
}

class WindowedRetryBudget implements RetryBudget {
  private readonly bucketMs: number;
  private readonly reserve: number;
  private readonly requestBuckets = new Float64Array(BUCKETS);
  private readonly retryBuckets = new Float64Array(BUCKETS);
  private requests = 0;
  private retries = 0;
  private slot = 0;
  private current: number;

  constructor(
    readonly ratio: number,
    readonly minRetriesPerSecond: number,
    readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    this.bucketMs = windowMs / BUCKETS;
    this.reserve = (minRetriesPerSecond * windowMs) / 1000;
    this.current = Math.floor(clock.now() / this.bucketMs);
  }

  /** Expires the buckets that time has moved past: at most BUCKETS steps, however long it was. */
  private rotate(): void {
    const index = Math.floor(this.clock.now() / this.bucketMs);
    const steps = index - this.current;
    // A clock that stepped back leaves the window as it is.
    if (!(steps > 0)) return;
    const count = steps < BUCKETS ? steps : BUCKETS;
    for (let i = 0; i < count; i++) {
      this.slot = this.slot + 1 === BUCKETS ? 0 : this.slot + 1;
      this.requests -= this.requestBuckets[this.slot]!;
      this.retries -= this.retryBuckets[this.slot]!;
      this.requestBuckets[this.slot] = 0;
      this.retryBuckets[this.slot] = 0;
    }
    this.current = index;
  }

  private balance(): number {
    const balance = Math.floor(this.reserve + this.ratio * this.requests - this.retries + EPSILON);
    return balance > 0 ? balance : 0;
  }

  recordRequest(): void {
    this.rotate();
    this.requests++;
    this.requestBuckets[this.slot]!++;
  }

  tryAcquireRetry(): boolean {
    this.rotate();
    if (this.balance() < 1) return false;
    this.retries++;
    this.retryBuckets[this.slot]!++;
    return true;
  }

  get available(): number {
    this.rotate();
    return this.balance();
  }

  get state(): RetryBudgetState {
    this.rotate();
    return {
      available: this.balance(),
      requests: this.requests,
      retries: this.retries,
      ratio: this.ratio,
      minRetriesPerSecond: this.minRetriesPerSecond,
      windowMs: this.windowMs,
    };
  }
}

/**
 * A retry budget to share between retry policies (e.g. one per downstream host, or every policy
 * that calls one service). Pass the same budget as `budget` to each.
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  checkOptionsObject('retryBudget', options);
  checkKnownOptions('retryBudget', options, OPTION_NAMES);
  const {
    ratio = DEFAULT_RATIO,
    minRetriesPerSecond = DEFAULT_MIN_RETRIES_PER_SECOND,
    windowMs = DEFAULT_WINDOW_MS,
    clock = systemClock,
  } = options;
  checkNumber('ratio', ratio, 0, MAX_RATIO);
  checkNumber('minRetriesPerSecond', minRetriesPerSecond, 0, MAX_MIN_RETRIES_PER_SECOND);
  checkNumber('windowMs', windowMs, MIN_WINDOW_MS, MAX_WINDOW_MS);
  checkClock(clock);
  return new WindowedRetryBudget(ratio, minRetriesPerSecond, windowMs, clock);
}

/** True for objects that can serve as a retry budget. */
export function isRetryBudget(value: unknown): value is RetryBudget {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RetryBudget>).recordRequest === 'function' &&
    typeof (value as Partial<RetryBudget>).tryAcquireRetry === 'function'
  );
}
