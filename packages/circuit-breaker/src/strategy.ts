/**
 * A strategy decides, from the outcomes of calls made while the breaker is closed, when it
 * opens. The strategy passed in options is a description: each breaker (each key of a
 * registry) asks it for its own counters, so one options object serves many breakers.
 */
export interface BreakerStrategy {
  readonly kind: StrategyKind;
  /** Makes fresh counters for one breaker. */
  create(): BreakerCounter;
}

export type StrategyKind = 'consecutive' | 'count-window' | 'time-window';

/** What a strategy's counters show in a breaker's view. */
export interface CounterStats {
  /** Consecutive failures, or failures in the window. */
  readonly failures: number;
  /** Calls in the window; undefined for strategies without one. */
  readonly calls: number | undefined;
  /** Slow calls in the window; undefined without a slow-call rule. */
  readonly slowCalls: number | undefined;
}

/** The counters of one breaker, in a form that survives `JSON.stringify`. */
export type StrategySnapshot =
  | { readonly kind: 'consecutive'; readonly failures: number }
  | {
      readonly kind: 'count-window';
      /** Outcomes, oldest first: bit 1 = failed, bit 2 = slow. */
      readonly samples: readonly number[];
    }
  | {
      readonly kind: 'time-window';
      /** Non-empty buckets; `at` is the bucket's start in wall-clock milliseconds. */
      readonly buckets: ReadonlyArray<{
        readonly at: number;
        readonly calls: number;
        readonly failures: number;
        readonly slowCalls: number;
      }>;
    };

/** The per-breaker side of a strategy. */
export interface BreakerCounter {
  /**
   * Whether `record()` needs the time and the call's duration. When false the breaker never
   * reads the clock on a closed-state call.
   */
  readonly timed: boolean;
  /** Calls slower than this are slow (`Infinity` without a slow-call rule). */
  readonly slowCallMs: number;
  /**
   * Records the outcome of one call made while closed. `now` and `durationMs` are 0 unless
   * `timed`. Returns true when the breaker should open.
   */
  record(failed: boolean, now: number, durationMs: number): boolean;
  /** Forgets every outcome: the breaker closed or was reset. */
  reset(): void;
  stats(now: number): CounterStats;
  snapshot(now: number, dateNow: number): StrategySnapshot;
  /** Loads counters from a snapshot. A snapshot of another kind (the config changed) is ignored. */
  restore(snapshot: StrategySnapshot, now: number, dateNow: number): void;
}

export function isBreakerStrategy(value: unknown): value is BreakerStrategy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<BreakerStrategy>).create === 'function' &&
    typeof (value as Partial<BreakerStrategy>).kind === 'string'
  );
}
