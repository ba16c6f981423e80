/**
 * Latency percentiles over the last few seconds, per operation, in constant memory: durations
 * fall into log-spaced buckets (four per doubling, so a percentile is off by at most a fifth of
 * its value, as with any bucketed histogram), one row of buckets per tick, and the window keeps
 * a fixed number of rows. Recording is one increment; the percentiles are read once per tick.
 */

/** Durations at or below this fall in the first bucket. */
const MIN_MS = 0.05;
const BUCKETS_PER_DOUBLING = 4;
/** 0.05 ms × 2^(79/4) is about 45 s: slower calls all count in the last bucket. */
export const BUCKETS = 80;

/** The bucket of a duration: the first whose upper bound is at or above it. */
export function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.ceil(Math.log2(ms / MIN_MS) * BUCKETS_PER_DOUBLING);
  return i < BUCKETS ? i : BUCKETS - 1;
}

/** The upper bound of bucket `i`, in milliseconds. */
export function upperBoundOf(i: number): number {
  return MIN_MS * 2 ** (i / BUCKETS_PER_DOUBLING);
}

export class LatencyWindow {
  /**
   * `slices + 1` rows of BUCKETS counts: the completed ticks of the window, and the one being
   * filled, at `offset`.
   */
  private readonly counts: Uint32Array;
  /** The completed rows summed, so a percentile reads one row, not the whole window. */
  private readonly sum = new Float64Array(BUCKETS);
  private total = 0;
  private offset = 0;

  constructor(slices: number) {
    this.counts = new Uint32Array((slices + 1) * BUCKETS);
  }

  record(ms: number): void {
    this.counts[this.offset + bucketOf(ms)]!++;
  }

  /**
   * Ends the current tick: its row joins the window, and the oldest row leaves it, zeroed, to be
   * the next one filled.
   */
  rotate(): void {
    const counts = this.counts;
    const sum = this.sum;
    const current = this.offset;
    const next = current + BUCKETS === counts.length ? 0 : current + BUCKETS;
    for (let b = 0; b < BUCKETS; b++) {
      const added = counts[current + b]!;
      const expired = counts[next + b]!;
      sum[b] = sum[b]! + added - expired;
      this.total += added - expired;
      counts[next + b] = 0;
    }
    this.offset = next;
  }

  /**
   * The `q` quantile (0–1) of the window's completed ticks, as the upper bound of its bucket;
   * NaN when the window holds no call.
   */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.sum[b]!;
      if (seen >= rank) return upperBoundOf(b);
    }
    return upperBoundOf(BUCKETS - 1);
  }

  /** Calls in the window's completed ticks. */
  get count(): number {
    return this.total;
  }
}
