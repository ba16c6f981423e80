import { describe, expect, it } from 'vitest';
import { BUCKETS, LatencyWindow, bucketOf, upperBoundOf } from './latency-window.js';

describe('LatencyWindow', () => {
  it('puts every duration in a bucket whose upper bound is within a fifth above it', () => {
    for (const ms of [0.06, 0.3, 1, 7.5, 42, 180, 999, 12_345]) {
      const bound = upperBoundOf(bucketOf(ms));
      expect(bound).toBeGreaterThanOrEqual(ms);
      expect(bound).toBeLessThan(ms * 1.2);
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(10 * 60_000)).toBe(BUCKETS - 1);
  });

  it('reads p50 and p99 of the completed ticks only', () => {
    const window = new LatencyWindow(3);
    for (let i = 0; i < 98; i++) window.record(10);
    window.record(500);
    window.record(500);
    expect(window.quantile(0.5)).toBeNaN();
    window.rotate();
    expect(window.count).toBe(100);
    expect(window.quantile(0.5)).toBeCloseTo(upperBoundOf(bucketOf(10)));
    expect(window.quantile(0.99)).toBeCloseTo(upperBoundOf(bucketOf(500)));
  });

  it('forgets a tick once the window has moved past it', () => {
    const window = new LatencyWindow(2);
    window.record(1_000);
    window.rotate();
    window.record(1);
    window.rotate();
    expect(window.count).toBe(2);
    window.rotate();
    expect(window.count).toBe(1);
    expect(window.quantile(0.99)).toBeCloseTo(upperBoundOf(bucketOf(1)));
    window.rotate();
    expect(window.count).toBe(0);
    expect(window.quantile(0.5)).toBeNaN();
  });
});
