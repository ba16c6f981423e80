import {
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isDeadlineExceededError,
  isTimeoutError,
} from '@bulwark/core';
import { httpCache } from '@bulwark/cache';
import { consecutive } from '@bulwark/circuit-breaker';
import { constantBackoff } from '@bulwark/retry';
import { prometheusListener } from '@bulwark/telemetry';
import { FakeClock, fault } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isBodyTooLargeError, isNetworkError, isRetriesExhaustedError } from './errors.js';
import { Events, client, server } from './test-helpers.js';

const fresh = (body: string, headers: Record<string, string> = {}) =>
  fault.respond(200, { headers: { 'cache-control': 'max-age=60', ...headers }, body });
/** Stored, stale at once, and servable for a minute when the origin fails. */
const staleIfError = (body: string) =>
  fault.respond(200, {
    headers: { 'cache-control': 'max-age=0, stale-if-error=60' },
    body,
  });

describe('cache: fresh hits', () => {
  it('answers a fresh hit from the store, without touching the server or the pipeline', async () => {
    const s = await server();
    s.script(
      fault.respond(200, {
        headers: { 'cache-control': 'max-age=60' },
        body: 'hello',
        chunked: true,
      }),
    );
    const events = new Events();
    const http = client({ baseUrl: s.origin, cache: {}, listener: events.listener });

    const first = await http.request('/items/1');
    const second = await http.request('/items/1');

    expect(s.requests).toHaveLength(1);
    expect(first.cache).toMatchObject({ status: 'miss', stale: false });
    expect(first.attempts).toBe(1);
    expect(second.cache).toMatchObject({ status: 'hit', stale: false });
    // Ages count in whole seconds from the response's Date, itself in whole seconds.
    expect(second.cache!.age).toBeLessThanOrEqual(1);
    expect(second.attempts).toBe(0);
    // What was stored is the bytes the client read (a chunked body, no Content-Length).
    expect(second.text()).toBe('hello');
    expect(second.headers.age).toBe(String(second.cache!.age));
    expect(second.headers['cache-status']).toMatch(/^bulwark; hit/);
    // The hit never entered the pipeline: one attempt. It is still a call the caller made.
    expect(events.of('call').map((e) => e.outcome)).toEqual(['success', 'success']);
    expect(events.of('attempt')).toHaveLength(1);
    expect(events.of('cache-hit')).toHaveLength(1);
  });

  it('serves the JSON helpers from the cache too', async () => {
    const s = await server();
    s.script(fault.respond(200, { headers: { 'cache-control': 'max-age=60' }, body: { id: 7 } }));
    const http = client({ baseUrl: s.origin, cache: {} });
    expect(await http.get('/users/7')).toEqual({ id: 7 });
    expect(await http.get('/users/7')).toEqual({ id: 7 });
    expect(s.requests).toHaveLength(1);
  });

  it('does not use the cache when the client has none', async () => {
    const s = await server();
    s.script(fresh('a'), fresh('b'));
    const http = client({ baseUrl: s.origin });
    expect((await http.request('/')).cache).toBeUndefined();
    expect((await http.request('/')).text()).toBe('b');
  });
});

describe('cache: revalidation', () => {
  it('revalidates with If-None-Match and serves the stored body on a 304', async () => {
    const s = await server();
    s.script(
      fault.respond(200, { headers: { 'cache-control': 'no-cache', etag: '"v1"' }, body: 'v1' }),
      fault.respond(304, { headers: { etag: '"v1"' } }),
    );
    const http = client({ baseUrl: s.origin, cache: {} });
    await http.request('/doc');
    const second = await http.request('/doc');

    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect(second.status).toBe(200);
    expect(second.text()).toBe('v1');
    expect(second.cache?.status).toBe('revalidated');
    expect(second.attempts).toBe(1);
  });

  it('revalidates on a 304 that carries the Content-Length of the stored body (RFC 9110 §8.6)', async () => {
    const s = await server();
    s.script(
      fault.respond(200, { headers: { 'cache-control': 'no-cache', etag: '"v1"' }, body: 'v1' }),
      fault.raw('HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncontent-length: 2\r\n\r\n'),
    );
    const http = client({ baseUrl: s.origin, cache: {} });
    await http.request('/doc');
    const second = await http.request('/doc');
    expect(second.cache?.status).toBe('revalidated');
    expect([second.status, second.text(), second.headers['content-length']]).toEqual([
      200,
      'v1',
      '2',
    ]);
    expect(s.requests).toHaveLength(2);
  });
});

describe('cache: stale-if-error, when the pipeline fails', () => {
  it('serves the stale entry when the origin is down (network errors, retries exhausted)', async () => {
    const s = await server();
    s.script(staleIfError('kept'));
    const http = client({
      baseUrl: s.origin,
      cache: {},
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
    });
    await http.request('/item');
    await s.close();

    const response = await http.request('/item');

    expect(response.status).toBe(200);
    expect(response.text()).toBe('kept');
    expect(response.cache).toMatchObject({ status: 'stale-if-error', stale: true });
    expect(response.headers.age).toBeDefined();
    expect(isRetriesExhaustedError(response.cache!.failure)).toBe(true);
    expect(isNetworkError((response.cache!.failure as Error).cause)).toBe(true);
  });

  it('serves the stale entry when every retry got a 5xx', async () => {
    const s = await server();
    s.script(staleIfError('kept'), fault.burst(3, 503));
    const http = client({ baseUrl: s.origin, cache: {}, retry: { backoff: constantBackoff(0) } });
    await http.request('/item');
    const response = await http.request('/item');
    expect(s.requests).toHaveLength(4);
    expect(response.text()).toBe('kept');
    expect(response.cache?.status).toBe('stale-if-error');
  });

  it('serves the stale entry when the origin’s breaker is open, without sending anything', async () => {
    const s = await server();
    s.script(staleIfError('kept'), fault.respond(500));
    const http = client({
      baseUrl: s.origin,
      cache: {},
      retry: false,
      breaker: { strategy: consecutive({ threshold: 1 }) },
    });
    await http.request('/item');
    // A 500 elsewhere on the origin opens its breaker.
    expect((await http.request('/other')).status).toBe(500);

    const response = await http.request('/item');

    expect(s.requests).toHaveLength(2);
    expect(response.text()).toBe('kept');
    expect(response.cache?.status).toBe('stale-if-error');
    expect(isBrokenCircuitError(response.cache!.failure)).toBe(true);
  });

  it('serves the stale entry when the attempt times out on a hanging origin', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(staleIfError('kept'), fault.hang());
    const http = client({ baseUrl: s.origin, clock, cache: {}, retry: false, timeoutMs: 1_000 });
    await http.request('/item');
    const pending = http.request('/item');
    await s.waitForRequests(2);
    await clock.advance(1_000);
    const response = await pending;
    expect(response.text()).toBe('kept');
    expect(response.cache?.status).toBe('stale-if-error');
    expect(isTimeoutError(response.cache!.failure)).toBe(true);
  });

  it('serves the stale entry when the deadline runs out across retries', async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    s.script(staleIfError('kept'));
    const http = client({
      baseUrl: s.origin,
      clock,
      cache: {},
      timeoutMs: 1_000,
      deadlineMs: 1_500,
      retry: { maxAttempts: 5, backoff: constantBackoff(100) },
    });
    await http.request('/item');
    const pending = http.request('/item');
    await s.waitForRequests(2);
    await clock.advance(1_000); // the first attempt times out; the retry waits 100 ms
    await clock.advance(100);
    await s.waitForRequests(3);
    await clock.advance(400); // the second attempt has only what is left of the budget
    const response = await pending;
    expect(response.text()).toBe('kept');
    expect(response.cache?.status).toBe('stale-if-error');
    expect(isDeadlineExceededError(response.cache!.failure)).toBe(true);
  });

  it('serves the stale entry when the bulkhead refuses the call', async () => {
    const s = await server();
    s.script(staleIfError('kept'), fault.hang());
    const http = client({ baseUrl: s.origin, cache: {}, bulkhead: { limit: 1, queue: 0 } });
    await http.request('/item');
    const hanging = http.request('/slow').catch((e: unknown) => e);
    await s.waitForRequests(2);
    const response = await http.request('/item');
    expect(response.text()).toBe('kept');
    expect(response.cache?.status).toBe('stale-if-error');
    expect(isBulkheadRejectedError(response.cache!.failure)).toBe(true);
    expect(s.requests).toHaveLength(2);
    await http.destroy();
    await hanging;
  });

  it('fails as without a cache when no stale window allows a stand-in', async () => {
    const s = await server();
    s.script(fault.respond(200, { headers: { 'cache-control': 'max-age=0' }, body: 'x' }));
    s.script(fault.burst(3, 503));
    const http = client({ baseUrl: s.origin, cache: {}, retry: { backoff: constantBackoff(0) } });
    await http.request('/item');
    const error = await http.request('/item').catch((e: unknown) => e);
    expect(isRetriesExhaustedError(error)).toBe(true);
  });

  it('stores a 5xx it does not retry when it states its freshness, and never one it retried', async () => {
    const s = await server();
    const failed = (status: number) =>
      fault.respond(status, { headers: { 'cache-control': 'max-age=60' }, body: `${status}` });
    s.script(failed(501), fault.burst(3, 503, { 'cache-control': 'max-age=60' }), failed(200));
    const http = client({ baseUrl: s.origin, cache: {}, retry: { backoff: constantBackoff(0) } });
    await http.request('/not-implemented');
    const hit = await http.request('/not-implemented');
    expect([hit.status, hit.cache?.status]).toEqual([501, 'hit']);
    await expect(http.request('/busy')).rejects.toMatchObject({ lastStatus: 503 });
    expect((await http.request('/busy')).status).toBe(200);
    expect(s.requests).toHaveLength(5);
  });

  it('passes a status outside 100-599 through the cache unstored, or serves a stale entry in its place', async () => {
    const s = await server();
    const odd = fault.respond(600, { headers: { 'cache-control': 'max-age=60' }, body: 'odd' });
    s.script(odd, odd, staleIfError('good'), odd);
    const http = client({ baseUrl: s.origin, cache: {}, retry: false });
    const first = await http.request('/odd');
    expect([first.status, first.text(), first.cache?.status]).toEqual([600, 'odd', 'miss']);
    expect((await http.request('/odd')).cache?.status).toBe('miss');
    await http.request('/good');
    const stale = await http.request('/good');
    expect([stale.status, stale.text()]).toEqual([200, 'good']);
    expect(stale.cache).toMatchObject({ status: 'stale-if-error', failure: 600 });
    expect(s.requests).toHaveLength(4);
  });

  it('applies the cache’s staleIfErrorMs to responses that state no window', async () => {
    const s = await server();
    s.script(fault.respond(200, { headers: { 'cache-control': 'max-age=0' }, body: 'x' }));
    s.script(fault.respond(503));
    const http = client({ baseUrl: s.origin, cache: { staleIfErrorMs: 60_000 }, retry: false });
    await http.request('/item');
    expect((await http.request('/item')).cache?.status).toBe('stale-if-error');
  });

  it('does not stand in for a body over maxBodyBytes: that is not the origin failing', async () => {
    const s = await server();
    s.script(staleIfError('kept'), fault.respond(200, { body: 'x'.repeat(100) }));
    const http = client({ baseUrl: s.origin, cache: {}, maxBodyBytes: 50 });
    await http.request('/item');
    const error = await http.request('/item').catch((e: unknown) => e);
    expect(isBodyTooLargeError(error)).toBe(true);
  });
});

describe('cache: what is stored and for whom', () => {
  it('drops the GET entry when a POST to the same URL succeeds, and keeps it when the POST fails', async () => {
    const s = await server();
    s.script(fresh('v1'), fault.respond(500), fault.respond(201), fresh('v2'));
    const http = client({ baseUrl: s.origin, cache: {} });
    expect((await http.request('/items/1')).text()).toBe('v1');
    expect((await http.request('/items/1', { method: 'POST', body: 'a' })).status).toBe(500);
    expect((await http.request('/items/1')).cache?.status).toBe('hit');
    const posted = await http.request('/items/1', { method: 'POST', body: 'b' });
    expect(posted.status).toBe(201);
    expect(posted.cache?.status).toBe('bypass');

    const after = await http.request('/items/1');

    expect(after.text()).toBe('v2');
    expect(after.cache?.status).toBe('miss');
    expect(s.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'POST', 'GET']);
  });

  it('invalidates after a streamed unsafe request too, and never caches a streamed GET', async () => {
    const s = await server();
    s.script(fresh('v1'), fresh('s'), fault.respond(204), fresh('v2'));
    const http = client({ baseUrl: s.origin, cache: {} });
    await http.request('/items/1');
    const streamed = await http.stream('/items/1?s');
    expect(await streamed.text()).toBe('s');
    const deleted = await http.stream('/items/1', { method: 'DELETE' });
    await deleted.bytes();
    expect((await http.request('/items/1')).text()).toBe('v2');
    expect(s.requests).toHaveLength(4);
  });

  it('does not store the answer to a request with Authorization unless the response allows it', async () => {
    const s = await server();
    s.script(
      fresh('private'),
      fresh('again'),
      fresh('shared', { 'cache-control': 'public, max-age=60' }),
    );
    const http = client({ baseUrl: s.origin, cache: {} });
    const auth = { headers: { authorization: 'Bearer t' } };
    await http.request('/me', auth);
    expect((await http.request('/me', auth)).text()).toBe('again');
    await http.request('/shared', auth);
    expect((await http.request('/shared', auth)).cache?.status).toBe('hit');
    expect(s.requests).toHaveLength(3);
  });

  it('replays every Set-Cookie from a private cache, as undici gives them, and none from a shared one', async () => {
    const cookies = ['sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly', 'theme=dark'];
    const answer = (cacheControl: string) =>
      fault.raw(
        `HTTP/1.1 200 OK\r\ncache-control: ${cacheControl}\r\nset-cookie: ${cookies[0]}\r\n` +
          `set-cookie: ${cookies[1]}\r\ncontent-length: 2\r\n\r\nok`,
      );
    const s = await server();
    // A shared cache stores the response only because no-cache="set-cookie" leaves the field out.
    s.script(answer('max-age=60'), answer('max-age=60, no-cache="set-cookie"'));
    const own = client({ baseUrl: s.origin, cache: {} });
    expect((await own.request('/me')).headers['set-cookie']).toEqual(cookies);
    const hit = await own.request('/me');
    expect(hit.cache?.status).toBe('hit');
    expect(hit.headers['set-cookie']).toEqual(cookies);
    const shared = client({ baseUrl: s.origin, cache: { type: 'shared' } });
    expect((await shared.request('/home')).headers['set-cookie']).toEqual(cookies);
    const sharedHit = await shared.request('/home');
    expect(sharedHit.cache?.status).toBe('hit');
    expect(sharedHit.headers['set-cookie']).toBeUndefined();
    expect(s.requests).toHaveLength(2);
  });

  it('keeps callers apart with a per-caller key part', async () => {
    const s = await server({
      fallback: (request) => fresh(`for ${String(request.headers['x-tenant'])}`),
    });
    const http = client({
      baseUrl: s.origin,
      cache: { partition: ({ headers }) => (headers as Record<string, string>)['x-tenant'] },
    });
    const as = (tenant: string) => http.request('/profile', { headers: { 'x-tenant': tenant } });
    expect((await as('a')).text()).toBe('for a');
    expect((await as('b')).text()).toBe('for b');
    expect((await as('a')).text()).toBe('for a');
    expect((await as('b')).cache?.status).toBe('hit');
    expect(s.requests).toHaveLength(2);
  });

  it('shares one httpCache() between clients', async () => {
    const s = await server();
    s.script(fresh('once'));
    const cache = httpCache();
    const one = client({ baseUrl: s.origin, cache });
    const two = client({ baseUrl: s.origin, cache });
    await one.request('/x');
    expect((await two.request('/x')).text()).toBe('once');
    expect(s.requests).toHaveLength(1);
  });
});

describe('cache: telemetry', () => {
  it('reports the cache’s events to the client’s listener, so one Prometheus listener counts them', async () => {
    const s = await server();
    s.script(staleIfError('a'), fault.respond(503), fresh('b'));
    const registry = new Registry();
    const http = client({
      baseUrl: s.origin,
      cache: {},
      retry: false,
      listener: prometheusListener({ registry }),
    });
    await http.request('/a'); // miss
    await http.request('/a'); // miss, then stale-if-error
    await http.request('/b'); // miss
    await http.request('/b'); // hit
    const operation = `GET ${s.origin}`;
    const lines = (await registry.metrics())
      .split('\n')
      .filter((line) => /^bulwark_cache_(lookups|stale_served)_total/.test(line));
    expect(lines).toEqual([
      `bulwark_cache_lookups_total{policy="cache",operation="${operation}",result="miss"} 3`,
      `bulwark_cache_lookups_total{policy="cache",operation="${operation}",result="hit"} 1`,
      `bulwark_cache_stale_served_total{policy="cache",operation="${operation}",reason="stale-if-error"} 1`,
    ]);
  });
});

describe('cache option', () => {
  it.each([
    [true, 'expected cache to be an httpCache(), httpCache() options or false, got boolean'],
    [[], 'expected cache to be an httpCache(), httpCache() options or false, got an array'],
  ])('refuses %o', (cache, message) => {
    expect(() => client({ cache: cache as never })).toThrow(new TypeError(message));
  });

  it('passes bad cache options on to httpCache(), which says what is wrong', () => {
    expect(() => client({ cache: { staleIfErrorMs: -1 } })).toThrow(RangeError);
    expect(() => client({ cache: { ttl: 1 } as never })).toThrow(TypeError);
  });
});
