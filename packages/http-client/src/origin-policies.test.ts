import { isBrokenCircuitError, isBulkheadRejectedError } from '@bulwark/core';
import { consecutive } from '@bulwark/circuit-breaker';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { isRetriesExhaustedError } from './errors.js';
import { Events, client, server } from './test-helpers.js';

describe('per-origin circuit breakers', () => {
  it('opens the breaker of a dead origin and fails fast without touching the network, while another origin keeps working', async () => {
    const clock = new FakeClock();
    const dead = await server({ clock, fallback: fault.resetBeforeHeaders() });
    const alive = await server({ clock });
    const events = new Events();
    const http = client({
      clock,
      retry: false,
      breaker: { strategy: consecutive({ threshold: 3 }), breakDurationMs: 10_000 },
      listener: events.listener,
    });
    for (let i = 0; i < 3; i++) {
      await expect(http.get(`${dead.origin}/x`)).rejects.toMatchObject({ code: 'BULWARK_NETWORK' });
    }
    const connectionsBefore = dead.totalConnections;

    const error: unknown = await http.get(`${dead.origin}/x`).catch((e: unknown) => e);
    expect(isBrokenCircuitError(error)).toBe(true);
    expect(error).toMatchObject({ key: dead.origin, retryAfterMs: 10_000 });
    expect((error as Error).message).toBe(`circuit ${dead.origin} is open; next trial in 10000 ms`);
    expect(dead.requests).toHaveLength(3);
    expect(dead.totalConnections).toBe(connectionsBefore);

    expect(await http.get(`${alive.origin}/y`)).toEqual({ ok: true });
    expect(http.breakers?.view(dead.origin)?.state).toBe('open');
    expect(http.breakers?.view(alive.origin)?.state).toBe('closed');
    expect(events.of('breaker-state')[0]).toMatchObject({
      key: dead.origin,
      from: 'closed',
      to: 'open',
      operation: `GET ${dead.origin}`,
    });
  });

  it('lets a trial through after the break, and closes when it succeeds', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.burst(2, 500));
    const http = client({
      clock,
      baseUrl: s.origin,
      retry: false,
      breaker: { strategy: consecutive({ threshold: 2 }), breakDurationMs: 1_000 },
    });
    await http.request('/');
    await http.request('/');
    await expect(http.request('/')).rejects.toMatchObject({ code: 'BULWARK_BROKEN_CIRCUIT' });
    await clock.advance(1_000);
    expect((await http.request('/')).status).toBe(200);
    expect(http.breakers?.view(s.origin)?.state).toBe('closed');
  });

  it('counts 5xx answers and timeouts, not 4xx', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.burst(5, 404), fault.respond(503), fault.hang());
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: 100,
      retry: false,
      breaker: { strategy: consecutive({ threshold: 2 }) },
    });
    for (let i = 0; i < 5; i++) expect((await http.request('/')).status).toBe(404);
    expect(http.breakers?.view(s.origin)?.state).toBe('closed');
    expect((await http.request('/')).status).toBe(503);
    const timedOut = http.request('/').catch((e: unknown) => e);
    await s.waitForRequests(7);
    await clock.advance(100);
    expect(await timedOut).toMatchObject({ code: 'BULWARK_TIMEOUT' });
    expect(http.breakers?.view(s.origin)?.state).toBe('open');
  });

  it('does not count a body over the limit or a caller abort against the origin', async () => {
    const s = await server();
    s.script(fault.respond(200, { body: 'x'.repeat(100) }), fault.hang());
    const http = client({
      baseUrl: s.origin,
      maxBodyBytes: 10,
      retry: false,
      breaker: { strategy: consecutive({ threshold: 1 }) },
    });
    await expect(http.request('/')).rejects.toMatchObject({ code: 'BULWARK_BODY_TOO_LARGE' });
    const controller = new AbortController();
    const call = http.request('/', { signal: controller.signal });
    await s.waitForRequests(2);
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'BULWARK_CANCELLED' });
    expect(http.breakers?.view(s.origin)?.state).toBe('closed');
  });

  it('treats http://Host:80 and http://host as one origin', async () => {
    const s = await server();
    const http = client({ retry: false });
    await http.get(`http://LOCALHOST:${s.port}/a`).catch(() => undefined);
    await http.get(`http://localhost:${s.port}/b`).catch(() => undefined);
    expect(http.breakers?.view(`http://localhost:${s.port}`)).toBeDefined();
    expect(http.breakers?.size).toBe(1);
  });

  it('works without breakers', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin, breaker: false });
    expect(http.breakers).toBeUndefined();
    expect(await http.get('/')).toEqual({ ok: true });
  });
});

describe('per-origin retry budgets', () => {
  it('stops retrying an origin whose budget is spent, while another origin still retries', async () => {
    const clock = new FakeClock();
    const a = await server({ clock });
    const b = await server({ clock });
    a.script(fault.burst(4, 503));
    b.script(fault.respond(503));
    const http = client({
      clock,
      breaker: false,
      retry: {
        backoff: constantBackoff(0),
        budget: { ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 },
      },
    });
    // One retry per window: the first call gets it, the second none.
    await expect(http.get(`${a.origin}/`)).rejects.toMatchObject({ attempts: 2 });
    const error: unknown = await http.get(`${a.origin}/`).catch((e: unknown) => e);
    expect(isRetriesExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect(await http.get(`${b.origin}/`)).toEqual({ ok: true });
    expect(a.requests).toHaveLength(3);
    expect(b.requests).toHaveLength(2);
  });

  it('retries without a budget when budget is false', async () => {
    const s = await server();
    s.script(fault.burst(4, 503));
    const http = client({
      baseUrl: s.origin,
      breaker: false,
      retry: { backoff: constantBackoff(0), maxAttempts: 2, budget: false },
    });
    for (let i = 0; i < 2; i++) {
      await expect(http.get('/')).rejects.toMatchObject({ attempts: 2 });
    }
    expect(s.requests).toHaveLength(4);
  });
});

describe('per-origin bulkheads', () => {
  it('rejects a call beyond the limit of one origin, not of another', async () => {
    const clock = new FakeClock();
    const busy = await server({ clock, fallback: fault.hang() });
    const other = await server({ clock });
    const events = new Events();
    const http = client({
      clock,
      retry: false,
      timeoutMs: 1_000,
      bulkhead: { limit: 1, queue: 0 },
      listener: events.listener,
    });
    const first = http.get(`${busy.origin}/`).catch((e: unknown) => e);
    await busy.waitForRequests(1);
    const error: unknown = await http.get(`${busy.origin}/`).catch((e: unknown) => e);
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'full', limit: 1 });
    expect(events.of('bulkhead-rejected')[0]?.operation).toBe(`GET ${busy.origin}`);
    expect(await http.get(`${other.origin}/`)).toEqual({ ok: true });
    await clock.advance(1_000);
    expect(await first).toMatchObject({ code: 'BULWARK_TIMEOUT' });
    expect(busy.requests).toHaveLength(1);
  });

  it('queues a call until a slot frees', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.latency(50, fault.respond(200, { body: 'first' })));
    const http = client({ clock, baseUrl: s.origin, bulkhead: { limit: 1, queue: 1 } });
    const first = http.request('/');
    const second = http.request('/');
    await s.waitForRequests(1);
    await clock.advance(50);
    expect((await first).text()).toBe('first');
    expect((await second).status).toBe(200);
    expect(s.requests[1]!.at).toBe(50);
  });
});

describe('origins', () => {
  it('forgets the oldest origin beyond maxOrigins, and still serves it afterwards', async () => {
    const a = await server();
    const b = await server();
    const http = client({ maxOrigins: 1 });
    for (const origin of [a.origin, b.origin, a.origin]) {
      expect(await http.get(`${origin}/`)).toEqual({ ok: true });
    }
  });
});

describe('the order of the policies', () => {
  const noEvents = () => ({ dispose: () => undefined });

  /** A cockatiel-shaped policy of the caller's own that counts the calls reaching it. */
  function counting() {
    const counter = {
      runs: 0,
      _altReturn: undefined as never,
      onSuccess: noEvents,
      onFailure: noEvents,
      execute<T>(
        fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
        signal?: AbortSignal,
      ) {
        counter.runs++;
        return Promise.resolve(fn({ signal: signal ?? new AbortController().signal }));
      },
    };
    return counter;
  }

  it('runs policies.call once around the retries and policies.attempt once per attempt, as the standard order says', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.burst(2, 503));
    const call = counting();
    const attempt = counting();
    const http = client({
      clock,
      baseUrl: s.origin,
      retry: { maxAttempts: 3, backoff: constantBackoff(0) },
      policies: { call, attempt },
    });
    expect((await http.request('/')).status).toBe(200);
    expect(s.requests).toHaveLength(3);
    expect(call.runs).toBe(1);
    expect(attempt.runs).toBe(3);
  });
});
