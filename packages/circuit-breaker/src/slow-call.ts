import { checkNumber } from '@bulwark/core/internal';
import { checkRatio } from './validate.js';

/** By default, as in resilience4j, the slow-call rule opens only when every call is slow. */
export const DEFAULT_SLOW_CALL_RATIO = 1;

/** The slow-call rule of the window strategies (resilience4j's slowCallDurationThreshold / RateThreshold). */
export interface SlowCallOptions {
  /**
   * Calls that take longer than this many milliseconds count as slow, whether they succeed
   * or fail. Default: no slow-call rule.
   */
  slowCallMs?: number;
  /**
   * The share of slow calls in the window at which the breaker opens, in (0, 1]. Default 1.
   * Needs `slowCallMs`.
   */
  slowCallRatio?: number;
}

export interface SlowCallRule {
  /** `Infinity` when the rule is off. */
  readonly ms: number;
  readonly ratio: number;
}

export function parseSlowCallRule(options: SlowCallOptions): SlowCallRule {
  const { slowCallMs, slowCallRatio = DEFAULT_SLOW_CALL_RATIO } = options;
  if (slowCallMs === undefined && options.slowCallRatio === undefined) {
    return { ms: Infinity, ratio: DEFAULT_SLOW_CALL_RATIO };
  }
  // A ratio alone would be a rule that never fires: say so rather than ignore it.
  checkNumber('slowCallMs', slowCallMs, 0, Infinity);
  checkRatio('slowCallRatio', slowCallRatio);
  return { ms: slowCallMs, ratio: slowCallRatio };
}
