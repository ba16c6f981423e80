/**
 * The interceptor end to end: a real origin on loopback, a real `@bulwark/http-client` whose
 * dispatcher is an undici Agent composed with `chaosHttp()`, and the client's own behaviour
 * (retries, Retry-After, classification) asserted, at the origin's side too.
 */
import type { PolicyEvent } from '@bulwark/core';
import { type HttpClient, type HttpClientOptions, createHttpClient } from '@bulwark/http-client';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, type FaultServer, fault, startFaultServer } from '@bulwark/testing';
import { Agent, errors } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChaosEvent } from '../events.js';
import { type ChaosHttpOptions, chaosHttp } from './chaos-http.js';

const BODY = 'a body long enough to be cut short, then some more of it';

const servers: FaultServer[] = [];
const clients: HttpClient[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function origin(): Promise<FaultServer> {
  const server = await startFaultServer({ fallback: fault.respond(200, { body: BODY }) });
  servers.push(server);
  return server;
}

/** A client whose requests go through the chaos interceptor; its events land in `events`. */
function chaosClient(
  server: FaultServer,
  chaos: ChaosHttpOptions,
  options: HttpClientOptions = {},
): { http: HttpClient; events: ChaosEvent[] } {
  const events: ChaosEvent[] = [];
  const agent = new Agent();
  agents.push(agent);
  const dispatcher = agent.compose(chaosHttp({ ...chaos, listener: (e) => events.push(e) }));
  const http = createHttpClient({
    baseUrl: server.origin,
    retry: { backoff: constantBackoff(0), maxAttempts: 3 },
    breaker: false,
    ...options,
    dispatcher,
  });
  clients.push(http);
  return { http, events };
}

function plainClient(server: FaultServer): HttpClient {
  const http = createHttpClient({ baseUrl: server.origin, retry: false, breaker: false });
  clients.push(http);
  return http;
}

/** Injects into the first `count` requests only, whatever the rate says for the rest. */
function first(count: number): () => boolean {
  let seen = 0;
  return () => seen++ < count;
}

/** Lets I/O and promise chains run until `condition` holds (a bounded number of turns). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never became true');
}

/** What a client's classification looks at in a network failure. */
function failureShape(error: unknown) {
  const e = error as { code?: string; committed?: boolean; cause?: Error & { code?: string } };
  return {
    code: e.code,
    committed: e.committed,
    causeName: e.cause?.name,
    causeCode: e.cause?.code,
    causeIsSocketError: e.cause instanceof errors.SocketError,
  };
}

describe('chaosHttp with @bulwark/http-client', () => {
  it('answers injected 503s without the origin, and the client retries them', async () => {
    const server = await origin();
    const { http, events } = chaosClient(server, {
      statuses: [{ rate: 1, status: 503 }],
      enabled: first(2),
    });
    const res = await http.request('/users/42');
    expect(res.status).toBe(200);
    expect(res.text()).toBe(BODY);
    expect(res.attempts).toBe(3);
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => e.kind)).toEqual(['http-status', 'http-status']);
  });

  it('gives up on injected 503s as on real ones, with the chaos header on the last response', async () => {
    const server = await origin();
    const { http } = chaosClient(server, { statuses: [{ rate: 1, status: 503, body: 'down' }] });
    const error: unknown = await http.get('/').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'BULWARK_RETRIES_EXHAUSTED',
      attempts: 3,
      lastStatus: 503,
    });
    const last = (error as { cause: { response: { headers: Record<string, string> } } }).cause;
    expect(last.response.headers['x-bulwark-chaos']).toBe('http-status');
    expect(server.requests).toHaveLength(0);
  });

  it('honours the Retry-After of an injected 429 on the client’s clock', async () => {
    const clock = new FakeClock();
    const server = await origin();
    const retries: PolicyEvent[] = [];
    const { http } = chaosClient(
      server,
      { statuses: [{ rate: 1, status: 429, retryAfter: 2 }], enabled: first(1) },
      {
        clock,
        retry: { backoff: constantBackoff(5_000) },
        listener: (e) => {
          if (e.type === 'retry-scheduled') retries.push(e);
        },
      },
    );
    const call = http.request('/');
    await until(() => retries.length === 1);
    expect(retries[0]).toMatchObject({ delayMs: 2_000, delaySource: 'server-hint' });
    await clock.advance(1_999);
    expect(server.requests).toHaveLength(0);
    await clock.advance(1);
    await server.waitForRequests(1);
    expect((await call).status).toBe(200);
  });

  it('fails a reset before the headers as a real one fails: retried for a GET, never sent for a POST without a key', async () => {
    const server = await origin();
    const { http, events } = chaosClient(server, {
      resetBeforeHeaders: { rate: 1 },
      enabled: first(1),
    });
    expect((await http.request('/')).status).toBe(200);
    expect(server.requests).toHaveLength(1);

    const once = chaosClient(server, { resetBeforeHeaders: { rate: 1 } }, { retry: false });
    const injected: unknown = await once.http
      .request('/', { method: 'POST', body: 'x' })
      .catch((e: unknown) => e);
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => e.kind)).toEqual(['reset-before-headers']);

    server.script(fault.resetBeforeHeaders());
    const real: unknown = await plainClient(server)
      .request('/', { method: 'POST', body: 'x' })
      .catch((e: unknown) => e);
    expect(failureShape(injected)).toEqual(failureShape(real));
    expect(failureShape(injected)).toMatchObject({
      code: 'BULWARK_NETWORK',
      committed: false,
      causeCode: 'ECONNRESET',
    });
    expect((injected as Error).message).toContain('injected by chaos');
  });

  it('resets after the headers: committed, so a keyed POST is not retried while a GET is', async () => {
    const server = await origin();
    const { http } = chaosClient(server, {
      resetAfterHeaders: { rate: 1, afterBytes: 8 },
      enabled: first(1),
    });
    const res = await http.request('/');
    expect(res.text()).toBe(BODY);
    expect(server.requests).toHaveLength(2);

    const keyed = chaosClient(server, { resetAfterHeaders: { rate: 1, afterBytes: 8 } });
    const error: unknown = await keyed.http
      .request('/', { method: 'POST', body: 'x', idempotencyKey: 'order-7' })
      .catch((e: unknown) => e);
    expect(failureShape(error)).toMatchObject({
      code: 'BULWARK_NETWORK',
      committed: true,
      causeCode: 'ECONNRESET',
    });
    expect(server.requests).toHaveLength(3);
  });

  it('fails a truncated body exactly as a body the origin cut short does, and a GET is retried', async () => {
    const server = await origin();
    server.script(fault.truncatedBody(200, 100, 10));
    const real: unknown = await plainClient(server)
      .request('/')
      .catch((e: unknown) => e);

    const once = chaosClient(
      server,
      { truncatedBody: { rate: 1, afterBytes: 10 } },
      { retry: false },
    );
    const injected: unknown = await once.http.request('/').catch((e: unknown) => e);
    expect(failureShape(injected)).toEqual(failureShape(real));
    expect(failureShape(injected)).toMatchObject({
      code: 'BULWARK_NETWORK',
      committed: true,
      causeCode: 'UND_ERR_SOCKET',
      causeIsSocketError: true,
    });

    const streamed = await once.http.stream('/');
    await expect(streamed.text()).rejects.toMatchObject({
      code: 'BULWARK_NETWORK',
      committed: true,
    });

    const retried = chaosClient(server, { truncatedBody: { rate: 1 }, enabled: first(1) });
    const before = server.requests.length;
    expect((await retried.http.request('/')).text()).toBe(BODY);
    expect(server.requests.length - before).toBe(2);
  });

  it('drips a slow body chunk by chunk on the clock, and hands it over whole', async () => {
    const clock = new FakeClock();
    const server = await origin();
    const chunks = Math.ceil(BODY.length / 16);
    const { http } = chaosClient(
      server,
      { clock, slowBody: { rate: 1, chunkDelayMs: 100, chunkBytes: 16 } },
      { clock, timeoutMs: false, deadlineMs: false },
    );
    let done = false;
    const call = http.request('/').then((res) => {
      done = true;
      return res;
    });
    await until(() => clock.nextTimerAt === 100);
    for (let i = 1; i < chunks; i++) {
      await clock.advance(100);
      await until(() => clock.nextTimerAt === (i + 1) * 100 || done);
      expect(done).toBe(false);
    }
    await clock.advance(100);
    expect((await call).text()).toBe(BODY);
    expect(clock.now()).toBe(chunks * 100);
  });

  it('lets the attempt timeout end a slow body, leaving no timer, and the retry gets a normal one', async () => {
    const clock = new FakeClock();
    const server = await origin();
    const { http, events } = chaosClient(
      server,
      { clock, slowBody: { rate: 1, chunkDelayMs: 400, chunkBytes: 16 }, enabled: first(1) },
      { clock, timeoutMs: 1_000, deadlineMs: false },
    );
    const call = http.request('/');
    await until(() => clock.nextTimerAt === 400);
    await clock.advance(1_000);
    const res = await call;
    expect(res.text()).toBe(BODY);
    expect(res.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(events.map((e) => e.kind)).toEqual(['slow-body']);
    // The slow body's timer went with the attempt; only the client's unref'd timers may stay.
    expect(clock.referencedTimers).toBe(0);
  });

  it('sends the origin only the requests nothing was injected into before the network', async () => {
    const server = await origin();
    const { http, events } = chaosClient(
      server,
      { seed: 2024, statuses: [{ rate: 0.25, status: 503 }], resetBeforeHeaders: { rate: 0.1 } },
      { retry: false },
    );
    const calls = 40;
    const statuses: Array<number | string> = [];
    for (let i = 0; i < calls; i++) {
      statuses.push(
        await http.request(`/items/${i}`).then(
          (res) => res.status,
          (error: { code: string }) => error.code,
        ),
      );
    }
    const before = events.filter(
      (e) => e.kind === 'http-status' || e.kind === 'reset-before-headers',
    );
    expect(before.length).toBeGreaterThan(0);
    expect(server.requests).toHaveLength(calls - before.length);
    expect(statuses.filter((s) => s === 503)).toHaveLength(
      events.filter((e) => e.kind === 'http-status').length,
    );
    expect(statuses.filter((s) => s === 'BULWARK_NETWORK')).toHaveLength(
      events.filter((e) => e.kind === 'reset-before-headers').length,
    );
    expect(new Set(events.map((e) => e.operation))).toEqual(new Set([`GET ${server.origin}`]));
  });
});
