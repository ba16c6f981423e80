import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import { DEFAULT_FAILURE_RATIO } from './count-window.js';
import { parseSlowCallRule, type SlowCallOptions } from './slow-call.js';
import type {
  BreakerCounter,
  BreakerStrategy,
  CounterStats,
  StrategySnapshot,
} from './strategy.js';
import { checkRatio } from './validate.js';

export const DEFAULT_WINDOW_MS = 30_000;
export const DEFAULT_BUCKETS = 10;
export const DEFAULT_MINIMUM_THROUGHPUT = 20;
export const MAX_BUCKETS = 1000;

export interface TimeWindowOptions extends SlowCallOptions {
  /** How far back the window reaches, in milliseconds. Default 30 000. */
  windowMs?: number;
  /**
   * How many buckets the window is cut into, in [1, min(1000, windowMs)]. The window slides
   * one bucket (`windowMs / buckets`) at a time. Default 10.
   */
  buckets?: number;
  /** The share of failed calls in the window at which the breaker opens, in (0, 1]. Default 0.5. */
  failureRatio?: number;
  /** No ratio is judged while the window holds fewer calls than this. Default 20. */
  minimumThroughput?: number;
}

const OPTION_NAMES = optionNames<TimeWindowOptions>({
  windowMs: true,
  buckets: true,
  failureRatio: true,
  minimumThroughput: true,
  slowCallMs: true,
  slowCallRatio: true,
});

/**
 * A ring of buckets with running totals, so a call costs O(1) whatever the window size:
 * moving into a new bucket subtracts the buckets that fell out of the window.
 */
class TimeWindowCounter implements BreakerCounter {
  readonly timed = true;
  private readonly bucketMs: number;
  private readonly calls: Uint32Array;
  private readonly failures: Uint32Array;
  private readonly slow: Uint32Array;
  /** The absolute index (time / bucketMs) of the newest bucket. */
  private current = -Infinity;
  private totalCalls = 0;
  private totalFailures = 0;
  private totalSlow = 0;

  constructor(
    windowMs: number,
    private readonly buckets: number,
    private readonly failureRatio: number,
    private readonly minimumThroughput: number,
    readonly slowCallMs: number,
    private readonly slowCallRatio: number,
  ) {
    this.bucketMs = windowMs / buckets;
    this.calls = new Uint32Array(buckets);
    this.failures = new Uint32Array(buckets);
    this.slow = new Uint32Array(buckets);
  }

  record(failed: boolean, now: number, durationMs: number): boolean {
    const slot = this.roll(now);
    this.calls[slot]!++;
    this.totalCalls++;
    if (failed) {
      this.failures[slot]!++;
      this.totalFailures++;
    }
    if (durationMs > this.slowCallMs) {
      this.slow[slot]!++;
      this.totalSlow++;
    }
    if (this.totalCalls < this.minimumThroughput) return false;
    return (
      this.totalFailures / this.totalCalls >= this.failureRatio ||
      this.totalSlow / this.totalCalls >= this.slowCallRatio
    );
  }

  /** Drops the buckets that fell out of the window by `now`; returns the slot for `now`. */
  private roll(now: number): number {
    const index = Math.floor(now / this.bucketMs);
    if (index > this.current) {
      if (index - this.current >= this.buckets) {
        this.clear();
      } else {
        for (let i = this.current + 1; i <= index; i++) this.clearSlot(this.slotOf(i));
      }
      this.current = index;
    }
    // A clock that went backwards lands in the newest bucket rather than corrupting older ones.
    return this.slotOf(this.current);
  }

  private slotOf(index: number): number {
    return ((index % this.buckets) + this.buckets) % this.buckets;
  }

  private clearSlot(slot: number): void {
    this.totalCalls -= this.calls[slot]!;
    this.totalFailures -= this.failures[slot]!;
    this.totalSlow -= this.slow[slot]!;
    this.calls[slot] = 0;
    this.failures[slot] = 0;
    this.slow[slot] = 0;
  }

  private clear(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.slow.fill(0);
    this.totalCalls = 0;
    this.totalFailures = 0;
    this.totalSlow = 0;
  }

  reset(): void {
    this.clear();
    this.current = -Infinity;
  }

  stats(now: number): CounterStats {
    this.roll(now);
    return {
      failures: this.totalFailures,
      calls: this.totalCalls,
      slowCalls: this.slowCallMs === Infinity ? undefined : this.totalSlow,
    };
  }

  snapshot(now: number, dateNow: number): StrategySnapshot {
    this.roll(now);
    const buckets: Array<{ at: number; calls: number; failures: number; slowCalls: number }> = [];
    // Oldest first, as wall-clock times: the monotonic clock restarts with the process.
    for (let index = this.current - this.buckets + 1; index <= this.current; index++) {
      const slot = this.slotOf(index);
      const calls = this.calls[slot]!;
      if (calls === 0) continue;
      buckets.push({
        at: dateNow + (index * this.bucketMs - now),
        calls,
        failures: this.failures[slot]!,
        slowCalls: this.slow[slot]!,
      });
    }
    return { kind: 'time-window', buckets };
  }

  restore(snapshot: StrategySnapshot, now: number, dateNow: number): void {
    if (snapshot.kind !== 'time-window') return;
    const buckets: unknown = snapshot.buckets;
    if (!Array.isArray(buckets)) {
      throw new TypeError('expected snapshot.strategy.buckets to be an array of buckets');
    }
    this.roll(now);
    for (const bucket of buckets as typeof snapshot.buckets) {
      checkInteger('snapshot.strategy.buckets[].calls', bucket?.calls, 0, Infinity);
      checkInteger('snapshot.strategy.buckets[].failures', bucket.failures, 0, bucket.calls);
      checkInteger('snapshot.strategy.buckets[].slowCalls', bucket.slowCalls, 0, bucket.calls);
      if (typeof bucket.at !== 'number' || !Number.isFinite(bucket.at)) {
        throw new TypeError('expected snapshot.strategy.buckets[].at to be a finite number');
      }
      // Rounding, not flooring: a bucket start carried through two clocks may be off by a hair.
      const index = Math.round((bucket.at - dateNow + now) / this.bucketMs);
      if (index <= this.current - this.buckets) continue;
      const slot = this.slotOf(Math.min(index, this.current));
      this.calls[slot]! += bucket.calls;
      this.failures[slot]! += bucket.failures;
      this.slow[slot]! += bucket.slowCalls;
      this.totalCalls += bucket.calls;
      this.totalFailures += bucket.failures;
      this.totalSlow += bucket.slowCalls;
    }
  }
}

/**
 * Opens when, over the last `windowMs`, the share of failures reaches `failureRatio` (or
 * the share of slow calls reaches `slowCallRatio`), once the window holds at least
 * `minimumThroughput` calls. Polly's advanced breaker, resilience4j's TIME_BASED window.
 */
export function timeWindow(options: TimeWindowOptions = {}): BreakerStrategy {
  checkOptionsObject('timeWindow', options);
  checkKnownOptions('timeWindow', options, OPTION_NAMES);
  const {
    windowMs = DEFAULT_WINDOW_MS,
    buckets = DEFAULT_BUCKETS,
    failureRatio = DEFAULT_FAILURE_RATIO,
    minimumThroughput = DEFAULT_MINIMUM_THROUGHPUT,
  } = options;
  checkInteger('windowMs', windowMs, 1, Infinity);
  checkInteger('buckets', buckets, 1, Math.min(MAX_BUCKETS, windowMs));
  checkRatio('failureRatio', failureRatio);
  checkInteger('minimumThroughput', minimumThroughput, 1, Infinity);
  const slow = parseSlowCallRule(options);
  return {
    kind: 'time-window',
    create: () =>
      new TimeWindowCounter(
        windowMs,
        buckets,
        failureRatio,
        minimumThroughput,
        slow.ms,
        slow.ratio,
      ),
  };
}
