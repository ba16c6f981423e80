import type { BreakerState } from '@bulwark/core';
import type { StrategyKind } from './strategy.js';

/**
 * A read-only picture of a breaker, for health checks and admin pages. A fresh plain object
 * on every read: changing it changes nothing.
 */
export interface BreakerView {
  readonly key: string | undefined;
  readonly name: string | undefined;
  /**
   * The state a call arriving now would meet: an open breaker whose break has elapsed
   * reads `'half-open'` even before a call has arrived to make the transition.
   */
  readonly state: BreakerState;
  readonly strategy: StrategyKind;
  /** Consecutive failures (consecutive strategy) or failures in the window. */
  readonly failures: number;
  /** Calls in the window; undefined for the consecutive strategy. */
  readonly calls: number | undefined;
  /** `failures / calls`; undefined without a window or before any call. */
  readonly failureRatio: number | undefined;
  /** Slow calls in the window; undefined without a slow-call rule. */
  readonly slowCalls: number | undefined;
  /** `slowCalls / calls`; undefined without a slow-call rule or before any call. */
  readonly slowCallRatio: number | undefined;
  /** The current break duration, grown by `breakBackoff` after failed trials. */
  readonly breakMs: number;
  /** Failed trials since the breaker last closed. */
  readonly reopens: number;
  /** When open: the wall-clock time (ms since the epoch, rounded up) the next trial is allowed. */
  readonly nextTrialAt: number | undefined;
  /** When open: milliseconds until the next trial is allowed. */
  readonly retryAfterMs: number | undefined;
  /** When half-open: the trial slots. */
  readonly halfOpen:
    | {
        /** Trials needed to close (`halfOpenTrials`). */
        readonly trials: number;
        /** Trials running now. */
        readonly inFlight: number;
        /** Trials that succeeded. */
        readonly passed: number;
      }
    | undefined;
}
