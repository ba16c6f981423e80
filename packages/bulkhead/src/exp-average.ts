/** Samples averaged plainly before the exponential decay takes over, so one early outlier cannot dominate. */
const DEFAULT_WARMUP = 10;

/**
 * An exponential moving average over roughly `window` samples (factor 2 / (window + 1)), as
 * in Netflix's concurrency-limits: the first samples are averaged plainly as a warm-up.
 */
export class ExpAverage {
  private value_ = 0;
  private sum = 0;
  private count = 0;
  private readonly factor: number;
  private readonly warmup: number;

  constructor(window: number, warmup = DEFAULT_WARMUP) {
    this.factor = 2 / (window + 1);
    this.warmup = Math.min(warmup, window);
  }

  get value(): number {
    return this.value_;
  }

  add(sample: number): number {
    if (this.count < this.warmup) {
      this.count++;
      this.sum += sample;
      this.value_ = this.sum / this.count;
    } else {
      this.value_ = this.value_ * (1 - this.factor) + sample * this.factor;
    }
    return this.value_;
  }

  /** Replaces the average, e.g. to let a long-term baseline decay faster than its window. */
  set(value: number): void {
    this.value_ = value;
  }
}
