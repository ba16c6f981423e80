import { Readable } from 'node:stream';
import { isCancelledError } from '@bulwark/core';
import { constantBackoff } from '@bulwark/retry';
import { type Fault, FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import {
  isNetworkError,
  isRetriesExhaustedError,
  isStreamBodyNotReplayableError,
} from './errors.js';
import type { HttpClientOptions } from './options.js';
import { client, server } from './test-helpers.js';

/** Retries at once, never waiting on a timer. */
const fast: HttpClientOptions = {
  retry: { backoff: constantBackoff(0), maxAttempts: 3 },
  breaker: false,
};

describe('retry safety (RFC 9110): who is retried, at the server side', () => {
  it('sends a POST without an Idempotency-Key once, even when it fails', async () => {
    const s = await server();
    s.script(fault.resetBeforeHeaders(), fault.respond(200));
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .post('/orders', { item: 1 })
      .catch((e: unknown) => e);
    expect(isNetworkError(error)).toBe(true);
    expect(error).toMatchObject({ committed: false, method: 'POST' });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('returns the 503 a POST without a key got, sent once', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200));
    const res = await client({ ...fast, baseUrl: s.origin }).request('/orders', {
      method: 'POST',
      body: 'x',
    });
    expect(res.status).toBe(503);
    expect(s.requests).toHaveLength(1);
  });

  it('retries a POST with a key, sending the same key every time, and the server acts once', async () => {
    const s = await server();
    s.script(
      fault.resetBeforeHeaders(),
      fault.respond(503),
      fault.respond(201, { body: { id: 9 } }),
    );
    const created = await client({ ...fast, baseUrl: s.origin }).post(
      '/orders',
      { item: 1 },
      { idempotencyKey: 'order-42' },
    );
    expect(created).toEqual({ id: 9 });
    expect(s.requests).toHaveLength(3);
    expect(s.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      '"order-42"',
      '"order-42"',
      '"order-42"',
    ]);
    expect(s.requests.map((r) => r.headers['x-bulwark-attempt'])).toEqual(['1', '2', '3']);
    expect(s.requests.map((r) => r.body.toString())).toEqual(Array(3).fill('{"item":1}'));
    expect(s.effects).toBe(1);
  });

  it("generates one key per call with idempotencyKey: 'auto': a UUID as an RFC 8941 string", async () => {
    const s = await server();
    s.script(fault.resetBeforeHeaders());
    const http = client({ ...fast, baseUrl: s.origin, idempotencyKey: 'auto' });
    await http.patch('/a', { v: 1 });
    await http.post('/b', { v: 2 });
    const keys = s.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(
      /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/,
    );
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(s.effects).toBe(2);
  });

  it('lets a request turn the automatic key off, and sends no key on a GET', async () => {
    const s = await server();
    s.script(fault.resetBeforeHeaders());
    const http = client({ ...fast, baseUrl: s.origin, idempotencyKey: 'auto' });
    // Without a key, a reset POST is not retried: it fails as the network error it was.
    await expect(http.post('/a', {}, { idempotencyKey: false })).rejects.toMatchObject({
      code: 'BULWARK_NETWORK',
    });
    await http.get('/b');
    expect(s.requests).toHaveLength(2);
    expect(s.requests.every((r) => r.headers['idempotency-key'] === undefined)).toBe(true);
  });

  it('treats a key set in the headers as a key, under the configured header name', async () => {
    const s = await server({ idempotencyHeader: 'x-request-key' });
    s.script(fault.respond(503));
    const http = client({ ...fast, baseUrl: s.origin, idempotencyKeyHeader: 'X-Request-Key' });
    await http.request('/', { method: 'POST', body: 'x', headers: { 'X-Request-Key': 'k1' } });
    expect(s.requests.map((r) => r.headers['x-request-key'])).toEqual(['k1', 'k1']);
    expect(s.effects).toBe(1);
  });

  it('retries a PUT, sending the same body again', async () => {
    const s = await server();
    s.script(fault.respond(502), fault.respond(200, { body: { ok: 1 } }));
    expect(await client({ ...fast, baseUrl: s.origin }).put('/doc', { v: 3 })).toEqual({ ok: 1 });
    expect(s.requests.map((r) => r.body.toString())).toEqual(['{"v":3}', '{"v":3}']);
  });

  it('refuses to retry a one-shot stream body, with a clear error, after one request', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200));
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .request('/upload', { method: 'PUT', body: Readable.from([Buffer.from('data')]) })
      .catch((e: unknown) => e);
    expect(isStreamBodyNotReplayableError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_BODY_NOT_REPLAYABLE',
      lastStatus: 503,
      message: expect.stringContaining('pass body: () => stream to allow retries') as string,
    });
    expect(s.requests).toHaveLength(1);
  });

  it('refuses to retry a one-shot stream after a network error too, keeping the cause', async () => {
    const s = await server();
    s.script(fault.resetBeforeHeaders());
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .request('/upload', { method: 'PUT', body: Readable.from([Buffer.from('data')]) })
      .catch((e: unknown) => e);
    expect(isStreamBodyNotReplayableError(error)).toBe(true);
    expect(isNetworkError((error as Error).cause)).toBe(true);
    expect(s.requests).toHaveLength(1);
  });

  it('retries a stream body made by a factory, with a fresh stream each attempt', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200));
    let made = 0;
    const res = await client({ ...fast, baseUrl: s.origin }).request('/upload', {
      method: 'PUT',
      body: () => Readable.from([Buffer.from(`part-${++made}`)]),
    });
    expect(res.status).toBe(200);
    expect(s.requests.map((r) => r.body.toString())).toEqual(['part-1', 'part-2']);
  });

  it('returns a one-shot stream request that succeeded, with no error', async () => {
    const s = await server();
    const res = await client({ ...fast, baseUrl: s.origin }).request('/', {
      method: 'PUT',
      body: Readable.from([Buffer.from('once')]),
    });
    expect(res.status).toBe(200);
  });

  // The retry-safety table of the README, row by row, at the server's side.
  const table: Array<
    [method: string, key: boolean, before: boolean, after: boolean, status: boolean]
  > = [
    ['GET', false, true, true, true],
    ['OPTIONS', false, true, true, true],
    ['PUT', false, true, true, true],
    ['DELETE', false, true, true, true],
    ['POST', false, false, false, false],
    ['PATCH', false, false, false, false],
    ['POST', true, true, false, true],
    ['PATCH', true, true, false, true],
    ['PURGE', false, false, false, false],
  ];
  const cases: Array<[string, Fault, number]> = [
    ['a reset before the headers', fault.resetBeforeHeaders(), 2],
    ['a reset after the headers', fault.resetAfterHeaders(200, 100, 10), 3],
    ['a 503', fault.respond(503), 4],
  ];
  for (const [method, key, ...expected] of table) {
    for (const [what, failure, column] of cases) {
      const retried = expected[column - 2]!;
      it(`${retried ? 'retries' : 'does not retry'} a ${method} ${key ? 'with' : 'without'} a key after ${what}`, async () => {
        const s = await server();
        s.script(failure, fault.respond(200));
        const outcome = await client({ ...fast, baseUrl: s.origin })
          .request('/', { method, body: 'x', idempotencyKey: key ? 'k' : false })
          .then(
            (res) => res.status,
            (error: unknown) => error,
          );
        expect(s.requests).toHaveLength(retried ? 2 : 1);
        if (retried) expect(outcome).toBe(200);
        // Not retried, the call fails with what the one attempt met, never a success.
        else expect(outcome).not.toBe(200);
      });
    }
  }

  it('says after the headers that a failure was committed', async () => {
    const s = await server();
    s.script(fault.resetAfterHeaders(200, 100, 10));
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .request('/', { method: 'POST', body: 'x', idempotencyKey: 'k' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BULWARK_NETWORK', committed: true });
    expect((error as Error).message).toContain('failed after the response headers');
  });

  it('retries a GET whose body was cut short, and a GET that found the connection refused', async () => {
    const s = await server();
    s.script(fault.truncatedBody(200, 100, 10), fault.respond(200, { body: 'whole' }));
    const http = client({ ...fast, baseUrl: s.origin });
    expect((await http.request('/')).text()).toBe('whole');
    const closed = await server();
    const origin = closed.origin;
    await closed.close();
    const error: unknown = await http.request(`${origin}/`).catch((e: unknown) => e);
    expect(isRetriesExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 3, lastStatus: undefined });
    expect(JSON.stringify((error as Error).message)).toContain('ECONNREFUSED');
  });

  describe('answers that break HTTP/1.1: never retried, and committed', () => {
    const malformed: Array<[string, string]> = [
      ['two Content-Length values', 'content-length: 2\r\ncontent-length: 3\r\n\r\nhi'],
      [
        'Content-Length with Transfer-Encoding',
        'content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      ],
      [
        'Transfer-Encoding with Content-Length',
        'transfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      ],
      ['a header name that is not a token', 'bad header: x\r\ncontent-length: 0\r\n\r\n'],
      ['a bad chunk size after the headers', 'transfer-encoding: chunked\r\n\r\nzz\r\nhi'],
    ];
    it.each(malformed)('fails at once on %s, even a keyed POST', async (_what, rest) => {
      const s = await server();
      s.script(fault.raw(`HTTP/1.1 200 OK\r\n${rest}`), fault.raw(`HTTP/1.1 200 OK\r\n${rest}`));
      const http = client({ ...fast, baseUrl: s.origin });
      const error: unknown = await http.request('/').catch((e: unknown) => e);
      expect(isNetworkError(error)).toBe(true);
      expect(error).toMatchObject({ malformedResponse: true, committed: true });
      expect((error as Error).message).toContain('failed on a response that breaks HTTP/1.1');
      await expect(
        http.request('/', { method: 'POST', body: 'x', idempotencyKey: 'k' }),
      ).rejects.toMatchObject({ malformedResponse: true, committed: true });
      expect(s.requests).toHaveLength(2);
    });

    it('fails at once on a status line that is not HTTP', async () => {
      const s = await server();
      s.script(fault.raw('HELLO\r\n\r\n'));
      await expect(client({ ...fast, baseUrl: s.origin }).request('/')).rejects.toMatchObject({
        malformedResponse: true,
        committed: true,
      });
      expect(s.requests).toHaveLength(1);
    });

    const cutShort: Array<[string, Fault]> = [
      ['a reset before the headers', fault.resetBeforeHeaders()],
      ['a reset after the headers', fault.resetAfterHeaders(200, 100, 10)],
      ['a body cut short against its Content-Length', fault.truncatedBody(200, 100, 10)],
      [
        'a chunked body cut short by the connection closing',
        fault.raw(
          'HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel',
        ),
      ],
    ];
    it.each(cutShort)('still retries %s', async (_what, failure) => {
      const s = await server();
      s.script(failure, fault.respond(200, { body: 'whole' }));
      expect((await client({ ...fast, baseUrl: s.origin }).request('/')).text()).toBe('whole');
      expect(s.requests).toHaveLength(2);
    });
  });

  it('gives up with RetriesExhaustedError carrying the last status and the attempt count', async () => {
    const s = await server();
    s.script(fault.burst(3, 503));
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .get('/flaky')
      .catch((e: unknown) => e);
    expect(isRetriesExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_RETRIES_EXHAUSTED',
      attempts: 3,
      lastStatus: 503,
      message: `GET ${s.origin} gave up after 3 attempts; last: status 503`,
    });
    expect((error as Error).cause).toMatchObject({ code: 'BULWARK_HTTP_STATUS', status: 503 });
    expect(s.requests).toHaveLength(3);
  });

  it('retries only the configured statuses', async () => {
    const s = await server();
    s.script(fault.respond(500), fault.respond(418), fault.respond(200));
    const http = client({ ...fast, baseUrl: s.origin, retry: { ...fast.retry, statuses: [418] } });
    expect((await http.request('/')).status).toBe(500);
    expect((await http.request('/')).status).toBe(200);
    expect(s.requests).toHaveLength(3);
  });

  it('handles a status outside 100-599 as a 500: retried, then an error for the JSON helpers', async () => {
    const s = await server();
    s.script(fault.burst(3, 600), fault.respond(999, { body: 'odd' }));
    const error: unknown = await client({ ...fast, baseUrl: s.origin })
      .get('/odd')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BULWARK_RETRIES_EXHAUSTED', lastStatus: 600 });
    expect(s.requests).toHaveLength(3);
    const onlyListed = client({ ...fast, baseUrl: s.origin, retry: { statuses: [503] } });
    const res = await onlyListed.request('/odd');
    expect([res.status, res.ok, res.text()]).toEqual([999, false, 'odd']);
    expect(s.requests).toHaveLength(4);
  });

  it('fails a status below 100, which undici cannot take, with a NetworkError and no retry', async () => {
    const s = await server();
    s.script(fault.raw('HTTP/1.1 099 Low\r\ncontent-length: 0\r\n\r\n'));
    await expect(client({ ...fast, baseUrl: s.origin }).request('/')).rejects.toMatchObject({
      code: 'BULWARK_NETWORK',
    });
    expect(s.requests).toHaveLength(1);
  });

  it('never retries with retry: false', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.resetBeforeHeaders());
    const http = client({ baseUrl: s.origin, retry: false, breaker: false });
    expect((await http.request('/')).status).toBe(503);
    await expect(http.request('/')).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
    expect(s.requests).toHaveLength(2);
  });

  it('sends the attempt number and the remaining budget on every attempt', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.respond(503), fault.respond(200));
    await client({
      ...fast,
      clock,
      baseUrl: s.origin,
      timeoutMs: 800,
      deadlineMs: 5_000,
    }).get('/');
    expect(s.requests.map((r) => r.headers['x-bulwark-attempt'])).toEqual(['1', '2']);
    expect(s.requests.map((r) => r.headers['x-bulwark-timeout-ms'])).toEqual(['800', '800']);
  });

  it('writes the deadline rather than the attempt timeout when less is left', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    await client({ clock, baseUrl: s.origin, timeoutMs: 800, deadlineMs: 5_000 }).get('/', {
      timeoutMs: 300,
    });
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBe('300');
  });

  it('sends configured header names, or none', async () => {
    const s = await server();
    const http = client({
      baseUrl: s.origin,
      attemptHeader: 'X-Try',
      budgetHeader: 'X-Deadline-Ms',
    });
    await http.get('/');
    await client({ baseUrl: s.origin, attemptHeader: false, budgetHeader: false }).get('/');
    expect(s.requests[0]!.headers['x-try']).toBe('1');
    expect(s.requests[0]!.headers['x-deadline-ms']).toMatch(/^\d+$/);
    expect(s.requests[1]!.headers['x-bulwark-attempt']).toBeUndefined();
    expect(s.requests[1]!.headers['x-bulwark-timeout-ms']).toBeUndefined();
  });

  it('asks attemptHeaders for headers on every attempt (how correlation plugs in)', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200));
    const seen: Array<{ attempt: number; method: string; origin: string; path: string }> = [];
    await client({
      ...fast,
      baseUrl: s.origin,
      attemptHeaders: ({ attempt, method, origin, path, context }) => {
        seen.push({ attempt, method, origin, path });
        expect(context.attempt).toBe(attempt);
        return {
          traceparent: `00-${'1'.repeat(32)}-${String(attempt).repeat(16)}-01`,
          'X-Request-Id': 'r1',
        };
      },
    }).get('/users/1');
    expect(seen).toEqual([
      { attempt: 1, method: 'GET', origin: s.origin, path: '/users/1' },
      { attempt: 2, method: 'GET', origin: s.origin, path: '/users/1' },
    ]);
    expect(s.requests.map((r) => r.headers.traceparent)).toEqual([
      `00-${'1'.repeat(32)}-${'1'.repeat(16)}-01`,
      `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    ]);
    expect(s.requests[1]!.headers['x-request-id']).toBe('r1');
  });

  it('fails the call with the error attemptHeaders throws, without sending', async () => {
    const s = await server();
    const http = client({
      ...fast,
      baseUrl: s.origin,
      attemptHeaders: () => {
        throw new Error('no context');
      },
    });
    await expect(http.get('/')).rejects.toThrow('no context');
    expect(s.requests).toHaveLength(0);
  });

  it('stops a call when the caller aborts, ending the request on the wire', async () => {
    const s = await server();
    s.script(fault.hang());
    const controller = new AbortController();
    const http = client({ baseUrl: s.origin, timeoutMs: false, deadlineMs: false, breaker: false });
    const call = http.get('/', { signal: controller.signal });
    await s.waitForRequests(1);
    controller.abort(new Error('user left'));
    const error: unknown = await call.catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect((error as { reason: unknown }).reason).toEqual(new Error('user left'));
    await s.waitForIdle();
    expect(s.requests).toHaveLength(1);
  });

  it('does not send at all when the caller has aborted already', async () => {
    const s = await server();
    const controller = new AbortController();
    controller.abort();
    await expect(
      client({ baseUrl: s.origin }).get('/', { signal: controller.signal }),
    ).rejects.toMatchObject({
      code: 'BULWARK_CANCELLED',
    });
    expect(s.requests).toHaveLength(0);
  });
});
