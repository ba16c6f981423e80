import { getEventListeners } from 'node:events';
import { isCancelledError } from '@bulwark/core';
import { FakeClock, settle } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { isRateLimitedError } from './errors.js';
import type { RateLimitEvent } from './events.js';
import { slidingWindow } from './sliding-window.js';
import { memoryStore } from './stores/memory.js';
import { track } from './test-helpers.js';
import { tokenBucket } from './token-bucket.js';

describe('keys', () => {
  it('keeps each key to its own limit', () => {
    const limiter = tokenBucket({ limit: 2, windowMs: 1_000, clock: new FakeClock() });
    expect(limiter.take('alice').allowed).toBe(true);
    expect(limiter.take('alice').allowed).toBe(true);
    expect(limiter.take('alice').allowed).toBe(false);
    expect(limiter.take('bob').allowed).toBe(true);
    expect(limiter.take().allowed).toBe(true);
    expect(limiter.take('bob').remaining).toBe(0);
  });

  it('holds at most maxKeys keys, and a key pushed out starts fresh', () => {
    const limiter = slidingWindow({
      limit: 1,
      windowMs: 60_000,
      store: memoryStore({ maxKeys: 3 }),
      clock: new FakeClock(),
    });
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    expect(limiter.take('a').allowed).toBe(false);
    // 'b' is now the least recently used: 'd' pushes it out.
    limiter.take('d');
    expect(limiter.keys).toBe(3);
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('never counts nor evicts the unkeyed limit', () => {
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 60_000,
      store: memoryStore({ maxKeys: 1 }),
      clock: new FakeClock(),
    });
    limiter.take();
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    expect(limiter.keys).toBe(1);
    expect(limiter.take().allowed).toBe(false);
  });

  it.each([
    ['', TypeError, 'expected key to be a non-empty string, got ""'],
    [42, TypeError, 'expected key to be a non-empty string, got 42'],
    [null, TypeError, 'expected key to be a non-empty string, got null'],
    [
      'k'.repeat(257),
      RangeError,
      `expected key to be a string of at most 256 characters, got "${'k'.repeat(40)}…"`,
    ],
  ])('refuses the key %o, naming what was expected', (key, Kind, message) => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock: new FakeClock() });
    expect(() => limiter.take(key as string)).toThrow(new Kind(message));
    expect(limiter.keys).toBe(0);
  });

  it('accepts keys up to maxKeyLength', () => {
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 1_000,
      maxKeyLength: 8,
      clock: new FakeClock(),
    });
    expect(limiter.take('12345678').allowed).toBe(true);
    expect(() => limiter.take('123456789')).toThrow(RangeError);
  });

  it('refuses permits that are not a positive integer', () => {
    const limiter = tokenBucket({ limit: 5, windowMs: 1_000, clock: new FakeClock() });
    expect(() => limiter.take('k', 0)).toThrow(
      new RangeError('expected permits to be an integer between 1 and 5, got 0'),
    );
    expect(() => limiter.take('k', Number.NaN)).toThrow(
      new TypeError('expected permits to be an integer between 1 and 5, got NaN'),
    );
  });
});

describe('acquire', () => {
  it.each([
    [{ permits: 0 }, RangeError, 'expected permits to be an integer between 1 and 5, got 0'],
    [{ signal: 'abort' }, TypeError, 'expected signal to be an AbortSignal, got "abort"'],
    [
      { permit: 2 },
      TypeError,
      'unknown option "permit" for acquire(); did you mean "permits"? expected one of permits, signal',
    ],
  ])('rejects the options %o, taking nothing', async (options, Kind, message) => {
    const limiter = tokenBucket({ limit: 5, windowMs: 1_000, clock: new FakeClock() });
    await expect(limiter.acquire('k', options as never)).rejects.toThrow(new Kind(message));
    expect(limiter.take('k').remaining).toBe(4);
  });

  it('resolves with the decision when the permits are there', async () => {
    const limiter = slidingWindow({ limit: 5, windowMs: 1_000, clock: new FakeClock() });
    expect(await limiter.acquire('k', { permits: 2 })).toMatchObject({
      allowed: true,
      remaining: 3,
    });
  });
});

describe('the queue', () => {
  it('refuses at once with reason "limit" when the limiter has no queue', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock: new FakeClock() });
    await limiter.acquire();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(isRateLimitedError(error)).toBe(true);
    expect(error).toMatchObject({
      reason: 'limit',
      retryAfterMs: 1_000,
      policy: 'default',
      limit: 1,
    });
  });

  it('grants waiting calls in arrival order, each when its permit comes', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, burst: 1, queue: 5, clock });
    const order: string[] = [];
    await limiter.acquire();
    const calls = ['a', 'b', 'c'].map((name) =>
      limiter.acquire().then((decision) => {
        order.push(`${name}@${clock.now()}`);
        return decision;
      }),
    );
    expect(limiter.queued).toBe(3);
    await clock.advance(300);
    await Promise.all(calls);
    expect(order).toEqual(['a@100', 'b@200', 'c@300']);
    expect(limiter.queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves waiters asking for several permits in order, without letting a small one overtake', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, queue: 5, clock });
    limiter.take(undefined, 10);
    const order: string[] = [];
    const big = limiter
      .acquire(undefined, { permits: 5 })
      .then(() => order.push(`big@${clock.now()}`));
    const small = limiter.acquire().then(() => order.push(`small@${clock.now()}`));
    await clock.advance(1_000);
    await Promise.all([big, small]);
    expect(order).toEqual(['big@500', 'small@600']);
  });

  it('refuses a call whose permit would come after maxWaitMs, at once', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 5, maxWaitMs: 999, clock });
    await limiter.acquire();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'max-wait', retryAfterMs: 1_000 });
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses a waiter behind others once its own wait would pass maxWaitMs', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({
      limit: 10,
      windowMs: 1_000,
      burst: 1,
      queue: 5,
      maxWaitMs: 250,
      clock,
    });
    await limiter.acquire();
    const first = track(limiter.acquire());
    const second = track(limiter.acquire());
    const third = track(limiter.acquire());
    await clock.advance(199);
    expect([first.settled(), second.settled(), third.settled()]).toEqual([
      'resolved',
      'pending',
      'pending',
    ]);
    // The third's permit would come at 300 ms, past its deadline of 250: it is refused as soon
    // as it reaches the head, at 200, not left to wait until 250 for nothing.
    await clock.advance(1);
    expect(second.settled()).toBe('resolved');
    expect(third.settled()).toBe('rejected');
    expect(third.error()).toMatchObject({ reason: 'max-wait' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses with "queue-full" once queue calls wait', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({ limit: 1, windowMs: 1_000, queue: 2, maxWaitMs: 5_000, clock });
    limiter.take();
    const waiting = [track(limiter.acquire()), track(limiter.acquire())];
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'queue-full' });
    expect(limiter.queued).toBe(2);
    await clock.runAll();
    expect(waiting.map((w) => w.settled())).toEqual(['resolved', 'resolved']);
  });

  it('takes an aborted waiter out at once, without a permit, and the next one moves up', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, burst: 1, queue: 5, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = track(limiter.acquire(undefined, { signal: controller.signal }));
    const next = track(limiter.acquire());
    controller.abort(new Error('client went away'));
    await settle();
    expect(aborted.settled()).toBe('rejected');
    expect(isCancelledError(aborted.error())).toBe(true);
    expect(limiter.queued).toBe(1);
    // The permit at 100 ms goes to the next caller, not to the one that left.
    await clock.advance(100);
    expect(next.settled()).toBe('resolved');
    expect(limiter.take().allowed).toBe(false);
    await clock.advance(100);
    expect(limiter.take().allowed).toBe(true);
  });

  it('leaves no timer behind when the last waiter aborts', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 5, clock });
    limiter.take();
    const controller = new AbortController();
    const waiting = track(limiter.acquire(undefined, { signal: controller.signal }));
    expect(clock.pendingTimers).toBe(1);
    controller.abort();
    await settle();
    expect(waiting.settled()).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('removes its abort listener from the signal once a waiter is granted', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 5, clock });
    limiter.take();
    const controller = new AbortController();
    const waiting = track(limiter.acquire(undefined, { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await clock.advance(1_000);
    expect(waiting.settled()).toBe('resolved');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('refuses a call whose signal has already aborted, taking nothing', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 1, clock: new FakeClock() });
    const error = await limiter
      .acquire('k', { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('queues each key apart: a waiting key does not hold up another', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 5, clock });
    limiter.take('slow');
    const slow = track(limiter.acquire('slow'));
    const decision = await limiter.acquire('fast');
    expect(decision.allowed).toBe(true);
    expect(slow.settled()).toBe('pending');
    await clock.advance(1_000);
    expect(slow.settled()).toBe('resolved');
  });

  it('refuses take() for a key others wait for, so it never overtakes them', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, burst: 1, queue: 5, clock });
    limiter.take('k');
    const waiting = track(limiter.acquire('k'));
    await clock.advance(60);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 40 });
    await clock.advance(40);
    expect(waiting.settled()).toBe('resolved');
    expect(limiter.take('other').allowed).toBe(true);
  });

  it('arms no timer while nothing waits', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 5, windowMs: 1_000, queue: 5, clock });
    for (let i = 0; i < 5; i++) await limiter.acquire('k');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('events', () => {
  it('reports grants, queueing and refusals without the key', async () => {
    const clock = new FakeClock();
    const events: RateLimitEvent[] = [];
    const limiter = tokenBucket({
      limit: 10,
      windowMs: 1_000,
      burst: 1,
      queue: 1,
      maxWaitMs: 150,
      name: 'partner-api',
      clock,
      listener: (event) => events.push(event),
    });
    await limiter.acquire('tenant-secret');
    const waiting = limiter.acquire('tenant-secret');
    await limiter.acquire('tenant-secret').catch(() => undefined);
    await clock.advance(100);
    await waiting;
    limiter.take('tenant-secret');
    expect(events).toEqual([
      {
        type: 'rate-limit-granted',
        policy: 'rate-limit',
        name: 'partner-api',
        operation: undefined,
        permits: 1,
        remaining: 0,
        waitedMs: 0,
      },
      {
        type: 'rate-limit-queued',
        policy: 'rate-limit',
        name: 'partner-api',
        operation: undefined,
        permits: 1,
        queued: 1,
      },
      {
        type: 'rate-limit-rejected',
        policy: 'rate-limit',
        name: 'partner-api',
        operation: undefined,
        reason: 'queue-full',
        permits: 1,
        retryAfterMs: 100,
      },
      {
        type: 'rate-limit-granted',
        policy: 'rate-limit',
        name: 'partner-api',
        operation: undefined,
        permits: 1,
        remaining: 0,
        waitedMs: 100,
      },
      {
        type: 'rate-limit-rejected',
        policy: 'rate-limit',
        name: 'partner-api',
        operation: undefined,
        reason: 'limit',
        permits: 1,
        retryAfterMs: 100,
      },
    ]);
    expect(JSON.stringify(events)).not.toContain('tenant-secret');
  });

  it('keeps deciding when the listener throws', () => {
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 1_000,
      clock: new FakeClock(),
      listener: () => {
        throw new Error('broken exporter');
      },
    });
    expect(limiter.take().allowed).toBe(true);
    expect(limiter.take().allowed).toBe(false);
  });
});
