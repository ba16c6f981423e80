import { request as httpRequest, Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { type FaultServer, fault, startFaultServer } from './fault-server.js';
import { rawRequest } from './loopback.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http; resolves with the reply, rejects with the socket's error. */
function send(
  origin: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${origin}${options.path ?? '/'}`,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) reject(new Error('response incomplete'));
          else
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

let server: FaultServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startFaultServer', () => {
  it('listens on 127.0.0.1 and answers 200 {"ok":true} by default', async () => {
    server = await startFaultServer();
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`);
    const reply = await send(server.origin);
    expect(reply).toMatchObject({ status: 200, body: '{"ok":true}' });
  });

  it('plays the script in order, one behaviour per request, then the fallback', async () => {
    server = await startFaultServer({ fallback: fault.respond(204) });
    server.script(fault.burst(2, 503), fault.respond(201, { body: { id: 7 } }));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(server.origin)).status);
    expect(statuses).toEqual([503, 503, 201, 204]);
  });

  it('sends JSON bodies with a content type, and raw bodies as given', async () => {
    server = await startFaultServer();
    server.script(fault.respond(200, { body: { a: 1 } }), fault.respond(200, { body: 'plain' }));
    const json = await send(server.origin);
    expect(json.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json.body)).toEqual({ a: 1 });
    expect((await send(server.origin)).body).toBe('plain');
  });

  it('chooses the fallback per request when it is a function', async () => {
    server = await startFaultServer({
      fallback: (request) => fault.respond(request.method === 'POST' ? 201 : 200),
    });
    expect((await send(server.origin, { method: 'POST', body: 'x' })).status).toBe(201);
    expect((await send(server.origin)).status).toBe(200);
  });

  it('records method, target, headers, body, arrival time and connection of each request', async () => {
    const clock = new FakeClock({ now: 500 });
    server = await startFaultServer({ clock });
    await send(server.origin, {
      method: 'PUT',
      path: '/items/1?x=2',
      headers: { 'x-test': 'yes' },
      body: 'payload',
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      method: 'PUT',
      url: '/items/1?x=2',
      at: 500,
      connection: 1,
      fault: { type: 'respond', status: 200 },
    });
    expect(server.requests[0]!.headers['x-test']).toBe('yes');
    expect(server.requests[0]!.body.toString()).toBe('payload');
  });

  it('sends 429 with Retry-After exactly as scripted, garbage included', async () => {
    server = await startFaultServer();
    server.script(fault.rateLimited('2'), fault.rateLimited('soon'));
    const first = await send(server.origin);
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('2');
    expect((await send(server.origin)).headers['retry-after']).toBe('soon');
  });

  it('waits the scripted latency on its clock before answering', async () => {
    const clock = new FakeClock();
    server = await startFaultServer({ clock });
    server.script(fault.latency(1000, fault.respond(200, { body: 'late' })));
    let done = false;
    const reply = send(server.origin).then((r) => {
      done = true;
      return r;
    });
    await server.waitForRequests(1);
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect((await reply).body).toBe('late');
  });

  it('resets the connection before any header', async () => {
    server = await startFaultServer();
    server.script(fault.resetBeforeHeaders());
    await expect(send(server.origin)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(server.requests).toHaveLength(1);
  });

  it('resets the connection after the headers and part of the body', async () => {
    server = await startFaultServer();
    server.script(fault.resetAfterHeaders(200, 1000, 10));
    await expect(send(server.origin)).rejects.toThrow();
    expect(server.requests[0]!.fault).toEqual({
      type: 'reset-after-headers',
      status: 200,
      declaredBytes: 1000,
      sentBytes: 10,
    });
  });

  it('closes cleanly in the middle of a truncated body', async () => {
    server = await startFaultServer();
    server.script(fault.truncatedBody(200, 100, 10));
    await expect(send(server.origin)).rejects.toThrow(/aborted|incomplete/);
  });

  it('writes raw bytes as they are, framing errors and all, then closes the connection', async () => {
    server = await startFaultServer();
    const broken = 'HTTP/1.1 600 Odd\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nhi';
    server.script(
      fault.raw(broken),
      fault.raw(new Uint8Array(Buffer.from('HTTP/1.1 099 Low\r\n\r\n'))),
    );
    const reply = await rawRequest(server.origin, 'GET /a HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(`${reply.head}\r\n\r\n${reply.body}`).toBe(broken);
    expect((await rawRequest(server.origin, 'GET /b HTTP/1.1\r\nhost: x\r\n\r\n')).head).toBe(
      'HTTP/1.1 099 Low',
    );
    expect(server.requests.map((r) => r.url)).toEqual(['/a', '/b']);
    await server.waitForIdle();
    expect(server.openConnections).toBe(0);
  });

  it('sends chunked bodies without a Content-Length when asked', async () => {
    server = await startFaultServer();
    server.script(fault.respond(200, { body: 'abc', chunked: true }));
    const reply = await send(server.origin);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reply.headers['content-length']).toBeUndefined();
    expect(reply.body).toBe('abc');
  });

  it('drips the body one chunk per interval on its clock', async () => {
    const clock = new FakeClock();
    server = await startFaultServer({ clock });
    server.script(fault.drip({ chunk: 'ab', chunks: 3, intervalMs: 100 }));
    const reply = send(server.origin);
    await server.waitForRequests(1);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    await clock.advance(100);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    expect((await reply).body).toBe('ababab');
    expect(clock.pendingTimers).toBe(0);
  });

  it('hangs until closed, and close() destroys the hanging connection and its timers', async () => {
    const clock = new FakeClock();
    server = await startFaultServer({ clock });
    server.script(fault.hang(), fault.latency(5000, fault.respond(200)));
    const hanging = send(server.origin);
    const delayed = send(server.origin);
    await server.waitForRequests(2);
    expect(server.openConnections).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    await server.close();
    await expect(hanging).rejects.toThrow();
    await expect(delayed).rejects.toThrow();
    expect(clock.pendingTimers).toBe(0);
    expect(server.openConnections).toBe(0);
  });

  it('counts one effect per idempotency key, and one per request without a key', async () => {
    server = await startFaultServer();
    server.script(fault.resetBeforeHeaders(), fault.respond(201));
    const headers = { 'idempotency-key': '"k1"' };
    await expect(send(server.origin, { method: 'POST', headers, body: 'a' })).rejects.toThrow();
    expect((await send(server.origin, { method: 'POST', headers, body: 'a' })).status).toBe(201);
    expect(server.requests).toHaveLength(2);
    expect(server.effects).toBe(1);
    await send(server.origin, { method: 'POST', body: 'b' });
    await send(server.origin, { method: 'POST', body: 'b' });
    expect(server.effects).toBe(3);
  });

  it('reads the idempotency key from the configured header', async () => {
    server = await startFaultServer({ idempotencyHeader: 'X-Request-Key' });
    const headers = { 'x-request-key': 'same' };
    await send(server.origin, { method: 'POST', headers });
    await send(server.origin, { method: 'POST', headers });
    expect(server.effects).toBe(1);
  });

  it('tracks open and total connections, and tells when it is idle', async () => {
    server = await startFaultServer();
    const agent = new Agent({ keepAlive: true });
    await send(server.origin, { agent });
    await send(server.origin, { agent });
    expect(server.totalConnections).toBe(1);
    expect(server.openConnections).toBe(1);
    const idle = server.waitForIdle();
    agent.destroy();
    await idle;
    expect(server.openConnections).toBe(0);
    await expect(server.waitForIdle()).resolves.toBeUndefined();
  });

  it('resolves waitForRequests at once for requests already received', async () => {
    server = await startFaultServer();
    await send(server.origin);
    await expect(server.waitForRequests(1)).resolves.toBeUndefined();
  });

  it('closes twice without complaint', async () => {
    server = await startFaultServer();
    await server.close();
    await expect(server.close()).resolves.toBeUndefined();
  });
});
