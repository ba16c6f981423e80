import { Readable } from 'node:stream';
import { isBulwarkError } from '@bulwark/core';
import { consecutive } from '@bulwark/circuit-breaker';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { isHttpStatusError } from './errors.js';
import { Events, client, server } from './test-helpers.js';

describe('createHttpClient: requests and responses', () => {
  it('sends a GET under baseUrl and returns status, headers and the body', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'hello', headers: { 'x-reply': 'yes' } }));
    const http = client({ baseUrl: `${s.origin}/api/` });
    const res = await http.request('/items?page=2');
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers['x-reply']).toBe('yes');
    expect(res.text()).toBe('hello');
    expect(Buffer.from(res.bytes()).toString()).toBe('hello');
    expect(res.attempts).toBe(1);
    expect(s.requests[0]).toMatchObject({ method: 'GET', url: '/api/items?page=2' });
  });

  it('accepts absolute URLs (strings and URL objects) and appends query parameters', async () => {
    const s = await server();
    const http = client();
    await http.request(`${s.origin}/a?x=1`, { query: { y: 2, z: undefined, w: true } });
    await http.request(new URL(`${s.origin}/b`), { query: { q: 'a b' } });
    await http.request(`${s.origin}?only=query`);
    expect(s.requests.map((r) => r.url)).toEqual(['/a?x=1&y=2&w=true', '/b?q=a+b', '/?only=query']);
  });

  it('returns a non-2xx response from request() without throwing', async () => {
    const s = await server();
    s.script(fault.respond(404, { body: 'nope' }));
    const res = await client().request(`${s.origin}/missing`);
    expect(res.status).toBe(404);
    expect(res.ok).toBe(false);
    expect(res.text()).toBe('nope');
  });

  it('parses JSON with get(), and sends JSON with post(), put() and patch()', async () => {
    const s = await server({
      fallback: (req) =>
        fault.respond(200, { body: { method: req.method, got: req.body.toString() } }),
    });
    const http = client({ baseUrl: s.origin });
    expect(await http.get('/x')).toEqual({ method: 'GET', got: '' });
    expect(await http.post('/x', { a: 1 })).toEqual({ method: 'POST', got: '{"a":1}' });
    expect(await http.put('/x', [1, 2])).toEqual({ method: 'PUT', got: '[1,2]' });
    expect(await http.patch('/x', 'text')).toEqual({ method: 'PATCH', got: '"text"' });
    expect(await http.delete('/x')).toEqual({ method: 'DELETE', got: '' });
    expect(s.requests[0]!.headers.accept).toBe('application/json');
    expect(s.requests[1]!.headers['content-type']).toBe('application/json');
  });

  it('gives undefined for an empty JSON body (204)', async () => {
    const s = await server();
    s.script(fault.respond(204));
    expect(await client({ baseUrl: s.origin }).delete('/x')).toBeUndefined();
  });

  it('throws HttpStatusError from the JSON helpers for a status outside 2xx, with the response', async () => {
    const s = await server();
    s.script(fault.respond(422, { body: { error: 'bad' } }));
    const error: unknown = await client({ baseUrl: s.origin })
      .post('/x', {})
      .catch((e: unknown) => e);
    expect(isHttpStatusError(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_HTTP_STATUS',
      status: 422,
      method: 'POST',
      origin: s.origin,
      message: `POST ${s.origin} answered 422 Unprocessable Entity`,
    });
    expect((error as { response: { json(): unknown } }).response.json()).toEqual({ error: 'bad' });
  });

  it('sends string, Buffer, Uint8Array, stream, async iterable and factory bodies', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin });
    async function* parts(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('it');
      yield Buffer.from('er');
    }
    await http.request('/', { method: 'PUT', body: 'text' });
    await http.request('/', { method: 'PUT', body: Buffer.from('buffer') });
    await http.request('/', { method: 'PUT', body: new TextEncoder().encode('bytes') });
    await http.request('/', { method: 'PUT', body: Readable.from([Buffer.from('stream')]) });
    await http.request('/', { method: 'PUT', body: parts() });
    await http.request('/', { method: 'PUT', body: () => 'factory' });
    expect(s.requests.map((r) => r.body.toString())).toEqual([
      'text',
      'buffer',
      'bytes',
      'stream',
      'iter',
      'factory',
    ]);
  });

  it('merges the client headers, the request headers (any case) and the JSON content type', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin, headers: { 'X-Client': 'c', authorization: 'a' } });
    await http.request('/', {
      method: 'POST',
      json: { a: 1 },
      headers: { Authorization: 'override', 'Content-Type': 'application/merge-patch+json' },
    });
    const headers = s.requests[0]!.headers;
    expect(headers['x-client']).toBe('c');
    expect(headers.authorization).toBe('override');
    expect(headers['content-type']).toBe('application/merge-patch+json');
  });

  it('reads a response as a stream with stream()', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'streamed body', chunked: true }));
    const res = await client({ baseUrl: s.origin }).stream('/');
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(await res.text()).toBe('streamed body');
  });

  it('parses a streamed JSON body, and reads it as bytes', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: { a: 1 } }), fault.respond(200, { body: 'raw' }));
    const http = client({ baseUrl: s.origin });
    expect(await (await http.stream('/')).json()).toEqual({ a: 1 });
    expect((await (await http.stream('/')).bytes()).toString()).toBe('raw');
  });

  it('uses a dispatcher it is given, and leaves it open on close()', async () => {
    const s = await server();
    const agent = new Agent();
    const http = client({ dispatcher: agent, baseUrl: s.origin });
    expect((await http.request('/')).status).toBe(200);
    await http.close();
    expect(agent.closed).toBe(false);
    await agent.close();
  });

  it('close() waits for calls in flight, then closes its sockets and refuses new calls', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.latency(100, fault.respond(200, { body: 'late' })));
    const http = client({ baseUrl: s.origin, clock });
    const inFlight = http.request('/');
    await s.waitForRequests(1);
    const closing = http.close();
    expect(http.closed).toBe(true);
    await clock.advance(100);
    expect((await inFlight).text()).toBe('late');
    await closing;
    await s.waitForIdle();
    await expect(http.request('/')).rejects.toThrow('the HTTP client is closed');
  });

  it('close() waits for a call sleeping in its retry backoff, which then runs its retry', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.respond(503), fault.respond(200, { body: 'second try' }));
    const events = new Events();
    const http = client({
      baseUrl: s.origin,
      clock,
      retry: { maxAttempts: 2, backoff: constantBackoff(1_000) },
      listener: events.listener,
    });
    const call = http.request('/');
    await events.next('retry-scheduled');
    let closed = false;
    const closing = http.close().then(() => (closed = true));
    await clock.advance(999);
    expect(closed).toBe(false);
    await clock.advance(1);
    expect((await call).text()).toBe('second try');
    await closing;
    expect(s.requests).toHaveLength(2);
    await expect(http.request('/')).rejects.toThrow('the HTTP client is closed');
  });

  it('close() waits for a call queued in the bulkhead', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(
      fault.latency(100, fault.respond(200, { body: 'first' })),
      fault.respond(200, { body: 'queued' }),
    );
    const http = client({ baseUrl: s.origin, clock, bulkhead: { limit: 1, queue: 1 } });
    const first = http.request('/');
    const queued = http.request('/');
    await s.waitForRequests(1);
    const closing = http.close();
    await clock.advance(100);
    expect((await first).text()).toBe('first');
    expect((await queued).text()).toBe('queued');
    await closing;
    expect(s.requests).toHaveLength(2);
  });

  it('close() is the same promise every time', () => {
    const http = client();
    expect(http.close()).toBe(http.close());
  });

  it('destroy() ends calls in flight at once, neither retrying them nor blaming the origin', async () => {
    const s = await server();
    s.script(fault.hang());
    const http = client({
      baseUrl: s.origin,
      retry: { backoff: constantBackoff(0) },
      breaker: { strategy: consecutive({ threshold: 1 }) },
    });
    const inFlight = http.request('/');
    await s.waitForRequests(1);
    await http.destroy();
    await expect(inFlight).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
    await s.waitForIdle();
    expect(s.requests).toHaveLength(1);
    expect(http.breakers?.view(s.origin)?.state).toBe('closed');
  });

  it('reports each call to the listener, named by method and origin, never the path', async () => {
    const s = await server();
    const events = new Events();
    const http = client({ baseUrl: s.origin, listener: events.listener });
    await http.get('/users/12345');
    const calls = events.of('call');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ outcome: 'success', operation: `GET ${s.origin}` });
    const [attempt] = events.of('attempt');
    expect(attempt).toMatchObject({ attempt: 1, outcome: 'success' });
    // Only the attempt's description of its request, for traces, holds the URL.
    expect(attempt!.http).toEqual({
      method: 'GET',
      url: `${s.origin}/users/12345`,
      statusCode: 200,
    });
    const withoutRequests = events.all.map((e) => (e.type === 'attempt' ? { ...e, http: 0 } : e));
    expect(JSON.stringify(withoutRequests)).not.toContain('12345');
  });

  it('names the operation with the client or request option instead', async () => {
    const s = await server();
    const events = new Events();
    const http = client({ baseUrl: s.origin, listener: events.listener, operation: 'users' });
    await http.get('/');
    await http.get('/', { operation: 'get-user' });
    expect(events.of('call').map((e) => e.operation)).toEqual(['users', 'get-user']);
  });

  it('names its policies in events with the name option', async () => {
    const s = await server();
    const events = new Events();
    await client({ baseUrl: s.origin, listener: events.listener, name: 'users-api' }).get('/');
    expect(events.of('attempt')[0]!.name).toBe('users-api');
  });
});

describe('createHttpClient: attempts reported with retries off', () => {
  it('reports the one attempt of each call, a retried status or an error as a failure', async () => {
    const s = await server();
    s.script(fault.respond(200), fault.respond(503), fault.resetBeforeHeaders());
    const events = new Events();
    const http = client({
      baseUrl: s.origin,
      retry: false,
      name: 'api',
      listener: events.listener,
    });
    expect((await http.request('/a')).status).toBe(200);
    expect((await http.request('/b')).status).toBe(503);
    await expect(http.request('/c')).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
    const attempts = events.of('attempt');
    expect(
      attempts.map(({ policy, name, operation, attempt, outcome }) => ({
        policy,
        name,
        operation,
        attempt,
        outcome,
      })),
    ).toEqual(
      ['success', 'failure', 'failure'].map((outcome) => ({
        policy: 'http-client',
        name: 'api',
        operation: `GET ${s.origin}`,
        attempt: 1,
        outcome,
      })),
    );
    expect(attempts[1]!.error).toMatchObject({ status: 503 });
    expect(attempts[2]!.error).toMatchObject({ code: 'BULWARK_NETWORK' });
    expect(attempts.every((a) => a.durationMs >= 0)).toBe(true);
  });
});
