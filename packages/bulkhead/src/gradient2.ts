import { ExpAverage } from './exp-average.js';
import { clamp, type LimitAlgorithm } from './limit-algorithm.js';

/** The gradient never cuts the limit by more than half per sample, so one outlier cannot collapse it. */
const MIN_GRADIENT = 0.5;
/**
 * When the baseline is more than twice the current latency (load has just passed), the
 * baseline decays by this factor per sample instead of waiting out its long window.
 */
const BASELINE_RESET_RATIO = 2;
const BASELINE_DECAY = 0.9;

export interface Gradient2Settings {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  readonly smoothing: number;
  readonly queueSize: number;
  readonly longWindow: number;
  readonly shortWindow: number;
  readonly tolerance: number;
}

/**
 * Netflix's concurrency-limits `Gradient2Limit`: compares a short-term average of call latency
 * with a long-term baseline. While the short-term average stays within `tolerance` of the
 * baseline the gradient is 1 and the limit grows by `queueSize` (smoothed); when latency
 * climbs the gradient drops below 1 and the limit shrinks with it.
 */
export class Gradient2Limit implements LimitAlgorithm {
  private estimate: number;
  private readonly shortRtt: ExpAverage;
  private readonly longRtt: ExpAverage;

  constructor(private readonly settings: Gradient2Settings) {
    this.estimate = settings.initial;
    this.shortRtt = new ExpAverage(settings.shortWindow);
    this.longRtt = new ExpAverage(settings.longWindow);
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  update(rttMs: number, inflight: number, _dropped: boolean): number {
    const { min, max, smoothing, queueSize, tolerance } = this.settings;
    const short = this.shortRtt.add(rttMs);
    const long = this.longRtt.add(rttMs);
    if (long > short * BASELINE_RESET_RATIO) this.longRtt.set(long * BASELINE_DECAY);
    // App-limited: too few calls in flight to learn anything about a higher limit.
    if (inflight < this.estimate / 2) return this.limit;
    const gradient = short > 0 ? clamp((tolerance * long) / short, MIN_GRADIENT, 1) : 1;
    const target = this.estimate * gradient + queueSize;
    this.estimate = clamp(this.estimate * (1 - smoothing) + target * smoothing, min, max);
    return this.limit;
  }
}
