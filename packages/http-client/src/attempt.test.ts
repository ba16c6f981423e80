import { getEventListeners, once } from 'node:events';
import { PassThrough } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { isCancelledError } from '@bulwark/core';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { isBodyTooLargeError, isNetworkError } from './errors.js';
import type { HttpStreamResponse } from './response.js';
import { client, server, until } from './test-helpers.js';

const MB = 1024 * 1024;

describe('response bodies and their size limit', () => {
  it('fails a 10 MB body with a 1 MB limit cleanly, and the client keeps working', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: Buffer.alloc(10 * MB, 'x') }));
    const http = client({ baseUrl: s.origin, maxBodyBytes: MB });
    const error: unknown = await http.request('/big').catch((e: unknown) => e);
    expect(isBodyTooLargeError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_BODY_TOO_LARGE',
      limitBytes: MB,
      declaredBytes: 10 * MB,
      message: `the response body of GET ${s.origin} exceeds the limit of ${MB} bytes (Content-Length: ${10 * MB} bytes)`,
    });
    // The oversized answer's socket is dropped, not left half-read; the next call gets a fresh one.
    await until(() => s.openConnections === 0);
    expect((await http.request('/small')).text()).toBe('{"ok":true}');
    expect(s.requests).toHaveLength(2);
  });

  it('keeps connections alive: twenty sequential calls reuse the same sockets', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin });
    for (let i = 0; i < 10; i++) expect((await http.request(`/item/${i}`)).status).toBe(200);
    // A streamed body read to its end gives its socket back too.
    for (let i = 0; i < 10; i++) {
      const streamed = await http.stream(`/stream/${i}`);
      for await (const chunk of streamed.body) expect(chunk).toBeDefined();
    }
    expect(s.requests).toHaveLength(20);
    // undici, raw or under Bulwark, alternates between two sockets for back-to-back calls.
    expect(s.totalConnections).toBeLessThanOrEqual(2);
    expect(s.openConnections).toBe(s.totalConnections);
  });

  it('counts the bytes of a body without Content-Length, and stops past the limit', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: Buffer.alloc(3 * MB, 'x'), chunked: true }));
    const http = client({ baseUrl: s.origin, maxBodyBytes: MB });
    const error: unknown = await http.request('/').catch((e: unknown) => e);
    expect(isBodyTooLargeError(error)).toBe(true);
    expect(error).toMatchObject({ declaredBytes: undefined, limitBytes: MB });
    expect((await http.request('/')).status).toBe(200);
  });

  it('accepts a body of exactly the limit, and takes a per-request limit', async () => {
    const s = await server();
    s.script(
      fault.respond(200, { body: 'x'.repeat(100) }),
      fault.respond(200, { body: 'x'.repeat(100) }),
    );
    const http = client({ baseUrl: s.origin, maxBodyBytes: 100 });
    expect((await http.request('/')).body.length).toBe(100);
    await expect(http.request('/', { maxBodyBytes: 99 })).rejects.toMatchObject({
      code: 'BULWARK_BODY_TOO_LARGE',
      limitBytes: 99,
    });
  });

  it('does not retry a body over the limit', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'x'.repeat(100) }));
    const http = client({
      baseUrl: s.origin,
      maxBodyBytes: 10,
      retry: { backoff: constantBackoff(0) },
    });
    await expect(http.get('/')).rejects.toMatchObject({ code: 'BULWARK_BODY_TOO_LARGE' });
    expect(s.requests).toHaveLength(1);
  });

  it('ignores the Content-Length of an answer to HEAD, which has no body', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'x'.repeat(1000) }));
    const res = await client({ baseUrl: s.origin, maxBodyBytes: 10 }).request('/', {
      method: 'HEAD',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('1000');
  });

  it.each([304, 204])(
    'takes a %d with a Content-Length as whole at its headers, without failing or retrying',
    async (status) => {
      const s = await server();
      const answer = `HTTP/1.1 ${status} X\r\ncontent-length: 5\r\netag: "v1"\r\n\r\n`;
      s.script(fault.raw(answer), fault.raw(answer));
      const http = client({ baseUrl: s.origin, retry: { backoff: constantBackoff(0) } });
      const res = await http.request('/');
      expect([res.status, res.body.length, res.headers['content-length']]).toEqual([
        status,
        0,
        '5',
      ]);
      const streamed = await http.stream('/');
      expect([streamed.status, await streamed.text()]).toEqual([status, '']);
      expect(s.requests).toHaveLength(2);
    },
  );

  it('reads nothing for HEAD', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'ignored' }));
    const res = await client({ baseUrl: s.origin }).request('/', { method: 'head' });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.json()).toBeUndefined();
    expect(s.requests[0]!.method).toBe('HEAD');
  });
});

describe('streamed responses', () => {
  it('limits a streamed body too: the stream fails with BodyTooLargeError', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: Buffer.alloc(2 * MB, 'x'), chunked: true }));
    const res = await client({ baseUrl: s.origin, maxBodyBytes: MB }).stream('/');
    expect(res.status).toBe(200);
    const error: unknown = await res.bytes().catch((e: unknown) => e);
    expect(isBodyTooLargeError(error)).toBe(true);
  });

  it('fails a streamed response at once when Content-Length is over the limit', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: Buffer.alloc(2 * MB, 'x') }));
    await expect(client({ baseUrl: s.origin, maxBodyBytes: MB }).stream('/')).rejects.toMatchObject(
      {
        code: 'BULWARK_BODY_TOO_LARGE',
        declaredBytes: 2 * MB,
      },
    );
  });

  it('drops the connection when the caller destroys the stream before its end', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.drip({ chunks: 100, intervalMs: 10 }));
    const res = await client({ clock, baseUrl: s.origin }).stream('/');
    expect(s.openConnections).toBe(1);
    res.body.destroy();
    await s.waitForIdle();
    // The socket was not returned to the pool mid-body: the server saw it close.
    expect(s.openConnections).toBe(0);
  });

  it('reads and retries an answer with a retried status, then streams the good one', async () => {
    const s = await server();
    s.script(
      fault.respond(503, { body: 'busy' }),
      fault.respond(200, { body: 'good', chunked: true }),
    );
    const res = await client({
      baseUrl: s.origin,
      retry: { backoff: constantBackoff(0) },
    }).stream('/');
    expect(res.attempts).toBe(2);
    expect(await res.text()).toBe('good');
  });

  it("keeps following the caller's signal while the body streams, and lets go at its end", async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.drip({ chunks: 100, intervalMs: 10 }), fault.respond(200, { body: 'done' }));
    const http = client({ clock, baseUrl: s.origin });
    const controller = new AbortController();
    const res = await http.stream('/', { signal: controller.signal });
    const reading = res.text().catch((e: unknown) => e);
    controller.abort();
    expect(isCancelledError(await reading)).toBe(true);
    await until(() => s.openConnections === 0);

    const other = new AbortController();
    const done = await http.stream('/', { signal: other.signal });
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
    expect(await done.text()).toBe('done');
    await until(() => done.body.closed);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('fails the stream when the connection breaks mid-body', async () => {
    const s = await server();
    s.script(fault.truncatedBody(200, 1000, 10));
    const res = await client({ baseUrl: s.origin }).stream('/');
    await expect(res.text()).rejects.toMatchObject({ code: 'BULWARK_NETWORK', committed: true });
  });
});

describe('a streamed body that fails before the caller reads it', () => {
  /** Uncaught exceptions while `body` runs: a body error nobody listened for would be one. */
  async function uncaughtDuring(body: () => Promise<void>): Promise<unknown[]> {
    const uncaught: unknown[] = [];
    const record = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      await body();
    } finally {
      process.off('uncaughtException', record);
    }
    return uncaught;
  }

  /** A stream() whose connection is reset mid-body, returned once the body has failed unread. */
  async function failedUnread(): Promise<HttpStreamResponse> {
    const s = await server();
    s.script(fault.resetAfterHeaders(200, 1024, 16));
    const res = await client({ baseUrl: s.origin, retry: false }).stream('/');
    await until(() => res.body.closed);
    // One more turn of the event loop: the stream reports its error on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return res;
  }

  it('raises no uncaught exception, and fails a later read with the NetworkError', async () => {
    let res: HttpStreamResponse | undefined;
    const uncaught = await uncaughtDuring(async () => {
      res = await failedUnread();
    });
    expect(uncaught).toEqual([]);
    await expect(res!.text()).rejects.toMatchObject({ code: 'BULWARK_NETWORK', committed: true });
  });

  it("hands the kept error to an 'error' listener attached afterwards", async () => {
    const uncaught = await uncaughtDuring(async () => {
      const res = await failedUnread();
      const [error] = (await once(res.body, 'error')) as [unknown];
      expect(isNetworkError(error)).toBe(true);
    });
    expect(uncaught).toEqual([]);
  });

  it('fails stream.pipeline and finished() on the kept error', async () => {
    const uncaught = await uncaughtDuring(async () => {
      const res = await failedUnread();
      await expect(finished(res.body)).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
      const sink = new PassThrough();
      await expect(pipeline(res.body, sink)).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
    });
    expect(uncaught).toEqual([]);
  });
});

describe('aborting attempts', () => {
  it('never sends a request aborted while it waited in the pool for a socket', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.hang());
    const http = client({
      clock,
      baseUrl: s.origin,
      connections: 1,
      timeoutMs: 100,
      retry: false,
      bulkhead: false,
    });
    const first = http.request('/first').catch((e: unknown) => e);
    await s.waitForRequests(1);
    const controller = new AbortController();
    const queued = http.request('/queued', { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(isCancelledError(await queued)).toBe(true);
    await clock.advance(100);
    expect(await first).toMatchObject({ code: 'BULWARK_TIMEOUT' });
    expect((await http.request('/third')).status).toBe(200);
    expect(s.requests.map((r) => r.url)).toEqual(['/first', '/third']);
  });
});
