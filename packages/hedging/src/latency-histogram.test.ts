import { describe, expect, it } from 'vitest';
import { BUCKETS, LatencyHistogram, bucketOf, upperEdge } from './latency-histogram.js';

describe('LatencyHistogram', () => {
  it('puts each latency in the bucket whose upper edge is at most 9% above it', () => {
    for (const ms of [0.07, 0.5, 1, 2, 3.7, 10, 99, 1_000, 12_345, 200_000]) {
      const edge = upperEdge(bucketOf(ms));
      expect(edge).toBeGreaterThanOrEqual(ms);
      expect(edge).toBeLessThan(ms * 1.091);
    }
  });

  it('keeps what is too small, too large or not a number in the end buckets', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(1e9)).toBe(BUCKETS - 1);
    expect(bucketOf(Infinity)).toBe(BUCKETS - 1);
  });

  it('reads a percentile as the upper edge of the bucket where the count reaches it', () => {
    const histogram = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) histogram.record(i);
    expect(histogram.quantile(0.95)).toBe(upperEdge(bucketOf(95)));
    expect(histogram.quantile(0.5)).toBe(upperEdge(bucketOf(50)));
    expect(histogram.total).toBe(100);
  });

  it('fades every count alike when scaled, so percentiles keep their place', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 90; i++) histogram.record(10);
    for (let i = 0; i < 10; i++) histogram.record(100);
    const before = histogram.quantile(0.95);
    histogram.scale(0.5);
    expect(histogram.total).toBe(50);
    expect(histogram.quantile(0.95)).toBe(before);
  });

  it('reads 0 when it holds nothing', () => {
    expect(new LatencyHistogram().quantile(0.95)).toBe(0);
  });
});
