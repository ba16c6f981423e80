import { httpCache, type OriginResponse } from '@bulwark/cache';
import { FakeClock } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { prometheusListener } from './prometheus-listener.js';

async function samples(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

const reply = (
  status: number,
  headers: Record<string, string> = {},
  body = 'x',
): OriginResponse => ({
  status,
  headers,
  body,
});

describe('prometheusListener: the HTTP cache’s events, from a real cache, scraped from a real registry', () => {
  it('counts lookups by result, stale responses by reason, revalidations, stores and store errors', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock({ date: Date.UTC(2030, 0, 1) });
    // The same listener the policies take: cache events are PolicyEvents.
    const cache = httpCache({ name: 'users', listener: metrics, clock });
    const get = (path: string, origin: () => OriginResponse | Promise<OriginResponse>) =>
      cache.handle({ method: 'GET', url: `http://api.test${path}` }, origin, {
        operation: 'get-user',
      });
    const fail = (): never => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };

    // Stored, then a fresh hit, then (stale) revalidated by a 304.
    await get('/a', () => reply(200, { 'cache-control': 'max-age=60', etag: '"v1"' }));
    expect((await get('/a', fail)).cacheStatus).toBe('hit');
    await clock.advance(61_000);
    const revalidated = await get('/a', () => reply(304, { etag: '"v1"' }));
    expect(revalidated.cacheStatus).toBe('revalidated');
    // Not stored.
    await get('/b', () => reply(200, { 'cache-control': 'no-store' }));
    // Stale-if-error: the origin is down, the stale entry stands in.
    await get('/c', () => reply(200, { 'cache-control': 'max-age=1, stale-if-error=600' }));
    await clock.advance(2_000);
    expect((await get('/c', fail)).cacheStatus).toBe('stale-if-error');
    // Stale-while-revalidate: served stale, refreshed in the background.
    await get('/d', () => reply(200, { 'cache-control': 'max-age=1, stale-while-revalidate=60' }));
    await clock.advance(2_000);
    const swr = await get('/d', () => reply(200, { 'cache-control': 'max-age=60' }));
    expect(swr.cacheStatus).toBe('stale-while-revalidate');
    await cache.whenIdle();
    // Two concurrent misses: one origin request.
    let release!: (value: OriginResponse) => void;
    const slow = new Promise<OriginResponse>((resolve) => (release = resolve));
    const both = Promise.all([get('/e', () => slow), get('/e', fail)]);
    release(reply(200, { 'cache-control': 'max-age=60' }));
    expect((await both).map((r) => r.status)).toEqual([200, 200]);
    // An unsafe request invalidates.
    await cache.handle({ method: 'POST', url: 'http://api.test/a' }, () => reply(204), {
      operation: 'update-user',
    });
    // A store that fails: a miss, and a lost write, never an error.
    const flaky = httpCache({
      name: 'flaky',
      listener: metrics,
      clock,
      store: {
        get: () => Promise.reject(new Error('redis down')),
        set: () => Promise.reject(new Error('redis down')),
        delete: () => undefined,
      },
    });
    await flaky.handle(
      { method: 'GET', url: 'http://api.test/x' },
      () => reply(200, { 'cache-control': 'max-age=60' }),
      { operation: 'get-item' },
    );
    await flaky.whenIdle();

    expect(await samples(registry, 'bulwark_cache_')).toEqual([
      'bulwark_cache_lookups_total{policy="users",operation="get-user",result="miss"} 8',
      'bulwark_cache_lookups_total{policy="users",operation="get-user",result="hit"} 1',
      'bulwark_cache_lookups_total{policy="users",operation="get-user",result="stale"} 1',
      'bulwark_cache_lookups_total{policy="flaky",operation="get-item",result="miss"} 1',
      'bulwark_cache_stale_served_total{policy="users",operation="get-user",reason="stale-if-error"} 1',
      'bulwark_cache_stale_served_total{policy="users",operation="get-user",reason="stale-while-revalidate"} 1',
      'bulwark_cache_revalidations_total{policy="users",operation="get-user",outcome="not-modified"} 1',
      'bulwark_cache_revalidations_total{policy="users",operation="get-user",outcome="modified"} 1',
      'bulwark_cache_coalesced_total{policy="users",operation="get-user"} 1',
      'bulwark_cache_stored_total{policy="users",operation="get-user"} 6',
      'bulwark_cache_stored_total{policy="flaky",operation="get-item"} 1',
      'bulwark_cache_not_stored_total{policy="users",operation="get-user",reason="no-store"} 1',
      'bulwark_cache_invalidations_total{policy="users",operation="update-user"} 1',
      'bulwark_cache_store_errors_total{policy="flaky",operation="get-item",store_operation="get"} 1',
      'bulwark_cache_store_errors_total{policy="flaky",operation="get-item",store_operation="set"} 1',
    ]);
  });

  it('labels a cache without a name "cache", and never takes the URL as a label', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const cache = httpCache({ listener: metrics, clock: new FakeClock() });
    for (let i = 0; i < 3; i++) {
      await cache.handle({ method: 'GET', url: `http://api.test/users/${i}?token=secret` }, () =>
        reply(200, { 'cache-control': 'max-age=60' }),
      );
    }
    const text = await registry.metrics();
    expect(text).not.toContain('api.test');
    expect(await samples(registry, 'bulwark_cache_lookups_total')).toEqual([
      'bulwark_cache_lookups_total{policy="cache",operation="",result="miss"} 3',
    ]);
  });
});
