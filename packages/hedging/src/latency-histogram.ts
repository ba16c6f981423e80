/**
 * Latencies as counts in log-scale buckets: fixed memory however many calls are recorded, O(1)
 * to record, O(buckets) to read a percentile. Counts are fractional so that old samples can fade
 * by scaling (see `adaptive-delay.ts`) instead of being remembered one by one.
 */

/** The smallest latency told apart, in milliseconds: anything at or below it shares bucket 0. */
const MIN_MS = 1 / 16;
/** Buckets per doubling: each spans a factor of 2^(1/8), about 9% of its value. */
const PER_DOUBLING = 8;
/** Doublings above MIN_MS: the last bucket ends near 262 s and also holds anything longer. */
const DOUBLINGS = 22;
export const BUCKETS = DOUBLINGS * PER_DOUBLING + 1;
const LAST = BUCKETS - 1;

/** The bucket of a latency: bucket i > 0 holds (edge(i - 1), edge(i)]. */
export function bucketOf(latencyMs: number): number {
  if (!(latencyMs > MIN_MS)) return 0;
  const index = Math.ceil(Math.log2(latencyMs / MIN_MS) * PER_DOUBLING);
  return index < LAST ? index : LAST;
}

/** The upper edge of bucket `index`, in milliseconds. */
export function upperEdge(index: number): number {
  return MIN_MS * 2 ** (index / PER_DOUBLING);
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  /** The sum of every bucket's count. */
  total = 0;

  record(latencyMs: number): void {
    this.counts[bucketOf(latencyMs)]!++;
    this.total++;
  }

  /** Multiplies every count by `factor` (in [0, 1]): how old samples fade. */
  scale(factor: number): void {
    const counts = this.counts;
    for (let i = 0; i < BUCKETS; i++) counts[i]! *= factor;
    this.total *= factor;
  }

  /**
   * The latency below which a fraction `q` (in (0, 1)) of the counted samples fall: the upper edge
   * of the bucket where the running count reaches `q` of the total, so it errs long by at most
   * one bucket. 0 with no samples.
   */
  quantile(q: number): number {
    if (this.total <= 0) return 0;
    const target = q * this.total;
    const counts = this.counts;
    let seen = 0;
    for (let i = 0; i < LAST; i++) {
      seen += counts[i]!;
      if (seen >= target) return upperEdge(i);
    }
    return upperEdge(LAST);
  }
}
