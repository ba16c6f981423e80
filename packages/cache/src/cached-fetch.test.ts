import { CancelledError } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FetchLike, cachedFetch } from './cached-fetch.js';
import { httpCache } from './http-cache.js';
import { type TestOrigin, startOrigin } from './test-origin.js';

let clock: FakeClock;
let origin: TestOrigin;

beforeEach(async () => {
  clock = new FakeClock();
  origin = await startOrigin(() => clock.dateNow());
});

afterEach(async () => {
  await origin.close();
});

describe('cachedFetch', () => {
  it('answers a repeated GET from the store, as a Response', async () => {
    origin.route('/users/1', () => ({
      headers: { 'cache-control': 'max-age=60', 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1 }),
    }));
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    const first = await fetchCached(`${origin.base}/users/1`);
    expect(first.cacheStatus).toBe('miss');
    expect(await first.json()).toEqual({ id: 1 });
    await clock.advance(5_000);
    const second = await fetchCached(new URL(`${origin.base}/users/1`));
    expect(second.cacheStatus).toBe('hit');
    expect(second.age).toBe(5);
    expect(second.status).toBe(200);
    expect(second.headers.get('age')).toBe('5');
    expect(second.headers.get('content-type')).toBe('application/json');
    expect(second.headers.get('cache-status')).toBe('bulwark; hit; ttl=55');
    expect(await second.json()).toEqual({ id: 1 });
    expect(origin.count('/users/1')).toBe(1);
  });

  const cookies = ['session=abc; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'theme=dark'];

  it('gives every Set-Cookie, one field each, of a response and of a private cache’s hit', async () => {
    origin.route('/login', () => ({
      headers: { 'cache-control': 'private, max-age=60', 'set-cookie': cookies },
      body: 'welcome',
    }));
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    const first = await fetchCached(`${origin.base}/login`);
    expect(first.cacheStatus).toBe('miss');
    expect(first.headers.getSetCookie()).toEqual(cookies);
    const hit = await fetchCached(`${origin.base}/login`);
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.headers.getSetCookie()).toEqual(cookies);
  });

  it('gives no Set-Cookie from a shared cache’s store', async () => {
    origin.route('/home', () => ({
      headers: { 'cache-control': 'max-age=60, no-cache="set-cookie"', 'set-cookie': cookies },
      body: 'home',
    }));
    const fetchCached = cachedFetch(httpCache({ clock, type: 'shared' }), fetch);
    expect((await fetchCached(`${origin.base}/home`)).headers.getSetCookie()).toEqual(cookies);
    const hit = await fetchCached(`${origin.base}/home`);
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.headers.getSetCookie()).toEqual([]);
  });

  it('works over undici’s fetch', async () => {
    origin.route('/a', () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'a' }));
    const fetchCached = cachedFetch(httpCache({ clock }), undiciFetch as unknown as FetchLike);
    await fetchCached(`${origin.base}/a`);
    const hit = await fetchCached(`${origin.base}/a`);
    expect(hit.cacheStatus).toBe('hit');
    expect(await hit.text()).toBe('a');
  });

  it('reads method and headers from a Request and from init, init winning', async () => {
    origin.route('/a', (req) => ({
      headers: { 'cache-control': 'max-age=60' },
      body: String(req.headers['x-who']),
    }));
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    const response = await fetchCached(
      new Request(`${origin.base}/a`, { headers: { 'x-who': 'request' } }),
      { headers: { 'x-who': 'init' } },
    );
    expect(await response.text()).toBe('init');
  });

  it('sends the body of an unsafe request and invalidates what it changed', async () => {
    let stored = 'old';
    origin.route('/item', (req) => {
      if (req.method === 'PUT') {
        stored = 'new';
        return { status: 204 };
      }
      return { headers: { 'cache-control': 'max-age=600' }, body: stored };
    });
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    expect(await (await fetchCached(`${origin.base}/item`)).text()).toBe('old');
    const put = await fetchCached(`${origin.base}/item`, { method: 'PUT', body: 'new' });
    expect(put.status).toBe(204);
    expect(put.cacheStatus).toBe('bypass');
    expect(await (await fetchCached(`${origin.base}/item`)).text()).toBe('new');
  });

  it('builds a body-less Response for a 204 and for HEAD', async () => {
    origin.route('/empty', () => ({ status: 204, headers: { 'cache-control': 'max-age=60' } }));
    const fetchCached = cachedFetch(httpCache({ clock, methods: ['GET', 'HEAD'] }), fetch);
    await fetchCached(`${origin.base}/empty`);
    const hit = await fetchCached(`${origin.base}/empty`);
    expect(hit.status).toBe(204);
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.body).toBeNull();
    origin.route('/h', () => ({ headers: { 'cache-control': 'max-age=60' } }));
    await fetchCached(`${origin.base}/h`, { method: 'HEAD' });
    expect((await fetchCached(`${origin.base}/h`, { method: 'HEAD' })).cacheStatus).toBe('hit');
  });

  it('answers only-if-cached with a 504 Response when nothing is stored', async () => {
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    const response = await fetchCached(`${origin.base}/none`, {
      headers: { 'cache-control': 'only-if-cached' },
    });
    expect(response.status).toBe(504);
    expect(response.cacheStatus).toBe('only-if-cached-miss');
    expect(origin.count()).toBe(0);
  });

  it('passes the caller’s signal to fetch', async () => {
    origin.route('/hang', () => new Promise(() => {}));
    const fetchCached = cachedFetch(httpCache({ clock }), fetch);
    const controller = new AbortController();
    const pending = fetchCached(`${origin.base}/hang`, { signal: controller.signal });
    const settled = expect(pending).rejects.toBeInstanceOf(CancelledError);
    controller.abort();
    await settled;
  });

  it('rejects a fetchLike that is not a function', () => {
    expect(() => cachedFetch(httpCache(), 'fetch' as unknown as FetchLike)).toThrow(
      new TypeError('expected fetchLike to be a function such as fetch'),
    );
  });
});
