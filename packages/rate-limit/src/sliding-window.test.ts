import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { slidingWindow } from './sliding-window.js';

function granted(take: () => { allowed: boolean }, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (take().allowed) allowed++;
  return allowed;
}

describe('slidingWindow', () => {
  it('grants exactly the limit within one window', () => {
    const limiter = slidingWindow({ limit: 10, windowMs: 1_000, clock: new FakeClock() });
    expect(granted(() => limiter.take(), 30)).toBe(10);
  });

  it('carries the previous window across the boundary, weighted by what the window still covers', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({ limit: 10, windowMs: 1_000, clock });
    granted(() => limiter.take(), 10);
    await clock.advance(999);
    expect(limiter.take().allowed).toBe(false);
    // The boundary: the whole previous window is still covered, a fixed window would reset here.
    await clock.advance(1);
    expect(limiter.take().allowed).toBe(false);
    // 10% of the previous window has slid out: one permit.
    await clock.advance(100);
    expect(granted(() => limiter.take(), 5)).toBe(1);
    // Half of it: four more.
    await clock.advance(400);
    expect(granted(() => limiter.take(), 10)).toBe(4);
    // Two windows later nothing of the first is left, and the second counts half.
    await clock.advance(1_000);
    expect(granted(() => limiter.take(), 20)).toBe(7);
  });

  it('never grants more than the limit in one fixed window, whatever the pattern', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({ limit: 20, windowMs: 1_000, clock });
    const perWindow = new Map<number, number>();
    for (let ms = 0; ms < 10_000; ms += 7) {
      if (limiter.take().allowed) {
        const window = Math.floor(ms / 1_000);
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      await clock.advance(7);
    }
    expect(Math.max(...perWindow.values())).toBe(20);
    expect([...perWindow.values()].reduce((a, b) => a + b)).toBeLessThanOrEqual(20 * 10);
  });

  it('starts fresh when two windows have passed', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({ limit: 5, windowMs: 1_000, clock });
    granted(() => limiter.take(), 5);
    await clock.advance(2_000);
    expect(granted(() => limiter.take(), 10)).toBe(5);
  });

  it('reports remaining permits and the time until the window forgets them', async () => {
    const clock = new FakeClock({ now: 10_250 });
    const limiter = slidingWindow({ limit: 4, windowMs: 1_000, clock });
    expect(limiter.take()).toMatchObject({ allowed: true, remaining: 3, retryAfterMs: 0 });
    // Taken 250 ms into a window: counted fully until its end, then fading over the next one.
    expect(limiter.take().resetMs).toBe(1_750);
    granted(() => limiter.take(), 2);
    const refused = limiter.take();
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetMs: 1_750 });
    // Next window: 4 × (1000 − e) / 1000 <= 3 once e >= 250.
    expect(refused.retryAfterMs).toBe(750 + 250);
  });

  it('never hands out a permit before the retryAfterMs it announced, nor long after', async () => {
    const clock = new FakeClock({ now: 3 });
    const limiter = slidingWindow({ limit: 9, windowMs: 700, clock });
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    let refusals = 0;
    for (let round = 0; round < 300; round++) {
      const permits = 1 + random(4);
      const decision = limiter.take(undefined, permits);
      if (!decision.allowed) {
        refusals++;
        await clock.advance(decision.retryAfterMs - 1);
        expect(limiter.take(undefined, permits).allowed).toBe(false);
        await clock.advance(1);
        expect(limiter.take(undefined, permits).allowed).toBe(true);
      }
      await clock.advance(random(120));
    }
    expect(refusals).toBeGreaterThan(20);
  });

  it('takes several permits at once, and refuses more than the limit outright', () => {
    const limiter = slidingWindow({ limit: 3, windowMs: 1_000, clock: new FakeClock() });
    expect(limiter.take('k', 3).remaining).toBe(0);
    expect(() => limiter.take('k', 4)).toThrow(
      new RangeError('expected permits to be an integer between 1 and 3, got 4'),
    );
  });

  it('rejects a burst, which only a token bucket has', () => {
    expect(() => slidingWindow({ limit: 3, windowMs: 1_000, burst: 5 } as never)).toThrow(
      /^unknown option "burst" for slidingWindow\(\); expected one of limit, windowMs/,
    );
  });
});
