import { once } from 'node:events';
import { FakeClock, type TestRedis, settle, startRedis } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitEvent } from '../events.js';
import { rateLimit } from '../rate-limit-policy.js';
import { slidingWindow } from '../sliding-window.js';
import { track } from '../test-helpers.js';
import { tokenBucket } from '../token-bucket.js';
import { type RedisLike, type RedisStore, redisStore } from './redis.js';

/** A limit that cannot refill while a test runs: one permit per six minutes. */
const HOUR = 3_600_000;

/**
 * A store whose time limit runs on a clock that never moves: a loaded test machine must not turn
 * a slow reply into a store failure. The tests of the time limit use their own clock.
 */
function shared(client: Redis, prefix?: string): RedisStore {
  return redisStore({
    client,
    clock: new FakeClock(),
    ...(prefix === undefined ? {} : { prefix }),
  });
}

async function connected(port: number): Promise<Redis> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  // A stopped server makes ioredis report connection errors while it retries: expected here.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('redisStore against a real Redis', () => {
  let server: TestRedis;
  let one: Redis;
  let two: Redis;
  beforeAll(async () => {
    server = await startRedis();
    one = await connected(server.port);
    two = await connected(server.port);
  });
  afterAll(async () => {
    one.disconnect();
    two.disconnect();
    await server.stop();
  });
  afterEach(async () => {
    await one.flushall();
  });

  it.each([
    ['tokenBucket', tokenBucket],
    ['slidingWindow', slidingWindow],
  ] as const)(
    'gives two %s instances on two clients one combined limit',
    async (_name, factory) => {
      const a = factory({
        limit: 10,
        windowMs: HOUR,
        name: 'api',
        store: shared(one),
      });
      const b = factory({
        limit: 10,
        windowMs: HOUR,
        name: 'api',
        store: shared(two),
      });
      const decisions = [];
      for (let i = 0; i < 15; i++) {
        decisions.push(await a.take('tenant'), await b.take('tenant'));
      }
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      expect(decisions.slice(0, 10).map((d) => d.remaining)).toEqual([
        9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
      ]);
      expect(decisions.slice(10).every((d) => !d.allowed && d.retryAfterMs > 0)).toBe(true);
    },
  );

  it('decides concurrent calls from both clients atomically', async () => {
    const a = tokenBucket({ limit: 25, windowMs: HOUR, store: shared(one) });
    const b = tokenBucket({ limit: 25, windowMs: HOUR, store: shared(two) });
    const decisions = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).take('k')),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
    expect(new Set(decisions.filter((d) => d.allowed).map((d) => d.remaining)).size).toBe(25);
  });

  it('agrees with the memory store, decision for decision, on the same requests', async () => {
    for (const factory of [tokenBucket, slidingWindow]) {
      await one.flushall();
      const inRedis = factory({ limit: 10, windowMs: HOUR, store: shared(one) });
      const local = factory({ limit: 10, windowMs: HOUR, clock: new FakeClock() });
      for (const permits of [3, 4, 4, 2, 1, 1, 5, 1]) {
        const remote = await inRedis.take('k', permits);
        const here = local.take('k', permits);
        expect([remote.allowed, remote.remaining]).toEqual([here.allowed, here.remaining]);
      }
    }
  });

  it('announces the wait until the next permit, by the Redis server clock', async () => {
    const limiter = tokenBucket({ limit: 1, windowMs: 60_000, store: shared(one) });
    await limiter.take();
    const refused = await limiter.take();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(55_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.resetMs).toBeLessThanOrEqual(60_000);
  });

  it('writes one key per limit under the prefix and policy, expiring once it is full again', async () => {
    const store = shared(one, 'test:');
    const limiter = tokenBucket({ limit: 10, windowMs: 10_000, name: 'api', store });
    await limiter.take('alice');
    await limiter.take('bob', 3);
    await limiter.take();
    expect((await one.keys('*')).sort()).toEqual(['test:api', 'test:api:alice', 'test:api:bob']);
    const ttl = await one.pttl('test:api:bob');
    expect(ttl).toBeGreaterThan(2_000);
    expect(ttl).toBeLessThanOrEqual(3_000);
  });

  it('keeps keys apart in Redis', async () => {
    const limiter = slidingWindow({ limit: 1, windowMs: HOUR, store: shared(one) });
    expect((await limiter.take('a')).allowed).toBe(true);
    expect((await limiter.take('a')).allowed).toBe(false);
    expect((await limiter.take('b')).allowed).toBe(true);
  });

  it('loads its script again when Redis has lost it', async () => {
    const limiter = tokenBucket({ limit: 2, windowMs: HOUR, store: shared(one) });
    await limiter.take();
    await one.script('FLUSH');
    expect(await limiter.take()).toMatchObject({ allowed: true, remaining: 0, storeFailed: false });
    expect((await limiter.take()).allowed).toBe(false);
  });

  it('leaves the limit untouched when a queued caller aborts', async () => {
    const clock = new FakeClock();
    let queued!: () => void;
    const inQueue = new Promise<void>((resolve) => (queued = resolve));
    const limiter = tokenBucket({
      limit: 2,
      windowMs: HOUR,
      queue: 5,
      store: shared(one),
      clock,
      listener: (event) => {
        if (event.type === 'rate-limit-queued') queued();
      },
    });
    await limiter.take('k', 2);
    const before = await one.get('bulwark:rate-limit:default:k');
    const controller = new AbortController();
    const waiting = track(limiter.acquire('k', { signal: controller.signal }));
    await inQueue;
    expect(clock.pendingTimers).toBe(1);
    controller.abort();
    await settle();
    expect(waiting.settled()).toBe('rejected');
    expect(waiting.error()).toMatchObject({ code: 'BULWARK_CANCELLED' });
    expect(limiter.queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(await one.get('bulwark:rate-limit:default:k')).toBe(before);
  });
});

describe('redisStore when Redis goes away', () => {
  let server: TestRedis;
  let client: Redis;
  beforeEach(async () => {
    server = await startRedis();
    client = await connected(server.port);
  });
  afterEach(async () => {
    client.disconnect();
    server.resume();
    await server.stop();
  });

  it('lets calls through when Redis is stopped mid-run and onStoreError is "allow"', async () => {
    const clock = new FakeClock();
    const events: RateLimitEvent[] = [];
    const limiter = tokenBucket({
      limit: 1,
      windowMs: HOUR,
      store: redisStore({ client, clock, timeoutMs: 100 }),
      listener: (event) => events.push(event),
    });
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(false);
    await server.stop();
    const during = track(limiter.take('k'));
    // Refused at once by a client that knows it is disconnected, or failed by the time limit.
    await clock.advance(100);
    expect(during.settled()).toBe('resolved');
    expect(during.value()).toMatchObject({ allowed: true, storeFailed: true });
    expect(events.at(-2)).toMatchObject({ type: 'rate-limit-store-error', mode: 'allow' });
    expect(events.at(-1)).toMatchObject({ type: 'rate-limit-granted' });
  });

  it('refuses calls when Redis is stopped mid-run and onStoreError is "deny"', async () => {
    const clock = new FakeClock();
    const events: RateLimitEvent[] = [];
    const limiter = tokenBucket({
      limit: 5,
      windowMs: HOUR,
      onStoreError: 'deny',
      store: redisStore({ client, clock, timeoutMs: 100 }),
      listener: (event) => events.push(event),
    });
    const policy = rateLimit({ limiter });
    expect(await policy.execute(() => 'ok')).toBe('ok');
    await server.stop();
    const during = track(policy.execute(() => 'ran'));
    await clock.advance(100);
    expect(during.settled()).toBe('rejected');
    expect(during.error()).toMatchObject({
      code: 'BULWARK_RATE_LIMITED',
      reason: 'store-error',
      retryAfterMs: 1_000,
    });
    expect(events.map((e) => e.type).slice(-2)).toEqual([
      'rate-limit-store-error',
      'rate-limit-rejected',
    ]);
    expect(events.at(-2)).toMatchObject({ mode: 'deny' });
  });

  it('fails a decision that a hung Redis never answers, after timeoutMs on its clock', async () => {
    const clock = new FakeClock();
    const limiter = slidingWindow({
      limit: 5,
      windowMs: HOUR,
      onStoreError: 'deny',
      store: redisStore({ client, clock, timeoutMs: 250 }),
    });
    expect((await limiter.take()).allowed).toBe(true);
    server.pause();
    const during = track(limiter.take());
    await clock.advance(249);
    expect(during.settled()).toBe('pending');
    await clock.advance(1);
    expect(during.settled()).toBe('resolved');
    expect(during.value()).toMatchObject({
      allowed: false,
      storeFailed: true,
      retryAfterMs: 1_000,
    });
  });

  it('decides in Redis again once it is back, reloading the script it lost', async () => {
    const limiter = tokenBucket({ limit: 3, windowMs: HOUR, store: shared(client) });
    await limiter.take('k');
    await server.stop();
    await server.start();
    if (client.status !== 'ready') await once(client, 'ready');
    const decision = await limiter.take('k');
    expect(decision).toMatchObject({ allowed: true, storeFailed: false, remaining: 2 });
  });
});

describe('redisStore options', () => {
  const client: RedisLike = {
    status: 'ready',
    evalsha: () => Promise.resolve([1, 0, 0, 0]),
    eval: () => Promise.resolve([1, 0, 0, 0]),
  };

  it.each([
    [
      {},
      TypeError,
      'expected client to be a Redis client with evalsha() and eval() (an ioredis instance)',
    ],
    [
      { client: {} },
      TypeError,
      'expected client to be a Redis client with evalsha() and eval() (an ioredis instance)',
    ],
    [
      { client, timeoutMs: 0 },
      RangeError,
      'expected timeoutMs to be an integer between 1 and 60000, got 0',
    ],
    [{ client, prefix: '' }, TypeError, 'expected prefix to be a non-empty string, got ""'],
    [
      { client, timeout: 10 },
      TypeError,
      'unknown option "timeout" for redisStore(); did you mean "timeoutMs"? expected one of client, prefix, timeoutMs, clock',
    ],
  ])('rejects %o', (options, Kind, message) => {
    expect(() => redisStore(options as never)).toThrow(new Kind(message));
  });
});
