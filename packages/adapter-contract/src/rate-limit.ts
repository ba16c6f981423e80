import { redisStore, tokenBucket } from '@bulwark/rate-limit';
import { FakeClock, type TestRedis, startRedis, unreachableRedis } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContractOptions, ContractRoute, FrameworkRequest } from './adapter.js';
import { type Harness, problem } from './harness.js';

const hello: ContractRoute = { method: 'GET', path: '/', handler: () => ({ body: 'hello' }) };
const work: ContractRoute = { method: 'GET', path: '/work', handler: () => ({ body: 'work' }) };

/** Each caller names itself in x-api-key. */
const byApiKey = ({ request }: { readonly request: FrameworkRequest }) =>
  request.headers['x-api-key'] as string | undefined;

function as(caller: string): RequestInit {
  return { headers: { 'x-api-key': caller } };
}

export function rateLimitContract(h: Harness): void {
  describe('inbound rate limit', () => {
    it('lets exactly the limit through, then answers 429 with Retry-After and the RateLimit fields', async () => {
      const clock = new FakeClock();
      const registry = new Registry();
      const app = await h.start(
        {
          clock,
          metrics: { registry },
          rateLimit: {
            limiter: { name: 'per-client', limit: 3, windowMs: 60_000 },
            identity: byApiKey,
          },
        },
        { routes: [hello] },
      );
      const allowed = [];
      for (let i = 0; i < 3; i++) allowed.push(await fetch(app.url, as('alice')));
      expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(allowed.map((r) => r.headers.get('ratelimit-policy'))).toEqual(
        Array.from({ length: 3 }, () => '"per-client";q=3;w=60'),
      );
      // One permit comes back every 20 s: the key is full again 20, 40, then 60 s later.
      expect(allowed.map((r) => r.headers.get('ratelimit'))).toEqual([
        '"per-client";r=2;t=20',
        '"per-client";r=1;t=40',
        '"per-client";r=0;t=60',
      ]);
      const refused = await fetch(app.url, as('alice'));
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('20');
      expect(refused.headers.get('ratelimit-policy')).toBe('"per-client";q=3;w=60');
      expect(refused.headers.get('ratelimit')).toBe('"per-client";r=0;t=20');
      expect(await problem(refused)).toEqual({
        type: 'urn:bulwark:rate-limited',
        title: 'Too many requests',
        status: 429,
        detail: 'This client has sent too many requests. Retry after the time in Retry-After.',
      });
      await clock.advance(20_000);
      expect((await fetch(app.url, as('alice'))).status).toBe(200);
      await app.ended(5);
      const text = await registry.metrics();
      expect(text).toContain('bulwark_http_server_rate_limited_total{reason="limit"} 1');
      // Express labels a request refused before routing with no route, Fastify with its route.
      expect(text).toMatch(
        /request_duration_seconds_count\{method="GET",route="\/?",status_code="429"\} 1/,
      );
    });

    it('keeps each caller’s limit apart, and puts callers without an identity under one limit', async () => {
      const app = await h.start(
        {
          clock: new FakeClock(),
          rateLimit: { limiter: { limit: 2, windowMs: 60_000 }, identity: byApiKey },
        },
        { routes: [hello] },
      );
      const statuses = async (init?: RequestInit) => {
        const codes = [];
        for (let i = 0; i < 3; i++) codes.push((await fetch(app.url, init)).status);
        return codes;
      };
      expect(await statuses(as('alice'))).toEqual([200, 200, 429]);
      expect(await statuses(as('bob'))).toEqual([200, 200, 429]);
      expect(await statuses()).toEqual([200, 200, 429]);
    });

    it('never limits health routes or the metrics page, nor paths left out', async () => {
      const app = await h.start(
        {
          clock: new FakeClock(),
          metrics: { registry: new Registry() },
          rateLimit: {
            limiter: { limit: 1, windowMs: 60_000 },
            identity: 'shared',
            excludePaths: ['/work'],
          },
        },
        { routes: [hello, work] },
      );
      expect((await fetch(app.url)).status).toBe(200);
      expect((await fetch(app.url)).status).toBe(429);
      for (let i = 0; i < 3; i++) {
        for (const path of ['/livez', '/readyz', '/startupz', '/metrics', '/work']) {
          const res = await fetch(app.url + path);
          expect(res.status, path).toBe(200);
          expect(res.headers.get('ratelimit-policy'), path).toBeNull();
        }
      }
    });

    it('leaves the RateLimit fields off allowed responses when told to, never off a refusal', async () => {
      const app = await h.start(
        {
          clock: new FakeClock(),
          rateLimit: { limiter: { limit: 1, windowMs: 1_000 }, identity: 'shared', headers: false },
        },
        { routes: [hello] },
      );
      const allowed = await fetch(app.url);
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('ratelimit-policy')).toBeNull();
      expect(allowed.headers.get('ratelimit')).toBeNull();
      const refused = await fetch(app.url);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=1;w=1');
      expect(refused.headers.get('retry-after')).toBe('1');
    });
  });

  describe('inbound rate limit with the Redis store', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    async function client(): Promise<Redis> {
      const c = new Redis({ host: '127.0.0.1', port: redis.port });
      h.closers.push(() => c.disconnect());
      await new Promise((resolve) => c.once('ready', resolve));
      return c;
    }

    async function fleetMember(prefix: string): Promise<string> {
      const options: ContractOptions = {
        rateLimit: {
          limiter: tokenBucket({
            name: 'fleet',
            limit: 4,
            windowMs: 60_000,
            store: redisStore({ client: await client(), prefix }),
          }),
          identity: byApiKey,
        },
      };
      return (await h.start(options, { routes: [hello] })).url;
    }

    it('gives two app instances sharing Redis one combined limit per caller', async () => {
      const urls = [await fleetMember('combined:'), await fleetMember('combined:')];
      const statuses = [];
      for (const i of [0, 1, 0, 1, 0, 1]) {
        statuses.push((await fetch(urls[i]!, as('alice'))).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      // At the same time, from both instances: the store decides each request once.
      const together = await Promise.all(
        [0, 1, 0, 1, 0, 1, 0, 1].map((i) => fetch(urls[i]!, as('bob')).then((r) => r.status)),
      );
      expect(together.filter((s) => s === 200)).toHaveLength(4);
      expect(together.filter((s) => s === 429)).toHaveLength(4);
    });

    it('follows the limiter’s mode at once when Redis cannot be reached: let through, or refuse with 503', async () => {
      const dead = new Redis(await unreachableRedis());
      h.closers.push(() => dead.disconnect());
      const start = (onStoreError: 'allow' | 'deny') =>
        h.start(
          {
            rateLimit: {
              limiter: tokenBucket({
                limit: 1,
                windowMs: 60_000,
                onStoreError,
                store: redisStore({ client: dead }),
              }),
              identity: 'shared',
            },
          },
          { routes: [hello] },
        );
      const open = await start('allow');
      for (let i = 0; i < 3; i++) {
        const res = await fetch(open.url);
        expect(res.status).toBe(200);
        // The figures are unknown: the policy is told, the remaining quota is not made up.
        expect(res.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60');
        expect(res.headers.get('ratelimit')).toBeNull();
      }
      const closed = await start('deny');
      const refused = await fetch(closed.url);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('ratelimit')).toBeNull();
      expect(await problem(refused)).toMatchObject({ type: 'urn:bulwark:rate-limit-unavailable' });
    });
  });
}
