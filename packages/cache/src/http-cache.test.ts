import { BrokenCircuitError, CancelledError, TimeoutError } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEvent } from './events.js';
import { type HeaderInput, splitSetCookie } from './headers.js';
import { type HttpCache, httpCache } from './http-cache.js';
import { formatHttpDate } from './http-date.js';
import type { HttpCacheOptions } from './options.js';
import type { HandleOptions, Origin } from './origin.js';
import type { CacheResult } from './result.js';
import { memoryStore } from './stores/memory.js';
import type { CacheStore } from './stores/store.js';
import { type TestOrigin, startOrigin, undiciOrigin } from './test-origin.js';

let clock: FakeClock;
let origin: TestOrigin;

beforeEach(async () => {
  clock = new FakeClock();
  origin = await startOrigin(() => clock.dateNow());
});

afterEach(async () => {
  await origin.close();
});

function cacheWith(options: HttpCacheOptions = {}): HttpCache {
  return httpCache({ clock, ...options });
}

function get(
  cache: HttpCache,
  path: string,
  headers?: HeaderInput,
  options?: HandleOptions,
): Promise<CacheResult> {
  return cache.handle(
    { method: 'GET', url: `${origin.base}${path}`, headers },
    undiciOrigin,
    options,
  );
}

function text(result: CacheResult): string {
  return Buffer.from(result.body).toString();
}

/** A route that counts its calls and answers with the given headers and a numbered body. */
function serve(
  path: string,
  headers: Record<string, string> | ((n: number) => Record<string, string>),
) {
  let n = 0;
  origin.route(path, () => {
    n++;
    return { headers: typeof headers === 'function' ? headers(n) : headers, body: `body ${n}` };
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('freshness', () => {
  it('serves a fresh max-age response from the store without contacting the origin', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    const first = await get(cache, '/a');
    await clock.advance(30_000);
    const second = await get(cache, '/a');
    expect(first.cacheStatus).toBe('miss');
    expect(second.cacheStatus).toBe('hit');
    expect(text(second)).toBe('body 1');
    expect(second.age).toBe(30);
    expect(second.headers.age).toBe('30');
    expect(second.headers['cache-status']).toBe('bulwark; hit; ttl=30');
    expect(origin.count('/a')).toBe(1);
  });

  it('asks the origin again once max-age has passed', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(60_000);
    const again = await get(cache, '/a');
    expect(again.cacheStatus).toBe('miss');
    expect(text(again)).toBe('body 2');
    expect(origin.count('/a')).toBe(2);
  });

  it('keeps a response fresh until its Expires', async () => {
    serve('/a', () => ({ expires: formatHttpDate(clock.dateNow() + 10_000) }));
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(9_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
    await clock.advance(1_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('takes an invalid Expires as already expired', async () => {
    serve('/a', { expires: '0' });
    const cache = cacheWith({ staleIfErrorMs: 60_000 });
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
    expect(origin.count('/a')).toBe(2);
  });

  it('honours s-maxage in a shared cache and ignores it in a private one', async () => {
    serve('/a', { 'cache-control': 'max-age=10, s-maxage=100' });
    const shared = cacheWith({ type: 'shared' });
    const privateCache = cacheWith({ type: 'private' });
    await get(shared, '/a');
    await get(privateCache, '/a');
    await clock.advance(50_000);
    expect((await get(shared, '/a')).cacheStatus).toBe('hit');
    expect((await get(privateCache, '/a')).cacheStatus).toBe('miss');
  });

  it('gives a response with only Last-Modified 10% of its age as heuristic freshness', async () => {
    serve('/a', () => ({ 'last-modified': formatHttpDate(clock.dateNow() - 1_000_000) }));
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(99_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
    await clock.advance(1_000);
    expect((await get(cache, '/a')).cacheStatus).not.toBe('hit');
  });

  it('gives no heuristic freshness to a status that is not heuristically cacheable', async () => {
    origin.route('/r', () => ({
      status: 302,
      headers: { location: '/x', 'last-modified': formatHttpDate(clock.dateNow() - 1_000_000) },
    }));
    const cache = cacheWith();
    await get(cache, '/r');
    expect((await get(cache, '/r')).cacheStatus).toBe('miss');
    expect(origin.count('/r')).toBe(2);
  });

  it('counts the Age the origin sent against the lifetime', async () => {
    serve('/a', { 'cache-control': 'max-age=60', age: '50' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(9_000);
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.age).toBe(59);
    await clock.advance(1_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('ignores a negative Age', async () => {
    serve('/a', { 'cache-control': 'max-age=60', age: '-100' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(59_000);
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.age).toBe(59);
  });

  it('treats a response with max-age=abc as stale, even with a later Expires', async () => {
    serve('/a', () => ({
      'cache-control': 'max-age=abc',
      expires: formatHttpDate(clock.dateNow() + 3_600_000),
      etag: '"v1"',
    }));
    const cache = cacheWith();
    await get(cache, '/a');
    await get(cache, '/a');
    expect(origin.count('/a')).toBe(2);
    expect(origin.seen[1]!.headers['if-none-match']).toBe('"v1"');
  });

  it('uses the smallest of duplicate max-age directives', async () => {
    serve('/a', { 'cache-control': 'max-age=600, max-age=10' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(11_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('clamps a huge max-age instead of overflowing, and still serves it fresh years later', async () => {
    serve('/a', { 'cache-control': `max-age=${'9'.repeat(40)}` });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(10 * 365 * 86_400_000);
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.age).toBe(315_360_000);
    expect(hit.headers['cache-status']).toBe(`bulwark; hit; ttl=${2_147_483_648 - 315_360_000}`);
  });

  it('serves an invalid Date as if received now', async () => {
    serve('/a', { 'cache-control': 'max-age=60', date: 'not a date' });
    const cache = cacheWith();
    await get(cache, '/a');
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.age).toBe(0);
  });
});

describe('what is never stored', () => {
  it('does not store a no-store response', async () => {
    serve('/a', { 'cache-control': 'no-store, max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
    expect(origin.count('/a')).toBe(2);
  });

  it('does not store the response to a no-store request, but may serve one stored before', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a', { 'cache-control': 'no-store' });
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
    expect((await get(cache, '/a', { 'cache-control': 'no-store' })).cacheStatus).toBe('hit');
  });

  it('does not store partial content', async () => {
    origin.route('/p', () => ({
      status: 206,
      headers: { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-3/10' },
      body: 'part',
    }));
    const cache = cacheWith();
    await get(cache, '/p');
    expect((await get(cache, '/p')).cacheStatus).toBe('miss');
  });

  it('does not store a body over maxEntryBytes', async () => {
    origin.route('/big', () => ({
      headers: { 'cache-control': 'max-age=60' },
      body: 'x'.repeat(2_048),
    }));
    const cache = cacheWith({ maxEntryBytes: 1_024 });
    expect(text(await get(cache, '/big'))).toHaveLength(2_048);
    expect((await get(cache, '/big')).cacheStatus).toBe('miss');
  });

  it('does not store a header section over maxHeaderBytes', async () => {
    serve('/a', { 'cache-control': 'max-age=60', 'x-big': 'y'.repeat(2_000) });
    const cache = cacheWith({ maxHeaderBytes: 1_024 });
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('does not store the response to an authenticated request unless it is public', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    serve('/p', { 'cache-control': 'public, max-age=60' });
    const cache = cacheWith();
    const auth = { authorization: 'Bearer alice' };
    await get(cache, '/a', auth);
    expect((await get(cache, '/a', auth)).cacheStatus).toBe('miss');
    await get(cache, '/p', auth);
    expect((await get(cache, '/p', auth)).cacheStatus).toBe('hit');
  });

  it('sees an Authorization header spelled in any case', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a', { AUTHORIZATION: 'Bearer alice' });
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('stores a must-revalidate response to an authenticated request', async () => {
    serve('/a', { 'cache-control': 'max-age=60, must-revalidate' });
    const cache = cacheWith({ type: 'shared' });
    await get(cache, '/a', { authorization: 'Bearer a' });
    expect((await get(cache, '/a', { authorization: 'Bearer a' })).cacheStatus).toBe('hit');
  });

  it('keeps a private response out of a shared cache but in a private one', async () => {
    serve('/a', { 'cache-control': 'private, max-age=60' });
    const shared = cacheWith({ type: 'shared' });
    const privateCache = cacheWith();
    await get(shared, '/a');
    await get(privateCache, '/a');
    expect((await get(shared, '/a')).cacheStatus).toBe('miss');
    expect((await get(privateCache, '/a')).cacheStatus).toBe('hit');
  });

  it('keeps Set-Cookie in a private cache (RFC 9111 §3.1), every cookie of it, and replays it', async () => {
    const cookies = ['sid=alice; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly', 'theme=dark'];
    origin.route('/a', () => ({
      headers: { 'cache-control': 'max-age=60', 'set-cookie': cookies },
      body: 'a',
    }));
    const cache = cacheWith();
    expect(splitSetCookie((await get(cache, '/a')).headers['set-cookie']!)).toEqual(cookies);
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(splitSetCookie(hit.headers['set-cookie']!)).toEqual(cookies);
  });

  it('keeps a response that sets a cookie out of a shared cache altogether', async () => {
    serve('/a', { 'cache-control': 'max-age=60', 'set-cookie': 'sid=alice' });
    const shared = cacheWith({ type: 'shared' });
    expect((await get(shared, '/a')).headers['set-cookie']).toBe('sid=alice');
    const second = await get(shared, '/a');
    expect(second.cacheStatus).toBe('miss');
    expect(second.headers['set-cookie']).toBe('sid=alice');
    expect(origin.count('/a')).toBe(2);
  });

  it('never hands a Set-Cookie to another caller of a shared cache, from the store or a joined request', async () => {
    const gate = deferred();
    let n = 0;
    origin.route('/a', async () => {
      const cookie = `sid=user${++n}`;
      await gate.promise;
      return {
        headers: { 'cache-control': 'max-age=60, no-cache="set-cookie"', 'set-cookie': cookie },
        body: 'a',
      };
    });
    const shared = cacheWith({ type: 'shared' });
    const first = get(shared, '/a');
    const joined = get(shared, '/a');
    gate.resolve();
    expect((await first).headers['set-cookie']).toBe('sid=user1');
    expect((await joined).headers['cache-status']).toContain('collapsed');
    expect((await joined).headers['set-cookie']).toBeUndefined();
    const hit = await get(shared, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.headers['set-cookie']).toBeUndefined();
    expect(origin.count('/a')).toBe(1);
  });

  it('refreshes a private entry with the Set-Cookie of a 304, and never a shared one', async () => {
    origin.route('/a', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'set-cookie': 'sid=bob' } }
        : {
            headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'x-id': '1' },
            body: 'a',
          },
    );
    const shared = cacheWith({ type: 'shared' });
    await get(shared, '/a');
    await clock.advance(61_000);
    expect((await get(shared, '/a')).cacheStatus).toBe('revalidated');
    const hit = await get(shared, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.headers['set-cookie']).toBeUndefined();
    const privateCache = cacheWith();
    await get(privateCache, '/a');
    await clock.advance(61_000);
    expect((await get(privateCache, '/a')).headers['set-cookie']).toBe('sid=bob');
    expect((await get(privateCache, '/a')).headers['set-cookie']).toBe('sid=bob');
  });

  it('never mixes two callers’ entries when partitioned', async () => {
    origin.route('/me', (req) => ({
      headers: { 'cache-control': 'private, max-age=60' },
      body: `profile of ${String(req.headers['x-user'])}`,
    }));
    const cache = cacheWith({
      partition: (request) => (request.headers as Record<string, string>)['x-user'],
    });
    expect(text(await get(cache, '/me', { 'x-user': 'alice' }))).toBe('profile of alice');
    const bob = await get(cache, '/me', { 'x-user': 'bob' });
    expect(bob.cacheStatus).toBe('miss');
    expect(text(bob)).toBe('profile of bob');
    expect(text(await get(cache, '/me', { 'x-user': 'alice' }))).toBe('profile of alice');
    expect(origin.count('/me')).toBe(2);
  });

  it('passes conditional and range requests through without storing', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    const conditional = await get(cache, '/a', { 'if-none-match': '"x"' });
    expect(conditional.cacheStatus).toBe('bypass');
    expect(conditional.headers['cache-status']).toBe('bulwark; fwd=bypass; fwd-status=200');
    expect((await get(cache, '/a', { range: 'bytes=0-1' })).cacheStatus).toBe('bypass');
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('does not cache HEAD unless asked to', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    const head = () => cache.handle({ method: 'HEAD', url: `${origin.base}/a` }, undiciOrigin);
    expect((await head()).cacheStatus).toBe('bypass');
    expect((await head()).cacheStatus).toBe('bypass');
    const headCache = cacheWith({ methods: ['GET', 'HEAD'] });
    await headCache.handle({ method: 'head', url: `${origin.base}/a` }, undiciOrigin);
    expect(
      (await headCache.handle({ method: 'HEAD', url: `${origin.base}/a` }, undiciOrigin))
        .cacheStatus,
    ).toBe('hit');
  });

  it('passes through a URL too long to key', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    const result = await get(cache, `/a?${'q'.repeat(9_000)}`);
    expect(result.cacheStatus).toBe('bypass');
  });

  it.each([
    ['max-age', () => ({ 'cache-control': 'max-age=60' }), 'private'],
    ['Expires', () => ({ expires: formatHttpDate(clock.dateNow() + 60_000) }), 'private'],
    ['s-maxage', () => ({ 'cache-control': 's-maxage=60' }), 'shared'],
  ] as const)(
    'stores a 5xx that states its freshness with %s, as RFC 9111 §3 allows',
    async (_what, headers, type) => {
      origin.route('/e', () => ({ status: 503, headers: headers(), body: 'down for maintenance' }));
      const cache = cacheWith({ type });
      const first = await get(cache, '/e');
      expect(first.headers['cache-status']).toBe('bulwark; fwd=uri-miss; fwd-status=503; stored');
      await clock.advance(30_000);
      const hit = await get(cache, '/e');
      expect([hit.cacheStatus, hit.status, text(hit)]).toEqual([
        'hit',
        503,
        'down for maintenance',
      ]);
      expect(origin.count('/e')).toBe(1);
    },
  );

  it('stores no 5xx without explicit freshness: no default TTL, no heuristic, not public alone', async () => {
    origin.route('/e', () => ({
      status: 501,
      headers: { 'cache-control': 'public', 'last-modified': formatHttpDate(-86_400_000) },
    }));
    const cache = cacheWith({ defaultTtlMs: 60_000 });
    await get(cache, '/e');
    await get(cache, '/e');
    expect(origin.count('/e')).toBe(2);
  });

  it('never stores a failure response with storeFailureResponses: false', async () => {
    origin.route('/e', () => ({ status: 503, headers: { 'cache-control': 'max-age=60' } }));
    const cache = cacheWith({ storeFailureResponses: false });
    expect((await get(cache, '/e')).status).toBe(503);
    await get(cache, '/e');
    expect(origin.count('/e')).toBe(2);
  });
});

describe('request directives', () => {
  it('revalidates when the request max-age is exceeded', async () => {
    serve('/a', { 'cache-control': 'max-age=600', etag: '"v1"' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(20_000);
    expect((await get(cache, '/a', { 'cache-control': 'max-age=30' })).cacheStatus).toBe('hit');
    const forced = await get(cache, '/a', { 'cache-control': 'max-age=10' });
    expect(forced.cacheStatus).toBe('miss');
    expect(forced.headers['cache-status']).toContain('fwd=request');
    expect(origin.seen[1]!.headers['if-none-match']).toBe('"v1"');
  });

  it('revalidates when less than min-fresh is left', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(50_000);
    expect((await get(cache, '/a', { 'cache-control': 'min-fresh=5' })).cacheStatus).toBe('hit');
    expect((await get(cache, '/a', { 'cache-control': 'min-fresh=20' })).cacheStatus).toBe('miss');
  });

  it('serves a stale response the request accepts with max-stale', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(90_000);
    const stale = await get(cache, '/a', { 'cache-control': 'max-stale=60' });
    expect(stale.cacheStatus).toBe('stale');
    expect(stale.headers['cache-status']).toBe('bulwark; hit; ttl=-30; detail=stale');
    expect((await get(cache, '/a', { 'cache-control': 'max-stale=10' })).cacheStatus).toBe('miss');
  });

  it('never serves a must-revalidate response stale, even with max-stale', async () => {
    serve('/a', { 'cache-control': 'max-age=60, must-revalidate' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(90_000);
    expect((await get(cache, '/a', { 'cache-control': 'max-stale' })).cacheStatus).toBe('miss');
  });

  it('revalidates on request no-cache, and on Pragma: no-cache without Cache-Control', async () => {
    serve('/a', { 'cache-control': 'max-age=60', etag: '"v1"' });
    origin.route('/a', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60' } }
        : { headers: { 'cache-control': 'max-age=60', etag: '"v1"' }, body: 'v1' },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    expect((await get(cache, '/a', { 'cache-control': 'no-cache' })).cacheStatus).toBe(
      'revalidated',
    );
    expect((await get(cache, '/a', { pragma: 'no-cache' })).cacheStatus).toBe('revalidated');
    expect(
      (await get(cache, '/a', { pragma: 'no-cache', 'cache-control': 'max-age=600' })).cacheStatus,
    ).toBe('hit');
    expect(origin.count('/a')).toBe(3);
  });

  it('serves a fresh immutable response to a reload-style max-age=0', async () => {
    serve('/asset', { 'cache-control': 'max-age=3600, immutable' });
    const cache = cacheWith();
    await get(cache, '/asset');
    await clock.advance(10_000);
    expect((await get(cache, '/asset', { 'cache-control': 'max-age=0' })).cacheStatus).toBe('hit');
  });

  it('answers only-if-cached with a 504 when nothing usable is stored', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    const none = await get(cache, '/a', { 'cache-control': 'only-if-cached' });
    expect(none.status).toBe(504);
    expect(none.cacheStatus).toBe('only-if-cached-miss');
    expect(none.headers['cache-status']).toBe('bulwark; detail=only-if-cached');
    expect(origin.count('/a')).toBe(0);
    await get(cache, '/a');
    expect((await get(cache, '/a', { 'cache-control': 'only-if-cached' })).cacheStatus).toBe('hit');
    await clock.advance(61_000);
    expect((await get(cache, '/a', { 'cache-control': 'only-if-cached' })).status).toBe(504);
    expect(
      (await get(cache, '/a', { 'cache-control': 'only-if-cached, max-stale' })).cacheStatus,
    ).toBe('stale');
    expect(origin.count('/a')).toBe(1);
  });
});

describe('default TTL', () => {
  it('caches nothing without explicit freshness unless the caller opts in', async () => {
    serve('/a', {});
    const cache = cacheWith();
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('applies the cache’s default TTL to responses that state no freshness', async () => {
    serve('/a', {});
    serve('/b', { 'cache-control': 'max-age=1' });
    const cache = cacheWith({ defaultTtlMs: 30_000 });
    await get(cache, '/a');
    await get(cache, '/b');
    await clock.advance(20_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
    expect((await get(cache, '/b')).cacheStatus).toBe('miss');
  });

  it('applies a per-call default TTL', async () => {
    serve('/a', {});
    const cache = cacheWith();
    await get(cache, '/a', undefined, { defaultTtlMs: 5_000 });
    await clock.advance(4_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
  });

  it('rejects a bad per-call default TTL', async () => {
    const cache = cacheWith();
    await expect(get(cache, '/a', undefined, { defaultTtlMs: -1 })).rejects.toThrow(
      new RangeError('expected defaultTtlMs to be an integer between 1 and 2147483648000, got -1'),
    );
  });

  it('never applies the default TTL to no-cache or no-store responses', async () => {
    serve('/nc', { 'cache-control': 'no-cache' });
    serve('/ns', { 'cache-control': 'no-store' });
    const cache = cacheWith({ defaultTtlMs: 30_000 });
    await get(cache, '/nc');
    await get(cache, '/ns');
    expect((await get(cache, '/nc')).cacheStatus).toBe('miss');
    expect((await get(cache, '/ns')).cacheStatus).toBe('miss');
  });
});

describe('revalidation', () => {
  function conditionalRoute(path: string, etag: string, extra: Record<string, string> = {}) {
    let full = 0;
    origin.route(path, (req) => {
      if (req.headers['if-none-match'] === etag) {
        return { status: 304, headers: { etag, 'cache-control': 'max-age=60', ...extra } };
      }
      full++;
      return { headers: { etag, 'cache-control': 'max-age=60' }, body: `full ${full}` };
    });
  }

  it('revalidates a stale entry with If-None-Match and serves the stored body on 304', async () => {
    conditionalRoute('/a', '"v1"', { 'x-refreshed': 'yes' });
    const events: CacheEvent[] = [];
    const cache = cacheWith({ listener: (e) => events.push(e) });
    await get(cache, '/a');
    await clock.advance(61_000);
    const revalidated = await get(cache, '/a');
    expect(revalidated.cacheStatus).toBe('revalidated');
    expect(revalidated.status).toBe(200);
    expect(text(revalidated)).toBe('full 1');
    expect(revalidated.headers['x-refreshed']).toBe('yes');
    expect(revalidated.headers['cache-status']).toBe(
      'bulwark; fwd=stale; fwd-status=304; ttl=60; stored',
    );
    expect(origin.seen[1]!.headers['if-none-match']).toBe('"v1"');
    expect(events.some((e) => e.type === 'cache-revalidated' && e.outcome === 'not-modified')).toBe(
      true,
    );
  });

  it('refreshes the stored freshness from the 304', async () => {
    conditionalRoute('/a', '"v1"');
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    await get(cache, '/a');
    await clock.advance(30_000);
    const hit = await get(cache, '/a');
    expect(hit.cacheStatus).toBe('hit');
    expect(hit.age).toBe(30);
    expect(origin.count('/a')).toBe(2);
  });

  it('revalidates with If-Modified-Since when the entry has Last-Modified', async () => {
    const lastModified = formatHttpDate(Date.UTC(2025, 0, 1));
    origin.route('/a', (req) =>
      req.headers['if-modified-since'] === lastModified
        ? { status: 304, headers: { 'cache-control': 'max-age=60' } }
        : { headers: { 'cache-control': 'max-age=60', 'last-modified': lastModified }, body: 'x' },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('revalidated');
  });

  it.each([
    ['an ETag', { etag: '"v1"' }],
    ['an ETag and a Last-Modified', { etag: '"v1"', 'last-modified': formatHttpDate(0) }],
  ])(
    'takes a 304 without validators to its own conditional request as selecting the entry (stored with %s)',
    async (_what, validators) => {
      origin.route('/a', (req) =>
        req.headers['if-none-match'] === '"v1"'
          ? { status: 304, headers: { 'cache-control': 'max-age=120' } }
          : { headers: { 'cache-control': 'max-age=60', ...validators }, body: 'stored' },
      );
      const cache = cacheWith();
      await get(cache, '/a');
      await clock.advance(61_000);
      const revalidated = await get(cache, '/a');
      expect(revalidated.cacheStatus).toBe('revalidated');
      expect(text(revalidated)).toBe('stored');
      expect(origin.count('/a')).toBe(2);
      await clock.advance(100_000);
      expect((await get(cache, '/a')).cacheStatus).toBe('hit');
    },
  );

  it('refetches without conditions when a 304 names another strong ETag', async () => {
    origin.route('/a', (req) =>
      req.headers['if-none-match'] !== undefined
        ? { status: 304, headers: { etag: '"other"' } }
        : {
            headers: { 'cache-control': 'max-age=60', etag: '"v1"' },
            body: `n${origin.count('/a')}`,
          },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('miss');
    expect(text(result)).toBe('n3');
    expect(origin.seen[2]!.headers['if-none-match']).toBeUndefined();
  });

  it('matches a weak ETag in a 304 weakly', async () => {
    conditionalRoute('/a', 'W/"v1"');
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('revalidated');
  });

  it('replaces the entry when revalidation brings a full 200', async () => {
    let version = 1;
    origin.route('/a', () => ({
      headers: { 'cache-control': 'max-age=60', etag: `"v${version}"` },
      body: `v${version}`,
    }));
    const cache = cacheWith();
    await get(cache, '/a');
    version = 2;
    await clock.advance(61_000);
    const replaced = await get(cache, '/a');
    expect(replaced.cacheStatus).toBe('miss');
    expect(text(replaced)).toBe('v2');
    expect(text(await get(cache, '/a'))).toBe('v2');
  });

  it('does not use an unquoted ETag as a validator', async () => {
    serve('/a', { 'cache-control': 'max-age=60', etag: 'v1' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    await get(cache, '/a');
    expect(origin.seen[1]!.headers['if-none-match']).toBeUndefined();
  });

  it('revalidates a no-cache response before every use', async () => {
    origin.route('/a', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'no-cache' } }
        : { headers: { 'cache-control': 'no-cache', etag: '"v1"' }, body: 'v1' },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('revalidated');
    expect((await get(cache, '/a')).cacheStatus).toBe('revalidated');
    expect(origin.count('/a')).toBe(3);
  });

  it('serves a 304 that forbids storing once, then drops the entry', async () => {
    origin.route('/a', (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'no-store' } }
        : { headers: { 'cache-control': 'max-age=60', etag: '"v1"' }, body: 'v1' },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    const served = await get(cache, '/a');
    expect(served.cacheStatus).toBe('revalidated');
    expect(text(served)).toBe('v1');
    await cache.whenIdle();
    const after = await get(cache, '/a');
    expect(after.cacheStatus).toBe('miss');
    expect(origin.seen[2]!.headers['if-none-match']).toBeUndefined();
  });
});

describe('Vary', () => {
  it('keeps one entry per value of the fields the response varies on', async () => {
    origin.route('/v', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      body: `hello in ${String(req.headers['accept-language'])}`,
    }));
    const cache = cacheWith();
    expect(text(await get(cache, '/v', { 'accept-language': 'en' }))).toBe('hello in en');
    const de = await get(cache, '/v', { 'accept-language': 'de' });
    expect(de.cacheStatus).toBe('miss');
    expect(de.headers['cache-status']).toContain('fwd=vary-miss');
    expect(text(de)).toBe('hello in de');
    const en = await get(cache, '/v', { 'Accept-Language': 'en' });
    expect(en.cacheStatus).toBe('hit');
    expect(text(en)).toBe('hello in en');
    expect((await get(cache, '/v', { 'accept-language': 'de' })).cacheStatus).toBe('hit');
    expect((await get(cache, '/v')).cacheStatus).toBe('miss');
    expect(origin.count('/v')).toBe(3);
  });

  it('never serves a Vary: * response from the store', async () => {
    serve('/v', { 'cache-control': 'max-age=60', vary: '*' });
    const cache = cacheWith();
    await get(cache, '/v');
    expect((await get(cache, '/v')).cacheStatus).toBe('miss');
  });

  it('drops every variant when the URL is invalidated', async () => {
    origin.route('/v', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'accept' },
      body: String(req.headers.accept),
    }));
    const cache = cacheWith();
    await get(cache, '/v', { accept: 'a' });
    await get(cache, '/v', { accept: 'b' });
    await cache.invalidate(`${origin.base}/v`);
    expect((await get(cache, '/v', { accept: 'a' })).cacheStatus).toBe('miss');
    expect((await get(cache, '/v', { accept: 'b' })).cacheStatus).toBe('miss');
  });

  it('starts over when the origin changes what it varies on', async () => {
    let vary = 'accept';
    origin.route('/v', () => ({ headers: { 'cache-control': 'max-age=60', vary }, body: vary }));
    const cache = cacheWith();
    await get(cache, '/v', { accept: 'a', 'accept-language': 'en' });
    vary = 'accept-language';
    await clock.advance(61_000);
    await get(cache, '/v', { accept: 'a', 'accept-language': 'en' });
    const hit = await get(cache, '/v', { accept: 'b', 'accept-language': 'en' });
    expect(hit.cacheStatus).toBe('hit');
    expect(text(hit)).toBe('accept-language');
  });
});

describe('stale-while-revalidate', () => {
  it('serves stale at once and revalidates once in the background', async () => {
    let version = 1;
    origin.route('/a', () => ({
      headers: { 'cache-control': 'max-age=60, stale-while-revalidate=30' },
      body: `v${version}`,
    }));
    const cache = cacheWith();
    await get(cache, '/a');
    version = 2;
    await clock.advance(70_000);
    const results = await Promise.all([get(cache, '/a'), get(cache, '/a'), get(cache, '/a')]);
    for (const r of results) {
      expect(r.cacheStatus).toBe('stale-while-revalidate');
      expect(text(r)).toBe('v1');
      expect(r.headers.age).toBe('70');
    }
    await cache.whenIdle();
    expect(origin.count('/a')).toBe(2);
    const fresh = await get(cache, '/a');
    expect(fresh.cacheStatus).toBe('hit');
    expect(text(fresh)).toBe('v2');
  });

  it('revalidates before answering once the window has passed', async () => {
    serve('/a', { 'cache-control': 'max-age=60, stale-while-revalidate=30' });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(91_000);
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('miss');
    expect(text(result)).toBe('body 2');
  });

  it('keeps the stale entry when the background revalidation fails', async () => {
    let fail = false;
    origin.route('/a', () =>
      fail
        ? { status: 500 }
        : { headers: { 'cache-control': 'max-age=60, stale-while-revalidate=30' }, body: 'ok' },
    );
    const events: CacheEvent[] = [];
    const cache = cacheWith({ listener: (e) => events.push(e) });
    await get(cache, '/a');
    fail = true;
    await clock.advance(65_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('stale-while-revalidate');
    await cache.whenIdle();
    expect((await get(cache, '/a')).cacheStatus).toBe('stale-while-revalidate');
    expect(
      events.some((e) => e.type === 'cache-revalidated' && e.background && e.outcome === 'failed'),
    ).toBe(true);
  });
});

describe('stale-if-error', () => {
  async function primed(cacheControl: string, options: HttpCacheOptions = {}) {
    let mode: 'ok' | 'error' | 'reset' = 'ok';
    origin.route('/a', () =>
      mode === 'error'
        ? { status: 503, body: 'down' }
        : mode === 'reset'
          ? { reset: true }
          : { headers: { 'cache-control': cacheControl }, body: 'good' },
    );
    const cache = cacheWith(options);
    await get(cache, '/a');
    return { cache, fail: (m: 'error' | 'reset') => (mode = m) };
  }

  it('serves the stale entry, marked, when the origin answers 5xx', async () => {
    const { cache, fail } = await primed('max-age=60, stale-if-error=300');
    fail('error');
    await clock.advance(120_000);
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('stale-if-error');
    expect(result.status).toBe(200);
    expect(text(result)).toBe('good');
    expect(result.age).toBe(120);
    expect(result.headers.age).toBe('120');
    expect(result.failure).toBe(503);
    expect(result.headers['cache-status']).toBe(
      'bulwark; fwd=stale; fwd-status=503; ttl=-60; detail=stale-if-error',
    );
  });

  it('serves the stale entry when the connection fails', async () => {
    const { cache, fail } = await primed('max-age=60, stale-if-error=300');
    fail('reset');
    await clock.advance(120_000);
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('stale-if-error');
    expect(result.failure).toBeInstanceOf(Error);
  });

  it('serves the stale entry when a breaker is open or a timeout fires', async () => {
    const { cache } = await primed('max-age=60, stale-if-error=300');
    await clock.advance(120_000);
    const url = `${origin.base}/a`;
    const open: Origin = () => {
      throw new BrokenCircuitError();
    };
    const slow: Origin = () => Promise.reject(new TimeoutError(500));
    const broken = await cache.handle({ method: 'GET', url }, open);
    expect(broken.cacheStatus).toBe('stale-if-error');
    expect(broken.failure).toBeInstanceOf(BrokenCircuitError);
    const timedOut = await cache.handle({ method: 'GET', url }, slow);
    expect(timedOut.cacheStatus).toBe('stale-if-error');
    expect(timedOut.failure).toBeInstanceOf(TimeoutError);
  });

  it('passes the failure on outside the window', async () => {
    const { cache, fail } = await primed('max-age=60, stale-if-error=30');
    fail('error');
    await clock.advance(120_000);
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('miss');
    expect(result.status).toBe(503);
    const url = `${origin.base}/a`;
    await expect(
      cache.handle({ method: 'GET', url }, () => Promise.reject(new Error('refused'))),
    ).rejects.toThrow('refused');
  });

  it('uses the opt-in default window for responses that state none', async () => {
    const { cache, fail } = await primed('max-age=60', { staleIfErrorMs: 600_000 });
    fail('error');
    await clock.advance(300_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('stale-if-error');
  });

  it('honours a stale-if-error request directive', async () => {
    const { cache, fail } = await primed('max-age=60');
    fail('error');
    await clock.advance(90_000);
    expect((await get(cache, '/a', { 'cache-control': 'stale-if-error=60' })).cacheStatus).toBe(
      'stale-if-error',
    );
  });

  it('never serves a must-revalidate entry stale on error', async () => {
    const { cache, fail } = await primed('max-age=60, must-revalidate, stale-if-error=300', {
      staleIfErrorMs: 600_000,
    });
    fail('error');
    await clock.advance(120_000);
    expect((await get(cache, '/a')).status).toBe(503);
  });

  it('does not count a 4xx as a failure', async () => {
    let status = 200;
    origin.route('/a', () => ({
      status,
      headers: { 'cache-control': 'max-age=60, stale-if-error=300' },
    }));
    const cache = cacheWith();
    await get(cache, '/a');
    status = 404;
    await clock.advance(120_000);
    expect((await get(cache, '/a')).status).toBe(404);
  });

  it('handles a status outside 100-599 as a server error: served stale over, never stored', async () => {
    let status = 200;
    origin.route('/a', () => ({
      status,
      headers: { 'cache-control': 'max-age=60, stale-if-error=300' },
      body: `status ${status}`,
    }));
    const cache = cacheWith({ isFailureResponse: ({ status }) => status === 503 });
    await get(cache, '/a');
    await clock.advance(120_000);
    status = 600;
    const stale = await get(cache, '/a');
    expect(stale.cacheStatus).toBe('stale-if-error');
    expect(text(stale)).toBe('status 200');
    expect(stale.failure).toBe(600);
    const url = `${origin.base}/a`;
    const below = await cache.handle({ method: 'GET', url }, () => ({ status: 99 }));
    expect(below.cacheStatus).toBe('stale-if-error');
    expect(below.failure).toBe(99);
  });

  it('passes a status outside 100-599 on without storing it when nothing may stand in', async () => {
    origin.route('/e', () => ({
      status: 600,
      headers: { 'cache-control': 'max-age=60' },
      body: 'odd',
    }));
    const cache = cacheWith();
    const first = await get(cache, '/e');
    expect(first.status).toBe(600);
    expect(first.cacheStatus).toBe('miss');
    expect(text(first)).toBe('odd');
    expect((await get(cache, '/e')).cacheStatus).toBe('miss');
    expect(origin.count('/e')).toBe(2);
  });

  it('serves the stale entry over a 5xx that states its freshness, and keeps the entry for next time', async () => {
    let down = false;
    origin.route('/a', () =>
      down
        ? { status: 503, headers: { 'cache-control': 'max-age=60' }, body: 'down' }
        : { headers: { 'cache-control': 'max-age=60, stale-if-error=300' }, body: 'good' },
    );
    const cache = cacheWith();
    await get(cache, '/a');
    down = true;
    await clock.advance(120_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('stale-if-error');
    const again = await get(cache, '/a');
    expect([again.cacheStatus, text(again)]).toEqual(['stale-if-error', 'good']);
    expect(origin.count('/a')).toBe(3);
    // Past the stale-if-error window, the 5xx is the answer, and is stored as it asks.
    await clock.advance(300_000);
    expect((await get(cache, '/a')).status).toBe(503);
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
    expect(origin.count('/a')).toBe(4);
  });

  it('lets the caller decide which responses are failures', async () => {
    const { cache, fail } = await primed('max-age=60, stale-if-error=300', {
      isFailureResponse: ({ status }) => status === 503 || status === 429,
    });
    fail('error');
    await clock.advance(120_000);
    expect((await get(cache, '/a')).cacheStatus).toBe('stale-if-error');
  });

  it('fails with CancelledError, not a stale entry, when the caller aborts', async () => {
    const { cache } = await primed('max-age=60, stale-if-error=300');
    await clock.advance(120_000);
    const controller = new AbortController();
    const url = `${origin.base}/a`;
    const hanging: Origin = ({ signal }) =>
      new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    const pending = cache.handle({ method: 'GET', url }, hanging, { signal: controller.signal });
    controller.abort('user left');
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('request coalescing', () => {
  it('makes one origin request for concurrent misses of one key', async () => {
    const gate = deferred();
    const arrived = deferred();
    origin.route('/slow', async () => {
      arrived.resolve();
      await gate.promise;
      return { headers: { 'cache-control': 'max-age=60' }, body: 'shared' };
    });
    const cache = cacheWith();
    const pending = Array.from({ length: 10 }, () => get(cache, '/slow'));
    await arrived.promise;
    gate.resolve();
    const results = await Promise.all(pending);
    expect(origin.count('/slow')).toBe(1);
    expect(results.map(text)).toEqual(Array(10).fill('shared'));
    expect(results.filter((r) => r.headers['cache-status']?.includes('collapsed'))).toHaveLength(9);
  });

  it('shares a response without freshness among concurrent requests', async () => {
    const gate = deferred();
    origin.route('/plain', async () => {
      await gate.promise;
      return { body: 'once' };
    });
    const cache = cacheWith();
    const pending = [get(cache, '/plain'), get(cache, '/plain')];
    gate.resolve();
    await Promise.all(pending);
    expect(origin.count('/plain')).toBe(1);
  });

  it('never coalesces requests carrying different credentials', async () => {
    const gate = deferred();
    origin.route('/me', async (req) => {
      await gate.promise;
      return { body: String(req.headers.authorization) };
    });
    const cache = cacheWith();
    const alice = get(cache, '/me', { authorization: 'alice' });
    const bob = get(cache, '/me', { authorization: 'bob' });
    gate.resolve();
    expect(text(await alice)).toBe('alice');
    expect(text(await bob)).toBe('bob');
    expect(origin.count('/me')).toBe(2);
  });

  it('asks on its own when the shared response varies on a field it sends differently', async () => {
    const gate = deferred();
    origin.route('/v', async (req) => {
      await gate.promise;
      return {
        headers: { 'cache-control': 'max-age=60', vary: 'accept-language' },
        body: String(req.headers['accept-language']),
      };
    });
    const cache = cacheWith();
    const en = get(cache, '/v', { 'accept-language': 'en' });
    const de = get(cache, '/v', { 'accept-language': 'de' });
    gate.resolve();
    expect(text(await en)).toBe('en');
    expect(text(await de)).toBe('de');
    expect(origin.count('/v')).toBe(2);
  });

  it('asks on its own when the shared response may not be reused', async () => {
    const gate = deferred();
    origin.route('/ns', async () => {
      await gate.promise;
      return { headers: { 'cache-control': 'no-store' }, body: 'secret' };
    });
    const cache = cacheWith();
    const pending = [get(cache, '/ns'), get(cache, '/ns')];
    gate.resolve();
    await Promise.all(pending);
    expect(origin.count('/ns')).toBe(2);
  });

  it('lets the others ask again when the first caller aborts', async () => {
    const arrived = deferred();
    origin.route('/slow', async () => {
      if (origin.count('/slow') === 1) {
        arrived.resolve();
        await new Promise(() => {});
      }
      return { headers: { 'cache-control': 'max-age=60' }, body: 'second' };
    });
    const cache = cacheWith();
    const controller = new AbortController();
    const leader = get(cache, '/slow', undefined, { signal: controller.signal });
    const follower = get(cache, '/slow');
    await arrived.promise;
    controller.abort();
    await expect(leader).rejects.toBeInstanceOf(CancelledError);
    expect(text(await follower)).toBe('second');
    expect(origin.count('/slow')).toBe(2);
  });

  it('releases only the follower that aborts', async () => {
    const gate = deferred();
    origin.route('/slow', async () => {
      await gate.promise;
      return { headers: { 'cache-control': 'max-age=60' }, body: 'done' };
    });
    const cache = cacheWith();
    const controller = new AbortController();
    const leader = get(cache, '/slow');
    const follower = get(cache, '/slow', undefined, { signal: controller.signal });
    controller.abort(new TimeoutError(100));
    await expect(follower).rejects.toBeInstanceOf(TimeoutError);
    gate.resolve();
    expect(text(await leader)).toBe('done');
  });

  it('coalesces concurrent revalidations of a stale entry into one conditional request', async () => {
    const gate = deferred();
    origin.route('/a', async (req) => {
      if (req.headers['if-none-match'] !== undefined) {
        await gate.promise;
        return { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60' } };
      }
      return { headers: { etag: '"v1"', 'cache-control': 'max-age=60' }, body: 'v1' };
    });
    const cache = cacheWith();
    await get(cache, '/a');
    await clock.advance(61_000);
    const pending = Array.from({ length: 5 }, () => get(cache, '/a'));
    gate.resolve();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.cacheStatus === 'revalidated' && text(r) === 'v1')).toBe(true);
    expect(origin.count('/a')).toBe(2);
  });
});

describe('invalidation', () => {
  it('drops the target URI when an unsafe request succeeds', async () => {
    serve('/item', { 'cache-control': 'max-age=600' });
    origin.route('/item', (req) =>
      req.method === 'GET'
        ? { headers: { 'cache-control': 'max-age=600' }, body: 'item' }
        : { status: 204 },
    );
    const cache = cacheWith();
    await get(cache, '/item');
    const put = await cache.handle({ method: 'PUT', url: `${origin.base}/item` }, undiciOrigin);
    expect(put.cacheStatus).toBe('bypass');
    expect(put.headers['cache-status']).toBe('bulwark; fwd=method; fwd-status=204');
    expect((await get(cache, '/item')).cacheStatus).toBe('miss');
  });

  it('drops the Location and Content-Location targets of the same origin only', async () => {
    serve('/list', { 'cache-control': 'max-age=600' });
    serve('/items/7', { 'cache-control': 'max-age=600' });
    serve('/other', { 'cache-control': 'max-age=600' });
    origin.route('/items', () => ({
      status: 201,
      headers: { location: '/items/7', 'content-location': 'http://elsewhere.test/other' },
    }));
    const cache = cacheWith();
    await get(cache, '/list');
    await get(cache, '/items/7');
    await get(cache, '/other');
    const events: CacheEvent[] = [];
    const watched = cacheWith({ store: cache.store, listener: (e) => events.push(e) });
    await watched.handle({ method: 'POST', url: `${origin.base}/items` }, undiciOrigin);
    expect((await get(cache, '/items/7')).cacheStatus).toBe('miss');
    expect((await get(cache, '/other')).cacheStatus).toBe('hit');
    expect((await get(cache, '/list')).cacheStatus).toBe('hit');
    expect(events.filter((e) => e.type === 'cache-invalidated').map((e) => e.url)).toEqual([
      `${origin.base}/items`,
      `${origin.base}/items/7`,
    ]);
  });

  it('keeps the entry when the unsafe request fails', async () => {
    origin.route('/item', (req) =>
      req.method === 'GET'
        ? { headers: { 'cache-control': 'max-age=600' }, body: 'item' }
        : { status: 500 },
    );
    const cache = cacheWith();
    await get(cache, '/item');
    await cache.handle({ method: 'DELETE', url: `${origin.base}/item` }, undiciOrigin);
    expect((await get(cache, '/item')).cacheStatus).toBe('hit');
  });

  it('invalidates every partition’s entry when one caller changes the resource', async () => {
    let version = 1;
    origin.route('/doc', (req) =>
      req.method === 'GET'
        ? { headers: { 'cache-control': 'private, max-age=600' }, body: `v${version}` }
        : (version++, { status: 204 }),
    );
    const cache = cacheWith({
      partition: (request) => (request.headers as Record<string, string>)['x-user'],
    });
    expect(text(await get(cache, '/doc', { 'x-user': 'alice' }))).toBe('v1');
    expect(text(await get(cache, '/doc', { 'x-user': 'bob' }))).toBe('v1');
    expect((await get(cache, '/doc', { 'x-user': 'bob' })).cacheStatus).toBe('hit');
    await cache.handle(
      { method: 'PUT', url: `${origin.base}/doc`, headers: { 'x-user': 'alice' } },
      undiciOrigin,
    );
    // Anything requested in the millisecond of the change is refused too: move past it.
    await clock.advance(1);
    // Bob's entry was stored under a key Alice's request cannot name, and is refused all the same.
    const bob = await get(cache, '/doc', { 'x-user': 'bob' });
    expect(bob.cacheStatus).toBe('miss');
    expect(text(bob)).toBe('v2');
    // What Bob stored after the change is served again.
    expect((await get(cache, '/doc', { 'x-user': 'bob' })).cacheStatus).toBe('hit');
    expect(text(await get(cache, '/doc', { 'x-user': 'alice' }))).toBe('v2');
  });

  it('drops a partitioned caller’s entry and the unpartitioned one', async () => {
    serve('/a', { 'cache-control': 'max-age=600' });
    const cache = cacheWith({ partition: () => 'tenant-1' });
    await get(cache, '/a');
    await cache.invalidate(`${origin.base}/a`, { partition: 'tenant-1' });
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });
});

describe('store failures', () => {
  function failingStore(): CacheStore {
    return {
      get: () => Promise.reject(new Error('store down')),
      set: () => {
        throw new Error('store down');
      },
      delete: () => Promise.reject(new Error('store down')),
    };
  }

  it('treats a failing store as a miss and never fails the call', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const events: CacheEvent[] = [];
    const cache = cacheWith({ store: failingStore(), listener: (e) => events.push(e) });
    const result = await get(cache, '/a');
    expect(result.cacheStatus).toBe('miss');
    expect(text(result)).toBe('body 1');
    await cache.handle({ method: 'POST', url: `${origin.base}/a` }, undiciOrigin);
    const errors = events.filter((e) => e.type === 'cache-store-error');
    expect(errors.map((e) => e.storeOperation).sort()).toEqual(['delete', 'get', 'set']);
    expect(events.find((e) => e.type === 'cache-miss')).toMatchObject({ reason: 'store-error' });
  });

  it('treats a store that throws synchronously as a miss', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const store: CacheStore = {
      get: () => {
        throw new Error('boom');
      },
      set: () => undefined,
      delete: () => undefined,
    };
    const cache = cacheWith({ store });
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });
});

describe('results and telemetry', () => {
  it('appends its Cache-Status member after those already present', async () => {
    serve('/a', { 'cache-control': 'max-age=60', 'cache-status': 'cdn; hit' });
    const cache = cacheWith({ cacheStatus: 'edge-1' });
    expect((await get(cache, '/a')).headers['cache-status']).toBe(
      'cdn; hit, edge-1; fwd=uri-miss; fwd-status=200; stored',
    );
    expect((await get(cache, '/a')).headers['cache-status']).toBe('cdn; hit, edge-1; hit; ttl=60');
  });

  it('adds no Cache-Status field when turned off', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith({ cacheStatus: false });
    await get(cache, '/a');
    const hit = await get(cache, '/a');
    expect(hit.headers['cache-status']).toBeUndefined();
    expect(hit.headers.age).toBe('0');
  });

  it('removes hop-by-hop fields from forwarded responses', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const miss = await get(cacheWith(), '/a');
    expect(miss.headers.connection).toBeUndefined();
    expect(miss.headers['keep-alive']).toBeUndefined();
  });

  it('reports hits, misses and stores to the listener, naming the cache and operation', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const events: CacheEvent[] = [];
    const cache = cacheWith({ name: 'users', listener: (e) => events.push(e) });
    await get(cache, '/a', undefined, { operation: 'get-user' });
    await get(cache, '/a', undefined, { operation: 'get-user' });
    expect(events.map((e) => e.type)).toEqual(['cache-miss', 'cache-stored', 'cache-hit']);
    expect(events[0]).toMatchObject({
      policy: 'cache',
      name: 'users',
      operation: 'get-user',
      method: 'GET',
      url: `${origin.base}/a`,
      reason: 'uri-miss',
    });
    expect(events[1]).toMatchObject({ status: 200, ttlMs: 60_000 + 600_000 });
    expect(events[2]).toMatchObject({ ageSeconds: 0 });
  });

  it('reports why a response was not stored', async () => {
    serve('/a', { 'cache-control': 'no-store' });
    const events: CacheEvent[] = [];
    const cache = cacheWith({ listener: (e) => events.push(e) });
    await get(cache, '/a');
    expect(events.find((e) => e.type === 'cache-not-stored')).toMatchObject({ reason: 'no-store' });
  });

  it('survives a listener that throws', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith({
      listener: () => {
        throw new Error('exporter broke');
      },
    });
    await get(cache, '/a');
    expect((await get(cache, '/a')).cacheStatus).toBe('hit');
  });

  it('fails at once with CancelledError when the signal has already aborted', async () => {
    const cache = cacheWith();
    await expect(
      get(cache, '/a', undefined, { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(origin.count()).toBe(0);
  });

  it('accepts a Headers object as request headers', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const cache = cacheWith();
    await get(cache, '/a', new Headers({ Authorization: 'Bearer x' }));
    expect((await get(cache, '/a')).cacheStatus).toBe('miss');
  });

  it('rejects an origin reply that is not a response', async () => {
    const cache = cacheWith();
    const url = `${origin.base}/a`;
    await expect(cache.handle({ method: 'GET', url }, () => ({ status: 1000 }))).rejects.toThrow(
      new TypeError("expected the origin's status to be an integer between 0 and 999, got 1000"),
    );
    await expect(cache.handle({ method: 'GET', url }, () => null as never)).rejects.toThrow(
      new TypeError('expected the origin to resolve to { status, headers, body }, got null'),
    );
  });

  it('shares a memory store between two caches, like one process with two clients', async () => {
    serve('/a', { 'cache-control': 'max-age=60' });
    const store = memoryStore({ clock });
    await get(cacheWith({ store }), '/a');
    expect((await get(cacheWith({ store }), '/a')).cacheStatus).toBe('hit');
  });
});
