import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { tokenBucket } from './token-bucket.js';

/** How many of `count` takes in a row are allowed. */
function granted(take: () => { allowed: boolean }, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (take().allowed) allowed++;
  return allowed;
}

describe('tokenBucket', () => {
  it('grants exactly the burst at once, then refuses', () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, clock });
    expect(granted(() => limiter.take(), 25)).toBe(10);
  });

  it('refills one permit every windowMs / limit, never more', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, clock });
    granted(() => limiter.take(), 10);
    await clock.advance(99);
    expect(limiter.take().allowed).toBe(false);
    await clock.advance(1);
    expect(limiter.take().allowed).toBe(true);
    expect(limiter.take().allowed).toBe(false);
    await clock.advance(350);
    expect(granted(() => limiter.take(), 10)).toBe(3);
  });

  it('grants limit + burst over the first window and limit over each one after it', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 60, windowMs: 60_000, burst: 5, clock });
    let allowed = 0;
    // One try per 100 ms for a minute, from a full bucket.
    for (let ms = 0; ms < 60_000; ms += 100) {
      if (limiter.take().allowed) allowed++;
      await clock.advance(100);
    }
    expect(allowed).toBe(5 + 59);
    allowed = 0;
    for (let ms = 0; ms < 60_000; ms += 100) {
      if (limiter.take().allowed) allowed++;
      await clock.advance(100);
    }
    expect(allowed).toBe(60);
  });

  it('keeps a rate that is not a whole number of milliseconds per permit exact', async () => {
    const clock = new FakeClock();
    // One permit every 333.33 ms: three per second, exactly.
    const limiter = tokenBucket({ limit: 3, windowMs: 1_000, burst: 1, clock });
    let allowed = 0;
    for (let ms = 0; ms < 30_000; ms++) {
      if (limiter.take().allowed) allowed++;
      await clock.advance(1);
    }
    expect(allowed).toBe(90);
  });

  it('caps the refill at the burst after a long quiet spell', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 100, windowMs: 1_000, burst: 20, clock });
    granted(() => limiter.take(), 20);
    await clock.advance(3_600_000);
    expect(granted(() => limiter.take(), 100)).toBe(20);
  });

  it('reports remaining permits, the time to full and, when refused, the exact wait', async () => {
    const clock = new FakeClock({ now: 5_000 });
    const limiter = tokenBucket({ limit: 4, windowMs: 1_000, clock });
    expect(limiter.take()).toMatchObject({
      allowed: true,
      remaining: 3,
      resetMs: 250,
      retryAfterMs: 0,
      limit: 4,
      windowMs: 1_000,
      policy: 'default',
      storeFailed: false,
    });
    granted(() => limiter.take(), 3);
    const refused = limiter.take(undefined, 2);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetMs: 1_000 });
    // Two permits need two refills: 500 ms.
    expect(refused.retryAfterMs).toBe(500);
    await clock.advance(499);
    expect(limiter.take(undefined, 2).allowed).toBe(false);
    await clock.advance(1);
    expect(limiter.take(undefined, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('never hands out a permit before the retryAfterMs it announced', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 7, windowMs: 1_000, burst: 3, clock });
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const permits = 1 + random(3);
      const decision = limiter.take(undefined, permits);
      if (!decision.allowed) {
        const wait = decision.retryAfterMs;
        expect(wait).toBeGreaterThan(0);
        await clock.advance(wait - 1);
        expect(limiter.take(undefined, permits).allowed).toBe(false);
        await clock.advance(1);
        expect(limiter.take(undefined, permits).allowed).toBe(true);
      }
      await clock.advance(random(400));
    }
  });

  it('takes several permits at once, and refuses more than the burst outright', () => {
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, clock: new FakeClock() });
    expect(limiter.take(undefined, 10).remaining).toBe(0);
    expect(() => limiter.take(undefined, 11)).toThrow(
      new RangeError('expected permits to be an integer between 1 and 10, got 11'),
    );
  });

  it('reads no timer and leaves none behind', () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock });
    limiter.take();
    limiter.take();
    limiter.take('k');
    expect(clock.pendingTimers).toBe(0);
  });

  describe('options', () => {
    it.each([
      [
        { limit: -1, windowMs: 1_000 },
        'expected limit to be an integer between 1 and 10000000, got -1',
      ],
      [
        { limit: 0, windowMs: 1_000 },
        'expected limit to be an integer between 1 and 10000000, got 0',
      ],
      [
        { limit: 1.5, windowMs: 1_000 },
        'expected limit to be an integer between 1 and 10000000, got 1.5',
      ],
      [
        { limit: 10, windowMs: 0 },
        'expected windowMs to be an integer between 1 and 86400000, got 0',
      ],
      [
        { limit: 10, windowMs: -1_000 },
        'expected windowMs to be an integer between 1 and 86400000, got -1000',
      ],
      [
        { limit: 10, windowMs: 86_400_001 },
        'expected windowMs to be an integer between 1 and 86400000, got 86400001',
      ],
      [
        { limit: 10, windowMs: 1_000, burst: 0 },
        'expected burst to be an integer between 1 and 10000000, got 0',
      ],
      [{ limit: 10, windowMs: 1_000, queue: -1 }, 'expected queue to be an integer >= 0, got -1'],
      [
        { limit: 10, windowMs: 1_000, maxWaitMs: 100 },
        'expected queue to be an integer >= 1 when maxWaitMs is set, got 0',
      ],
      [
        { limit: 10, windowMs: 1_000, queue: 1, maxWaitMs: 0 },
        'expected maxWaitMs to be an integer between 1 and 2147483647, got 0',
      ],
      [
        { limit: 10, windowMs: 1_000, maxKeyLength: 0 },
        'expected maxKeyLength to be an integer between 1 and 4096, got 0',
      ],
    ])('rejects %o with a RangeError naming what was expected and given', (options, message) => {
      expect(() => tokenBucket(options)).toThrow(new RangeError(message));
    });

    it.each([
      [
        { limit: Number.NaN, windowMs: 1_000 },
        'expected limit to be an integer between 1 and 10000000, got NaN',
      ],
      [
        { limit: '10', windowMs: 1_000 },
        'expected limit to be an integer between 1 and 10000000, got "10"',
      ],
      [
        { limit: 10, windowMs: Number.NaN },
        'expected windowMs to be an integer between 1 and 86400000, got NaN',
      ],
      [{ limit: 10 }, 'expected windowMs to be an integer between 1 and 86400000, got undefined'],
      [
        { limit: 10, windowMs: 1_000, rate: 5 },
        'unknown option "rate" for tokenBucket(); expected one of limit, windowMs, name, store, maxKeyLength, queue, maxWaitMs, onStoreError, listener, clock, burst',
      ],
      [
        { limit: 10, windowMs: 1_000, name: 'has space' },
        'expected name to be 1 to 64 letters, digits, "_", "." or "-", got "has space"',
      ],
      [
        { limit: 10, windowMs: 1_000, onStoreError: 'open' },
        'expected onStoreError to be one of "allow", "deny", got "open"',
      ],
      [
        { limit: 10, windowMs: 1_000, store: {} },
        'expected store to be a memoryStore() or a redisStore(), got an object',
      ],
      [
        { limit: 10, windowMs: 1_000, listener: 'log' },
        'expected listener to be a function, got "log"',
      ],
    ])('rejects %o with a TypeError naming what was expected and given', (options, message) => {
      expect(() => tokenBucket(options as never)).toThrow(new TypeError(message));
    });

    it('rejects options that are not an object', () => {
      expect(() => tokenBucket(null as never)).toThrow(
        new TypeError('expected the options of tokenBucket() to be an object, got null'),
      );
    });
  });
});
