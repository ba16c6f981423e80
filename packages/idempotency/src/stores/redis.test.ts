import { FakeClock } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idempotency } from '../idempotency.js';
import type { CompleteRecord, InProgressRecord } from '../record.js';
import { type TestRedis, startRedis } from '@bulwark/testing';
import { type RedisLike, redisStore } from './redis.js';

const claim = (token: string): InProgressRecord => ({
  state: 'in_progress',
  token,
  fingerprint: 'fp',
  startedAt: 1_700_000_000_000,
});
const done: CompleteRecord = {
  state: 'complete',
  fingerprint: 'fp',
  status: 201,
  headers: { 'content-type': 'application/json', link: ['<a>', '<b>'] },
  body: Buffer.from([0, 1, 2, 255]),
  completedAt: 1_700_000_000_500,
};

describe('redisStore against a real Redis', () => {
  let server: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });
  afterEach(async () => {
    await client.flushall();
  });

  it('claims with SET NX PX: once, with the lock timeout as expiry', async () => {
    const store = redisStore({ client });
    expect(await store.claim('k', claim('a'), 30_000)).toBeUndefined();
    expect(await store.claim('k', claim('b'), 30_000)).toEqual(claim('a'));
    const ttl = await client.pttl('bulwark:idempotency:k');
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('completes only the claim that holds the key, and keeps the record for the TTL', async () => {
    const store = redisStore({ client, prefix: 'test:' });
    await store.claim('k', claim('a'), 30_000);
    expect(await store.complete('k', claim('b'), done, 86_400_000)).toBe(false);
    expect(await store.complete('k', claim('a'), done, 86_400_000)).toBe(true);
    expect(await store.claim('k', claim('c'), 30_000)).toEqual(done);
    const ttl = await client.pttl('test:k');
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });

  it('releases only the claim that holds the key', async () => {
    const store = redisStore({ client });
    await store.claim('k', claim('a'), 30_000);
    expect(await store.release('k', claim('b'))).toBe(false);
    expect(await store.release('k', claim('a'))).toBe(true);
    expect(await client.exists('bulwark:idempotency:k')).toBe(0);
  });

  it('round-trips binary bodies and header lists', async () => {
    const store = redisStore({ client });
    await store.claim('k', claim('a'), 30_000);
    await store.complete('k', claim('a'), done, 60_000);
    const record = (await store.claim('k', claim('z'), 30_000)) as CompleteRecord;
    expect([...record.body]).toEqual([0, 1, 2, 255]);
    expect(record.headers).toEqual(done.headers);
  });

  it('never writes the raw key or identity to Redis', async () => {
    const idem = idempotency({ store: redisStore({ client }) });
    const decision = await idem.begin({
      method: 'POST',
      path: '/orders',
      key: '"secret-key-123"',
      identity: 'user-42',
      body: '{}',
    });
    expect(decision.kind).toBe('proceed');
    const keys = await client.keys('*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^bulwark:idempotency:[A-Za-z0-9_-]{43}$/);
    const value = await client.get(keys[0]!);
    expect(value).not.toContain('secret-key');
    expect(value).not.toContain('user-42');
  });

  it('refuses a record it does not recognise, which the core answers with 503', async () => {
    const store = redisStore({ client });
    await client.set('bulwark:idempotency:k', 'not json at all');
    await expect(store.claim('k', claim('a'), 30_000)).rejects.toThrow();
    await client.set('bulwark:idempotency:k', JSON.stringify({ v: 99, state: 'complete' }));
    await expect(store.claim('k', claim('a'), 30_000)).rejects.toThrow(
      'unrecognised idempotency record',
    );
  });
});

describe('redisStore failures', () => {
  const hanging: RedisLike = {
    status: 'ready',
    set: () => new Promise(() => {}),
    get: () => new Promise(() => {}),
    eval: () => new Promise(() => {}),
  };

  it('fails a command that has not answered within timeoutMs', async () => {
    const clock = new FakeClock();
    const store = redisStore({ client: hanging, timeoutMs: 250, clock });
    const pending = store.claim('k', claim('a'), 1_000);
    const failure = expect(pending).rejects.toMatchObject({ code: 'BULWARK_TIMEOUT' });
    await clock.advance(250);
    await failure;
    expect(clock.pendingTimers).toBe(0);
  });

  it('answers 503 through the core when Redis hangs', async () => {
    const clock = new FakeClock();
    const idem = idempotency({
      store: redisStore({ client: hanging, timeoutMs: 250, clock }),
      clock,
    });
    const pending = idem.begin({ method: 'POST', path: '/', key: 'k', body: '' });
    await clock.advance(250);
    expect(await pending).toMatchObject({ kind: 'reject', status: 503 });
  });

  it('fails at once while the client is not ready, without queueing the command', async () => {
    let sent = 0;
    const store = redisStore({
      client: {
        status: 'reconnecting',
        set: () => {
          sent++;
          return Promise.resolve('OK');
        },
        get: () => Promise.resolve(null),
        eval: () => Promise.resolve(1),
      },
    });
    await expect(store.claim('k', claim('a'), 1_000)).rejects.toThrow(
      'redis connection is reconnecting',
    );
    expect(sent).toBe(0);
  });

  it('validates its options', () => {
    expect(() => redisStore({ client: {} as never })).toThrow(
      new TypeError('expected client to be a Redis client with set(), get() and eval()'),
    );
    expect(() => redisStore({ client: hanging, prefix: '' })).toThrow(
      new TypeError('expected prefix to be a non-empty string, got ""'),
    );
    expect(() => redisStore({ client: hanging, timeoutMs: 0 })).toThrow(
      new RangeError('expected timeoutMs to be an integer >= 1, got 0'),
    );
  });

  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() => redisStore({ client: hanging, prefx: 'app:' } as never)).toThrow(
      new TypeError(
        'unknown option "prefx" for redisStore(); did you mean "prefix"? expected one of client, prefix, timeoutMs, clock',
      ),
    );
  });
});
