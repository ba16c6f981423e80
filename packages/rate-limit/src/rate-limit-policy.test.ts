import { type ExecutionContext, isCancelledError, pipeline } from '@bulwark/core';
import { FakeClock, settle } from '@bulwark/testing';
import { handleAll, retry as cockatielRetry, ConstantBackoff, wrap } from 'cockatiel';
import { describe, expect, it, vi } from 'vitest';
import { isRateLimitedError } from './errors.js';
import type { RateLimitEvent } from './events.js';
import type { Limiter } from './limiter.js';
import { rateLimit } from './rate-limit-policy.js';
import { slidingWindow } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';

describe('rateLimit', () => {
  it('runs calls while permits last, then fails fast with a RateLimitedError and never calls', async () => {
    const clock = new FakeClock();
    const policy = rateLimit({ limiter: tokenBucket({ limit: 2, windowMs: 1_000, clock }) });
    const fn = vi.fn(() => 'ok');
    expect(await policy.execute(fn)).toBe('ok');
    expect(await policy.execute(fn)).toBe('ok');
    const error = await policy.execute(fn).catch((e: unknown) => e);
    expect(isRateLimitedError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_RATE_LIMITED',
      reason: 'limit',
      retryAfterMs: 500,
    });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('keeps a pipeline within the quota, and a permit used by a failed call stays used', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({ limit: 3, windowMs: 1_000, clock });
    const guarded = pipeline({ operation: 'partner.get' }, rateLimit({ limiter }));
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      await guarded
        .execute(() => {
          if (i === 0) throw new Error('downstream failed');
          return 'ok';
        })
        .then(
          (value) => outcomes.push(value),
          (error: unknown) => outcomes.push(isRateLimitedError(error) ? 'limited' : 'failed'),
        );
    }
    expect(outcomes).toEqual(['failed', 'ok', 'ok', 'limited', 'limited']);
  });

  it('waits in the queue and runs the call when its permit comes', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, burst: 1, queue: 10, clock });
    const policy = pipeline(rateLimit({ limiter }));
    const started: number[] = [];
    const calls = [1, 2, 3].map(() => policy.execute(() => started.push(clock.now())));
    await settle();
    expect(started).toEqual([0]);
    await clock.advance(200);
    await Promise.all(calls);
    expect(started).toEqual([0, 100, 200]);
  });

  it('takes an aborted caller out of the queue without running it or spending its permit', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, queue: 10, clock });
    const policy = rateLimit({ limiter });
    await policy.execute(() => undefined);
    const controller = new AbortController();
    const fn = vi.fn();
    const waiting = policy.execute(fn, controller.signal).catch((e: unknown) => e);
    await settle();
    controller.abort();
    expect(isCancelledError(await waiting)).toBe(true);
    expect(limiter.queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1_000);
    expect(fn).not.toHaveBeenCalled();
    expect(limiter.take().allowed).toBe(true);
  });

  it('counts each call against the key its key function returns', async () => {
    const clock = new FakeClock();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock });
    const seen: Array<string | undefined> = [];
    let tenant = 'a';
    const policy = pipeline(
      { operation: 'partner.get' },
      rateLimit({
        limiter,
        key: (context: ExecutionContext) => {
          seen.push(context.operation);
          return tenant;
        },
      }),
    );
    await policy.execute(() => 'ok');
    await expect(policy.execute(() => 'ok')).rejects.toMatchObject({ reason: 'limit' });
    tenant = 'b';
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
    expect(seen.every((operation) => operation === 'partner.get')).toBe(true);
  });

  it('fails a call whose key function returns a bad key, naming it, without calling', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock: new FakeClock() });
    const fn = vi.fn();
    const policy = pipeline(rateLimit({ limiter, key: () => 'x'.repeat(300) }));
    await expect(policy.execute(fn)).rejects.toThrow(
      new RangeError(
        `expected key to be a string of at most 256 characters, got "${'x'.repeat(40)}…"`,
      ),
    );
    const throwing = pipeline(
      rateLimit({
        limiter,
        key: () => {
          throw new Error('no tenant');
        },
      }),
    );
    await expect(throwing.execute(fn)).rejects.toThrow('no tenant');
    expect(fn).not.toHaveBeenCalled();
  });

  it('takes several permits a call when asked', async () => {
    const limiter = tokenBucket({ limit: 10, windowMs: 1_000, clock: new FakeClock() });
    const policy = rateLimit({ limiter, permits: 4 });
    await policy.execute(() => undefined);
    await policy.execute(() => undefined);
    await expect(policy.execute(() => undefined)).rejects.toMatchObject({ reason: 'limit' });
    expect(limiter.take(undefined, 2).allowed).toBe(true);
  });

  it('takes free permits on the pipeline fused path and reports the operation', async () => {
    const clock = new FakeClock();
    const events: RateLimitEvent[] = [];
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 1_000,
      clock,
      listener: (event) => events.push(event),
    });
    const fused = vi.spyOn(limiter as unknown as Limiter<object>, 'tryTake');
    const policy = pipeline({ operation: 'partner.get' }, rateLimit({ limiter }));
    await policy.execute(() => 'ok');
    await policy.execute(() => 'ok').catch(() => undefined);
    expect(fused).toHaveBeenCalledTimes(2);
    expect(events.map((e) => [e.type, e.operation])).toEqual([
      ['rate-limit-granted', 'partner.get'],
      ['rate-limit-rejected', 'partner.get'],
    ]);
  });

  it('fails a call already aborted before taking a permit', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock: new FakeClock() });
    const error = await rateLimit({ limiter })
      .execute(() => undefined, AbortSignal.abort())
      .catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect(limiter.take().allowed).toBe(true);
  });

  it('composes with cockatiel: inside wrap(), a refusal is a handled failure', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock: new FakeClock() });
    const limited = rateLimit({ limiter });
    const failures: boolean[] = [];
    limited.onFailure(({ handled }) => failures.push(handled));
    const policy = wrap(
      cockatielRetry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(0) }),
      limited,
    );
    const fn = vi.fn(() => 'ok');
    await policy.execute(fn);
    await expect(policy.execute(fn)).rejects.toMatchObject({ code: 'BULWARK_RATE_LIMITED' });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(failures).toEqual([true, true]);
  });

  describe('options', () => {
    const limiter = tokenBucket({ limit: 3, windowMs: 1_000 });

    it.each([
      [{}, 'expected limiter to be a tokenBucket() or a slidingWindow(), got undefined'],
      [
        { limiter: {} },
        'expected limiter to be a tokenBucket() or a slidingWindow(), got an object',
      ],
      [{ limiter, key: 'tenant' }, 'expected key to be a function, got "tenant"'],
      [
        { limiter, keys: () => 'k' },
        'unknown option "keys" for rateLimit(); did you mean "key"? expected one of limiter, key, permits',
      ],
    ])('rejects %o with a TypeError', (options, message) => {
      expect(() => rateLimit(options as never)).toThrow(new TypeError(message));
    });

    it('rejects more permits a call than the limiter can ever grant', () => {
      expect(() => rateLimit({ limiter, permits: 4 })).toThrow(
        new RangeError('expected permits to be an integer between 1 and 3, got 4'),
      );
    });
  });
});
