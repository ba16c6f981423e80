import { FakeClock, settle } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { RateLimitEvent } from './events.js';
import type { RawDecision, RedisLike } from './stores/redis.js';
import { redisStore } from './stores/redis.js';
import { scriptsFor } from './stores/scripts.js';
import { type Gate, gate, track } from './test-helpers.js';
import { tokenBucket } from './token-bucket.js';

/**
 * The queue over an asynchronous store, with Redis's replies in the test's hands: each EVALSHA
 * waits until the test answers it, so the moments between a decision's request and its reply
 * (when a caller can abort, or another arrive) can be reached on purpose.
 */
class ScriptedRedis implements RedisLike {
  readonly status = 'ready';
  readonly calls: Array<{ sha: string; args: unknown[]; reply: Gate<unknown> }> = [];

  evalsha(sha: string, _numKeys: number, ...args: Array<string | number>): Promise<unknown> {
    const reply = gate<unknown>();
    this.calls.push({ sha, args, reply });
    return reply.promise;
  }

  eval(): Promise<unknown> {
    return Promise.reject(new Error('EVAL was not expected'));
  }

  /** Answers the oldest unanswered call. */
  async answer(reply: RawDecision | Error): Promise<void> {
    const call = this.calls.find((c) => !answered.has(c));
    if (call === undefined) throw new Error('no call to answer');
    answered.add(call);
    if (reply instanceof Error) call.reply.reject(reply);
    else call.reply.resolve(reply);
    await settle();
  }
}
const answered = new WeakSet<object>();

const { take, refund } = scriptsFor('token-bucket');
const REFUSED_FOR_100: RawDecision = [0, 0, 1_000, 100];
const GRANTED: RawDecision = [1, 0, 1_000, 0];

function setUp(
  options: { queue?: number; maxWaitMs?: number; onStoreError?: 'allow' | 'deny' } = {},
) {
  const redis = new ScriptedRedis();
  const clock = new FakeClock();
  const events: RateLimitEvent[] = [];
  const limiter = tokenBucket({
    limit: 10,
    windowMs: 1_000,
    queue: options.queue ?? 5,
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
    onStoreError: options.onStoreError ?? 'allow',
    // The store's own clock stays still: no decision times out unless a test says so.
    store: redisStore({ client: redis, clock: new FakeClock() }),
    clock,
    listener: (event) => events.push(event),
  });
  return { redis, clock, limiter, events };
}

describe('the queue over Redis', () => {
  it('asks Redis again when the wait is over, and grants then', async () => {
    const { redis, clock, limiter } = setUp();
    const call = track(limiter.acquire('k'));
    await redis.answer(REFUSED_FOR_100);
    expect(limiter.queued).toBe(1);
    await clock.advance(100);
    expect(redis.calls.map((c) => c.sha)).toEqual([take.sha, take.sha]);
    expect(redis.calls[1]!.args).toEqual(['bulwark:rate-limit:default:k', 1, 10, 1_000, 10]);
    await redis.answer(GRANTED);
    expect(call.settled()).toBe('resolved');
    expect(limiter.queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits again when another replica took the permit first', async () => {
    const { redis, clock, limiter } = setUp();
    const call = track(limiter.acquire());
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    await redis.answer(REFUSED_FOR_100);
    expect(call.settled()).toBe('pending');
    await clock.advance(100);
    await redis.answer(GRANTED);
    expect(call.settled()).toBe('resolved');
  });

  it('lets a caller that aborts while Redis decides leave at once, and gives its permit back', async () => {
    const { redis, clock, limiter } = setUp();
    const controller = new AbortController();
    const call = track(limiter.acquire('k', { signal: controller.signal }));
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    // The second decision is in flight.
    controller.abort();
    await settle();
    expect(call.settled()).toBe('rejected');
    expect(limiter.queued).toBe(0);
    await redis.answer(GRANTED);
    expect(redis.calls.map((c) => c.sha)).toEqual([take.sha, take.sha, refund.sha]);
    expect(redis.calls[2]!.args).toEqual(['bulwark:rate-limit:default:k', 1, 10, 1_000, 10]);
  });

  it('gives back a permit granted to a caller that aborted during its first decision', async () => {
    const { redis, limiter } = setUp();
    const controller = new AbortController();
    const call = track(limiter.acquire(undefined, { signal: controller.signal }));
    controller.abort();
    await redis.answer(GRANTED);
    expect(call.settled()).toBe('rejected');
    expect(redis.calls.map((c) => c.sha)).toEqual([take.sha, refund.sha]);
  });

  it('keeps first-come order for a caller arriving while the head is being decided', async () => {
    const { redis, clock, limiter } = setUp();
    const order: string[] = [];
    const first = limiter.acquire().then(() => order.push('first'));
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    const second = limiter.acquire().then(() => order.push('second'));
    await settle();
    // The second joined the queue without asking Redis: only the head's decision is pending.
    expect(redis.calls).toHaveLength(2);
    await redis.answer(GRANTED);
    await redis.answer(GRANTED);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('refuses a waiter with "store-error" when Redis fails and onStoreError is "deny"', async () => {
    const { redis, clock, limiter, events } = setUp({ onStoreError: 'deny' });
    const call = track(limiter.acquire());
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    await redis.answer(new Error('READONLY You cannot write against a read only replica'));
    expect(call.error()).toMatchObject({ reason: 'store-error', retryAfterMs: 1_000 });
    expect(events.map((e) => e.type)).toEqual([
      'rate-limit-queued',
      'rate-limit-store-error',
      'rate-limit-rejected',
    ]);
  });

  it('grants a waiter when Redis fails and onStoreError is "allow"', async () => {
    const { redis, clock, limiter } = setUp({ onStoreError: 'allow' });
    const call = track(limiter.acquire());
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    await redis.answer(new Error('connection reset'));
    expect(call.value()).toMatchObject({ allowed: true, storeFailed: true });
  });

  it('refuses a waiter whose next wait would pass its deadline', async () => {
    const { redis, clock, limiter } = setUp({ maxWaitMs: 150 });
    const call = track(limiter.acquire());
    await redis.answer(REFUSED_FOR_100);
    await clock.advance(100);
    await redis.answer(REFUSED_FOR_100);
    expect(call.error()).toMatchObject({ reason: 'max-wait' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails a decision Redis never answers after timeoutMs, applying onStoreError', async () => {
    const redis = new ScriptedRedis();
    const storeClock = new FakeClock();
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 1_000,
      onStoreError: 'deny',
      store: redisStore({ client: redis, clock: storeClock }),
    });
    const decision = track(limiter.take());
    await storeClock.advance(99);
    expect(decision.settled()).toBe('pending');
    await storeClock.advance(1);
    expect(decision.value()).toMatchObject({ allowed: false, storeFailed: true });
    // A late answer changes nothing.
    await redis.answer(GRANTED);
    expect(decision.value()).toMatchObject({ allowed: false });
  });

  it('fails at once while the client is not connected, without sending anything', async () => {
    const sent: unknown[] = [];
    const offline: RedisLike = {
      status: 'reconnecting',
      evalsha: (...args) => {
        sent.push(args);
        return new Promise(() => undefined);
      },
      eval: () => new Promise(() => undefined),
    };
    const limiter = tokenBucket({
      limit: 1,
      windowMs: 1_000,
      store: redisStore({ client: offline }),
    });
    expect(await limiter.take()).toMatchObject({ allowed: true, storeFailed: true });
    expect(sent).toEqual([]);
  });

  it('treats a reply it does not recognise as a store failure', async () => {
    const { redis, limiter } = setUp({ onStoreError: 'deny' });
    const decision = track(limiter.take());
    await redis.answer(['1', 2, 3, 4] as unknown as RawDecision);
    expect(decision.value()).toMatchObject({ allowed: false, storeFailed: true });
  });
});
