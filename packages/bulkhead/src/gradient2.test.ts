import type { PolicyEvent } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { adaptiveLimit } from './adaptive-limit.js';
import { bulkhead } from './bulkhead.js';
import { Gradient2Limit } from './gradient2.js';
import { sleep } from './test-helpers.js';

const settings = {
  initial: 20,
  min: 5,
  max: 100,
  smoothing: 0.2,
  queueSize: 4,
  longWindow: 600,
  shortWindow: 10,
  tolerance: 1.5,
};
const BUSY = 1000;

function feed(limit: Gradient2Limit, rttMs: number, samples: number, inflight = BUSY): number {
  for (let i = 0; i < samples; i++) limit.update(rttMs, inflight, false);
  return limit.limit;
}

describe('Gradient2Limit', () => {
  it('grows by the smoothed queueSize per sample while latency stays flat', () => {
    const g = new Gradient2Limit(settings);
    // 20 × 0.8 + (20 + 4) × 0.2 = 20.8, then 21.6.
    expect(g.update(10, BUSY, false)).toBe(20);
    expect(g.update(10, BUSY, false)).toBe(21);
    expect(feed(g, 10, 10)).toBe(29);
  });

  it('lowers the limit when short-term latency climbs above the long-term baseline', () => {
    const g = new Gradient2Limit(settings);
    const steady = feed(g, 10, 50);
    expect(steady).toBe(60);
    const loaded = feed(g, 40, 20);
    expect(loaded).toBeLessThan(steady * 0.5);
    expect(loaded).toBeGreaterThanOrEqual(settings.min);
  });

  it('keeps the limit when latency rises within the tolerance', () => {
    const g = new Gradient2Limit({ ...settings, queueSize: 0 });
    feed(g, 10, 50);
    // 14 ms is within 1.5 × the 10 ms baseline: the gradient stays 1.
    expect(feed(g, 14, 20)).toBe(20);
  });

  it('recovers once latency falls back', () => {
    const g = new Gradient2Limit(settings);
    feed(g, 10, 50);
    const bottom = feed(g, 40, 40);
    const recovered = feed(g, 10, 40);
    expect(recovered).toBeGreaterThan(bottom + 20);
  });

  it('brings an inflated baseline down quickly once load has passed, so a fresh climb is caught', () => {
    const g = new Gradient2Limit(settings);
    feed(g, 10, 20);
    feed(g, 100, 600);
    feed(g, 10, 50);
    const before = g.limit;
    expect(feed(g, 40, 10)).toBeLessThan(before);
  });

  it('never cuts the limit by more than half per sample, however bad one sample looks', () => {
    const g = new Gradient2Limit({ ...settings, smoothing: 1, queueSize: 0, shortWindow: 1 });
    feed(g, 10, 20);
    expect(g.update(10_000, BUSY, false)).toBe(10);
  });

  it('stays within [min, max]', () => {
    expect(feed(new Gradient2Limit(settings), 10, 500)).toBe(100);
    const g = new Gradient2Limit({ ...settings, queueSize: 0 });
    feed(g, 10, 20);
    expect(feed(g, 1000, 50)).toBe(5);
  });

  it('does not move the limit while app-limited (fewer than half of it in flight)', () => {
    const g = new Gradient2Limit(settings);
    expect(feed(g, 10, 10, 9)).toBe(20);
    expect(feed(g, 100, 10, 9)).toBe(20);
  });

  it('copes with calls that take no measurable time', () => {
    const g = new Gradient2Limit(settings);
    expect(feed(g, 0, 5)).toBe(24);
    expect(Number.isFinite(g.limit)).toBe(true);
  });
});

describe('bulkhead with a Gradient2 limit', () => {
  it('lowers the limit when call latency climbs and raises it again when latency recovers', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = bulkhead({
      limit: adaptiveLimit({
        algorithm: 'gradient2',
        initial: 10,
        min: 2,
        max: 40,
        shortWindow: 3,
      }),
      queue: 1000,
      clock,
      listener: (e) => events.push(e),
    });
    async function wave(latencyMs: number): Promise<void> {
      const calls = Array.from({ length: policy.limit * 2 }, () =>
        policy.execute(() => sleep(clock, latencyMs)),
      );
      await clock.runAll();
      await Promise.all(calls);
    }

    for (let i = 0; i < 5; i++) await wave(10);
    const steady = policy.limit;
    expect(steady).toBe(40);

    for (let i = 0; i < 2; i++) await wave(50);
    const loaded = policy.limit;
    expect(loaded).toBeLessThan(steady / 2);

    for (let i = 0; i < 5; i++) await wave(10);
    expect(policy.limit).toBeGreaterThan(loaded * 2);

    const moves = events.filter((e) => e.type === 'bulkhead-limit');
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.at(-1)).toMatchObject({ to: policy.limit });
  });
});
