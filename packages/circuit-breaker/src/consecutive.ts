import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import type {
  BreakerCounter,
  BreakerStrategy,
  CounterStats,
  StrategySnapshot,
} from './strategy.js';

export const DEFAULT_CONSECUTIVE_THRESHOLD = 5;

export interface ConsecutiveOptions {
  /** Opens after this many failures in a row. Default 5. */
  threshold?: number;
}

const OPTION_NAMES = optionNames<ConsecutiveOptions>({ threshold: true });

class ConsecutiveCounter implements BreakerCounter {
  readonly timed = false;
  readonly slowCallMs = Infinity;
  private failures = 0;

  constructor(private readonly threshold: number) {}

  record(failed: boolean): boolean {
    if (!failed) {
      this.failures = 0;
      return false;
    }
    return ++this.failures >= this.threshold;
  }

  reset(): void {
    this.failures = 0;
  }

  stats(): CounterStats {
    return { failures: this.failures, calls: undefined, slowCalls: undefined };
  }

  snapshot(): StrategySnapshot {
    return { kind: 'consecutive', failures: this.failures };
  }

  restore(snapshot: StrategySnapshot): void {
    if (snapshot.kind !== 'consecutive') return;
    checkInteger('snapshot.strategy.failures', snapshot.failures, 0, Infinity);
    // Restored into a breaker with a lower threshold, the count waits for the next failure.
    this.failures = snapshot.failures;
  }
}

/**
 * Opens after `threshold` failures in a row; any success starts the count again. The
 * cheapest strategy: a closed-state call costs a counter update and never reads the clock.
 */
export function consecutive(options: ConsecutiveOptions = {}): BreakerStrategy {
  checkOptionsObject('consecutive', options);
  checkKnownOptions('consecutive', options, OPTION_NAMES);
  const { threshold = DEFAULT_CONSECUTIVE_THRESHOLD } = options;
  checkInteger('threshold', threshold, 1, Infinity);
  return { kind: 'consecutive', create: () => new ConsecutiveCounter(threshold) };
}
