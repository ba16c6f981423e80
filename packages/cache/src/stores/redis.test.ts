import { once } from 'node:events';
import { FakeClock } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEvent } from '../events.js';
import { httpCache } from '../http-cache.js';
import { type TestOrigin, startOrigin, undiciOrigin } from '../test-origin.js';
import { type TestRedis, startRedis } from '@bulwark/testing';
import { type RedisLike, type RedisStoreErrorArgs, redisStore } from './redis.js';
import type { StoredResponse } from './store.js';

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.stop();
});

beforeEach(async () => {
  client = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 20,
  });
  // Refused reconnections while a test has stopped the server are expected, not failures.
  client.on('error', () => {});
  await client.connect();
  await client.flushall();
});

afterEach(() => {
  client.disconnect();
});

function entry(body: Uint8Array): StoredResponse {
  return {
    kind: 'response',
    status: 200,
    headers: { 'content-type': 'application/octet-stream' },
    body,
    requestTime: 1,
    responseTime: 2,
    initialAgeMs: 0,
    freshnessMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    immutable: false,
    etag: '"v1"',
    lastModified: undefined,
    variant: undefined,
  };
}

describe('redisStore', () => {
  it('round-trips a binary body byte for byte', async () => {
    const store = redisStore({ client });
    const body = new Uint8Array(256).map((_, i) => i);
    await store.set('GET http://h/a', entry(body), 60_000);
    const back = await store.get('GET http://h/a');
    expect(back).toEqual(entry(body));
  });

  it('lets Redis expire each entry by its own time to live', async () => {
    const store = redisStore({ client, prefix: 'test:' });
    await store.set('k', entry(new Uint8Array(1)), 30_000);
    const ttl = await client.pttl('test:k');
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await store.set('short', entry(new Uint8Array(1)), 1);
    await expect.poll(() => client.exists('test:short'), { interval: 5, timeout: 2_000 }).toBe(0);
  });

  it('stores very long keys under their hash', async () => {
    const store = redisStore({ client });
    const key = `GET http://h/${'x'.repeat(2_000)}`;
    await store.set(key, entry(new Uint8Array(1)), 60_000);
    const keys = await client.keys('bulwark:cache:*');
    expect(keys).toHaveLength(1);
    expect(keys[0]!.startsWith('bulwark:cache:sha256:')).toBe(true);
    expect(await store.get(key)).toBeDefined();
  });

  it('stores keys that carry a partition under their hash', async () => {
    const store = redisStore({ client });
    await store.set('GET http://h/me\nalice@example.com', entry(new Uint8Array(1)), 60_000);
    const keys = await client.keys('bulwark:cache:*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('alice');
    expect(await store.get('GET http://h/me\nalice@example.com')).toBeDefined();
  });

  it('deletes', async () => {
    const store = redisStore({ client });
    await store.set('k', entry(new Uint8Array(1)), 60_000);
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
  });

  it('reads a value that is not a cache record as a miss', async () => {
    const store = redisStore({ client });
    await client.set('bulwark:cache:k', 'somebody else wrote this');
    expect(await store.get('k')).toBeUndefined();
  });

  it('rejects bad options with a message naming them', () => {
    expect(() => redisStore({ client: {} as RedisLike })).toThrow(
      new TypeError(
        'expected client to be a Redis client with getBuffer(), set() and del() (an ioredis instance)',
      ),
    );
    expect(() => redisStore({ client, timeoutMs: 0 })).toThrow(
      new RangeError('expected timeoutMs to be an integer between 1 and 60000, got 0'),
    );
    expect(() => redisStore({ client, prefix: '' })).toThrow(
      new TypeError('expected prefix to be a non-empty string, got ""'),
    );
    expect(() => redisStore({ client, ttl: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "ttl" for redisStore(); expected one of client, prefix, timeoutMs, onError, clock',
      ),
    );
    expect(() => redisStore({ client, onError: 1 as never })).toThrow(
      new TypeError('expected onError to be a function, got 1'),
    );
  });

  it('fails a command Redis does not answer within timeoutMs', async () => {
    const clock = new FakeClock();
    const errors: RedisStoreErrorArgs[] = [];
    const store = redisStore({ client, clock, timeoutMs: 100, onError: (e) => errors.push(e) });
    redis.pause();
    try {
      const pending = store.get('k');
      const settled = expect(pending).rejects.toThrow('operation timed out after 100 ms');
      await clock.advance(100);
      await settled;
      expect(errors).toMatchObject([{ operation: 'get', key: 'k' }]);
    } finally {
      redis.resume();
    }
  });

  it('fails fast, without queueing, while the client is not connected', async () => {
    const errors: RedisStoreErrorArgs[] = [];
    const store = redisStore({ client, onError: (e) => errors.push(e) });
    const ended = once(client, 'end');
    client.disconnect();
    await ended;
    await expect(store.get('k')).rejects.toThrow('redis client is not ready (status: end)');
    await expect(store.set('k', entry(new Uint8Array(1)), 1_000)).rejects.toThrow('not ready');
    expect(errors.map((e) => e.operation)).toEqual(['get', 'set']);
  });
});

describe('httpCache over Redis', () => {
  let origin: TestOrigin;
  let clock: FakeClock;

  beforeEach(async () => {
    clock = new FakeClock();
    origin = await startOrigin(() => clock.dateNow());
  });

  afterEach(async () => {
    await origin.close();
  });

  it('serves one instance’s stored response to another instance of the fleet', async () => {
    origin.route('/a', () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'shared' }));
    const one = httpCache({ clock, store: redisStore({ client }) });
    const two = httpCache({ clock, store: redisStore({ client }) });
    const url = `${origin.base}/a`;
    await one.handle({ method: 'GET', url }, undiciOrigin);
    await one.whenIdle();
    const hit = await two.handle({ method: 'GET', url }, undiciOrigin);
    expect(hit.cacheStatus).toBe('hit');
    expect(Buffer.from(hit.body).toString()).toBe('shared');
    expect(origin.count('/a')).toBe(1);
  });

  it('keeps variants apart across the fleet', async () => {
    origin.route('/v', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'accept-language' },
      body: String(req.headers['accept-language']),
    }));
    const one = httpCache({ clock, store: redisStore({ client }) });
    const two = httpCache({ clock, store: redisStore({ client }) });
    const url = `${origin.base}/v`;
    for (const lang of ['en', 'de']) {
      await one.handle({ method: 'GET', url, headers: { 'accept-language': lang } }, undiciOrigin);
      await one.whenIdle();
    }
    const de = await two.handle(
      { method: 'GET', url, headers: { 'accept-language': 'de' } },
      undiciOrigin,
    );
    expect(de.cacheStatus).toBe('hit');
    expect(Buffer.from(de.body).toString()).toBe('de');
  });

  it('revalidates a Redis entry with its ETag', async () => {
    origin.route('/a', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60' } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=60' }, body: 'v1' },
    );
    const cache = httpCache({ clock, store: redisStore({ client }) });
    const url = `${origin.base}/a`;
    await cache.handle({ method: 'GET', url }, undiciOrigin);
    await cache.whenIdle();
    await clock.advance(61_000);
    const revalidated = await cache.handle({ method: 'GET', url }, undiciOrigin);
    expect(revalidated.cacheStatus).toBe('revalidated');
    expect(Buffer.from(revalidated.body).toString()).toBe('v1');
  });

  it('degrades to a miss, never an error, while Redis is down, and recovers', async () => {
    origin.route('/a', () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'origin' }));
    const events: CacheEvent[] = [];
    const errors: RedisStoreErrorArgs[] = [];
    const cache = httpCache({
      clock,
      store: redisStore({ client, onError: (e) => errors.push(e) }),
      listener: (e) => events.push(e),
    });
    const url = `${origin.base}/a`;
    const closed = once(client, 'close');
    await redis.stop();
    await closed;
    try {
      const result = await cache.handle({ method: 'GET', url }, undiciOrigin);
      await cache.whenIdle();
      expect(result.cacheStatus).toBe('miss');
      expect(Buffer.from(result.body).toString()).toBe('origin');
      expect(
        events.filter((e) => e.type === 'cache-store-error').map((e) => e.storeOperation),
      ).toEqual(['get', 'set']);
      expect(errors.map((e) => e.operation)).toEqual(['get', 'set']);
    } finally {
      const ready = new Promise((resolve) => client.once('ready', resolve));
      await redis.start();
      await ready;
    }
    await cache.handle({ method: 'GET', url }, undiciOrigin);
    await cache.whenIdle();
    expect((await cache.handle({ method: 'GET', url }, undiciOrigin)).cacheStatus).toBe('hit');
  });
});
