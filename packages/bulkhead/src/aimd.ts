import { clamp, type LimitAlgorithm } from './limit-algorithm.js';

export interface AimdSettings {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  readonly latencyThresholdMs: number;
  readonly backoffRatio: number;
}

/**
 * Additive increase, multiplicative decrease, as in Netflix's concurrency-limits `AIMDLimit`:
 * +1 per successful call under the latency threshold, ×backoffRatio (rounded down) per call
 * that was slow or dropped.
 */
export class AimdLimit implements LimitAlgorithm {
  limit: number;

  constructor(private readonly settings: AimdSettings) {
    this.limit = settings.initial;
  }

  update(rttMs: number, inflight: number, dropped: boolean): number {
    const { min, max, latencyThresholdMs, backoffRatio } = this.settings;
    const current = this.limit;
    if (dropped || rttMs > latencyThresholdMs) {
      // With backoffRatio < 1, flooring makes every decrease at least 1, even for small limits.
      this.limit = clamp(Math.floor(current * backoffRatio), min, max);
    } else if (inflight * 2 >= current) {
      this.limit = clamp(current + 1, min, max);
    }
    // Otherwise the caller is app-limited: fast calls at low concurrency say nothing about
    // what a higher limit would do, so growing would only drift towards max.
    return this.limit;
  }
}
