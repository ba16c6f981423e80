import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import { parseSlowCallRule, type SlowCallOptions } from './slow-call.js';
import type {
  BreakerCounter,
  BreakerStrategy,
  CounterStats,
  StrategySnapshot,
} from './strategy.js';
import { checkRatio } from './validate.js';

export const DEFAULT_WINDOW_SIZE = 100;
export const DEFAULT_FAILURE_RATIO = 0.5;
/** One byte per call: a bigger window is a memory leak per registry key, not a better signal. */
export const MAX_WINDOW_SIZE = 100_000;

export interface CountWindowOptions extends SlowCallOptions {
  /** How many of the most recent calls the window holds. Default 100. */
  size?: number;
  /** The share of failed calls in the window at which the breaker opens, in (0, 1]. Default 0.5. */
  failureRatio?: number;
  /** No ratio is judged before the window holds this many calls, in [1, size]. Default: `size`. */
  minimumCalls?: number;
}

const OPTION_NAMES = optionNames<CountWindowOptions>({
  size: true,
  failureRatio: true,
  minimumCalls: true,
  slowCallMs: true,
  slowCallRatio: true,
});

// Sample encoding, shared with snapshots: bit 1 = failed, bit 2 = slow; 4 marks a filled slot.
const FAILED = 1;
const SLOW = 2;
const FILLED = 4;

class CountWindowCounter implements BreakerCounter {
  readonly timed: boolean;
  private readonly samples: Uint8Array;
  private next = 0;
  private calls = 0;
  private failures = 0;
  private slow = 0;

  constructor(
    size: number,
    private readonly failureRatio: number,
    private readonly minimumCalls: number,
    readonly slowCallMs: number,
    private readonly slowCallRatio: number,
  ) {
    this.samples = new Uint8Array(size);
    this.timed = slowCallMs !== Infinity;
  }

  record(failed: boolean, _now: number, durationMs: number): boolean {
    const slow = durationMs > this.slowCallMs;
    this.add((failed ? FAILED : 0) | (slow ? SLOW : 0));
    if (this.calls < this.minimumCalls) return false;
    // Dividing (not multiplying the ratio) keeps 3 / 10 >= 0.3 exact.
    return (
      this.failures / this.calls >= this.failureRatio ||
      (this.timed && this.slow / this.calls >= this.slowCallRatio)
    );
  }

  private add(sample: number): void {
    const old = this.samples[this.next]!;
    if (old & FILLED) {
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    this.samples[this.next] = sample | FILLED;
    if (sample & FAILED) this.failures++;
    if (sample & SLOW) this.slow++;
    this.next = (this.next + 1) % this.samples.length;
  }

  reset(): void {
    this.samples.fill(0);
    this.next = 0;
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
  }

  stats(): CounterStats {
    return {
      failures: this.failures,
      calls: this.calls,
      slowCalls: this.timed ? this.slow : undefined,
    };
  }

  snapshot(): StrategySnapshot {
    const samples: number[] = [];
    const size = this.samples.length;
    for (let i = 0; i < size; i++) {
      const sample = this.samples[(this.next + i) % size]!;
      if (sample & FILLED) samples.push(sample & (FAILED | SLOW));
    }
    return { kind: 'count-window', samples };
  }

  restore(snapshot: StrategySnapshot): void {
    if (snapshot.kind !== 'count-window') return;
    const samples: unknown = snapshot.samples;
    if (!Array.isArray(samples)) {
      throw new TypeError('expected snapshot.strategy.samples to be an array of integers 0 to 3');
    }
    // A smaller window than the one snapshotted keeps the most recent calls.
    const length = (samples as readonly unknown[]).length;
    const from = Math.max(0, length - this.samples.length);
    for (let i = from; i < length; i++) {
      const sample: unknown = (samples as readonly unknown[])[i];
      checkInteger('snapshot.strategy.samples[]', sample, 0, 3);
      this.add(sample);
    }
  }
}

/**
 * Opens when, among the last `size` calls, the share of failures reaches `failureRatio`
 * (or the share of slow calls reaches `slowCallRatio`), once at least `minimumCalls` calls
 * have been seen. Resilience4j's COUNT_BASED sliding window.
 */
export function countWindow(options: CountWindowOptions = {}): BreakerStrategy {
  checkOptionsObject('countWindow', options);
  checkKnownOptions('countWindow', options, OPTION_NAMES);
  const { size = DEFAULT_WINDOW_SIZE, failureRatio = DEFAULT_FAILURE_RATIO } = options;
  checkInteger('size', size, 1, MAX_WINDOW_SIZE);
  checkRatio('failureRatio', failureRatio);
  const { minimumCalls = size } = options;
  checkInteger('minimumCalls', minimumCalls, 1, size);
  const slow = parseSlowCallRule(options);
  return {
    kind: 'count-window',
    create: () => new CountWindowCounter(size, failureRatio, minimumCalls, slow.ms, slow.ratio),
  };
}
