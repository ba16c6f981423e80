import { FakeClock } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRegistry } from '../health-registry.js';
import { type TestRedis, freePort, startRedis } from '@bulwark/testing';
import { redisCheck } from './redis.js';

describe('redisCheck', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('passes when a real Redis answers PONG, reporting the response time', async () => {
    const client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    try {
      const registry = healthRegistry();
      registry.register(redisCheck({ client }));
      const report = await registry.readiness({ detailed: true });
      expect(report.status).toBe('pass');
      expect(report.body.checks['redis:responseTime']?.[0]).toMatchObject({
        status: 'pass',
        componentType: 'datastore',
        observedUnit: 'ms',
      });
    } finally {
      client.disconnect();
    }
  });

  it('fails at once while the client is reconnecting, instead of queueing the PING', async () => {
    const port = await freePort();
    const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 10_000 });
    client.on('error', () => {});
    try {
      await new Promise((resolve) => client.once('reconnecting', resolve));
      expect(client.status).toBe('reconnecting');
      const registry = healthRegistry({ clock: new FakeClock() });
      registry.register(redisCheck({ client }));
      const report = await registry.readiness({ detailed: true });
      expect(report.status).toBe('fail');
      expect(report.body.checks['redis:responseTime']?.[0]?.output).toBe(
        'redis connection is reconnecting',
      );
    } finally {
      client.disconnect();
    }
  });

  it('fails on an unexpected reply and on an error', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(redisCheck({ name: 'odd', client: { ping: () => Promise.resolve('NOPE') } }));
    registry.register(
      redisCheck({
        name: 'broken',
        client: { status: 'ready', ping: () => Promise.reject(new Error('LOADING')) },
      }),
    );
    const report = await registry.readiness({ detailed: true });
    expect(report.body.checks['odd:responseTime']?.[0]?.output).toBe('unexpected reply to PING');
    expect(report.body.checks['broken:responseTime']?.[0]?.output).toBe('LOADING');
  });

  it('fails when PING does not answer within the timeout', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    registry.register(
      redisCheck({ client: { ping: () => new Promise(() => {}) }, timeoutMs: 200, clock }),
    );
    const pending = registry.readiness();
    await clock.advance(200);
    expect((await pending).status).toBe('fail');
  });

  it('validates its options', () => {
    expect(() => redisCheck({ client: {} as never })).toThrow(
      new TypeError('expected client to be a Redis client with a ping() method'),
    );
  });
});

describe('redisCheck options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    const client = { ping: () => Promise.resolve('PONG') };
    expect(() => redisCheck({ client, nam: 'cache' } as never)).toThrow(
      new TypeError(
        'unknown option "nam" for redisCheck(); did you mean "name"? expected one of client, name, kind, critical, timeoutMs, cacheMs, clock',
      ),
    );
  });
});
