import { isDeadlineExceededError, isTimeoutError } from '@bulwark/core';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { isRetriesExhaustedError } from './errors.js';
import { Events, client, server, until } from './test-helpers.js';

/** No timer is left: everything pending is unref'd, and running it all re-arms nothing. */
async function expectNoTimersLeft(clock: FakeClock): Promise<void> {
  expect(clock.referencedTimers).toBe(0);
  await clock.runAll();
  expect(clock.pendingTimers).toBe(0);
}

describe('timeouts and deadlines, at the server side, on a fake clock', () => {
  it('ends a hang at the attempt timeout, and the whole call at the deadline, leaving no socket or timer', async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const events = new Events();
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: 1_000,
      deadlineMs: 2_500,
      retry: { maxAttempts: 5, backoff: constantBackoff(100) },
      breaker: false,
      listener: events.listener,
    });
    const call = http.get('/slow');
    const settled = call.catch((e: unknown) => e);

    await s.waitForRequests(1);
    await clock.advance(1_000); // attempt 1 times out; the retry waits 100 ms
    expect(events.of('timeout')).toHaveLength(1);
    await clock.advance(100);
    await s.waitForRequests(2);
    expect(s.requests[1]!.at).toBe(1_100);
    await clock.advance(1_000); // attempt 2 times out at 2100
    await clock.advance(100);
    await s.waitForRequests(3);
    expect(s.requests[2]!.at).toBe(2_200);
    // Attempt 3 gets what is left of the budget, and says so on the wire.
    expect(s.requests[2]!.headers['x-bulwark-timeout-ms']).toBe('300');
    await clock.advance(299);
    expect(await Promise.race([settled, Promise.resolve('pending')])).toBe('pending');
    await clock.advance(1);

    const error = await settled;
    expect(isDeadlineExceededError(error)).toBe(true);
    expect(clock.now()).toBe(2_500);
    expect(s.requests).toHaveLength(3);
    // Each timed-out attempt was ended on the wire: no socket was reused, and none is left open.
    expect(new Set(s.requests.map((r) => r.connection)).size).toBe(3);
    await s.waitForIdle();
    await expectNoTimersLeft(clock);
  });

  it('fails with RetriesExhaustedError (cause TimeoutError) when every attempt times out', async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: 500,
      deadlineMs: false,
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      breaker: false,
    });
    const settled = http.get('/').catch((e: unknown) => e);
    await s.waitForRequests(1);
    await clock.advance(500);
    await s.waitForRequests(2);
    await clock.advance(500);
    const error = await settled;
    expect(isRetriesExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 2, lastStatus: undefined });
    expect(isTimeoutError((error as Error).cause)).toBe(true);
    await s.waitForIdle();
    await expectNoTimersLeft(clock);
  });

  it('times out a POST without a key with TimeoutError, sent once', async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const http = client({ clock, baseUrl: s.origin, timeoutMs: 500, breaker: false });
    const settled = http.post('/', { a: 1 }).catch((e: unknown) => e);
    await s.waitForRequests(1);
    await clock.advance(500);
    expect(isTimeoutError(await settled)).toBe(true);
    expect(s.requests).toHaveLength(1);
    await s.waitForIdle();
  });

  it('times out a slow drip body as part of the attempt', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.drip({ chunks: 10, intervalMs: 100 }), fault.respond(200, { body: 'fast' }));
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: 450,
      retry: { backoff: constantBackoff(0) },
      breaker: false,
    });
    const call = http.request('/');
    await s.waitForRequests(1);
    for (let i = 0; i < 4; i++) await clock.advance(100);
    await clock.advance(50);
    await s.waitForRequests(2);
    expect((await call).text()).toBe('fast');
  });

  it('does not retry a keyed POST whose body drips past the attempt timeout: it was committed', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.drip({ chunks: 10, intervalMs: 100 }));
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: 250,
      retry: { backoff: constantBackoff(0) },
      breaker: false,
    });
    const settled = http.post('/', {}, { idempotencyKey: 'k' }).catch((e: unknown) => e);
    await s.waitForRequests(1);
    await clock.advance(100);
    await clock.advance(100);
    await clock.advance(50);
    expect(isTimeoutError(await settled)).toBe(true);
    expect(s.requests).toHaveLength(1);
  });

  it("takes the deadline from the request's timeoutMs even when the client has no deadline", async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const http = client({ clock, baseUrl: s.origin, timeoutMs: false, deadlineMs: false });
    const settled = http.get('/', { timeoutMs: 700 }).catch((e: unknown) => e);
    await s.waitForRequests(1);
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBe('700');
    await clock.advance(700);
    const error = await settled;
    expect(isDeadlineExceededError(error)).toBe(true);
    expect((error as Error).message).toBe(`deadline exceeded during GET ${s.origin}`);
    await s.waitForIdle();
    await expectNoTimersLeft(clock);
  });

  it("takes the deadline and the signal of the incoming request's context", async () => {
    const clock = new FakeClock({ now: 1_000 });
    const s = await server({ clock, fallback: fault.hang() });
    const controller = new AbortController();
    let incoming: { deadline?: number; signal?: AbortSignal } | undefined = { deadline: 1_400 };
    const http = client({ clock, baseUrl: s.origin, context: () => incoming });

    const first = http.get('/').catch((e: unknown) => e);
    await s.waitForRequests(1);
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBe('400');
    await clock.advance(400);
    expect(isDeadlineExceededError(await first)).toBe(true);

    incoming = { signal: controller.signal };
    const second = http.get('/', { signal: new AbortController().signal }).catch((e: unknown) => e);
    await s.waitForRequests(2);
    controller.abort();
    expect(await second).toMatchObject({ code: 'BULWARK_CANCELLED' });

    incoming = undefined;
    s.script(fault.respond(200, { body: { ok: 1 } }));
    expect(await http.get('/')).toEqual({ ok: 1 });
  });

  it('takes an absolute deadline, and fails before sending when it has passed', async () => {
    const clock = new FakeClock({ now: 5_000 });
    const s = await server({ clock });
    const http = client({ clock, baseUrl: s.origin });
    await http.get('/', { deadline: 5_250 });
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBe('250');
    const error: unknown = await http.get('/', { deadline: 4_000 }).catch((e: unknown) => e);
    expect(isDeadlineExceededError(error)).toBe(true);
    expect(s.requests).toHaveLength(1);
  });
});

describe("a call's own attempt timeout (attemptTimeoutMs)", () => {
  it("limits each attempt of the call to attemptTimeoutMs in place of the client's timeoutMs", async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const http = client({ clock, baseUrl: s.origin, timeoutMs: 5_000, deadlineMs: false });
    const settled = http.get('/', { attemptTimeoutMs: 200, retry: false }).catch((e: unknown) => e);
    await s.waitForRequests(1);
    // The attempt's budget on the wire is the call's own limit, not the client's.
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBe('200');
    await clock.advance(200);
    const error = await settled;
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ timeoutMs: 200 });
    await s.waitForIdle();
    await expectNoTimersLeft(clock);
  });

  it('sends a call with attemptTimeoutMs: false without an attempt limit', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.latency(9_000, fault.respond(200)));
    const http = client({ clock, baseUrl: s.origin, timeoutMs: 1_000, deadlineMs: false });
    const call = http.request('/', { attemptTimeoutMs: false });
    await s.waitForRequests(1);
    expect(s.requests[0]!.headers['x-bulwark-timeout-ms']).toBeUndefined();
    await clock.advance(9_000);
    expect((await call).status).toBe(200);
  });

  it('refuses an attemptTimeoutMs that is not an integer from 1 to 2147483647', async () => {
    const http = client({ baseUrl: 'http://127.0.0.1:1' });
    await expect(http.get('/', { attemptTimeoutMs: 0 })).rejects.toThrow(
      new RangeError('expected attemptTimeoutMs to be an integer between 1 and 2147483647, got 0'),
    );
  });
});

describe('server delay hints (Retry-After), on a fake clock', () => {
  it('waits Retry-After: 2 before the next attempt', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.rateLimited('2'), fault.respond(200, { body: { ok: true } }));
    const events = new Events();
    const http = client({ clock, baseUrl: s.origin, listener: events.listener });
    const scheduled = events.next('retry-scheduled');
    const call = http.get('/');
    expect(await scheduled).toMatchObject({ delayMs: 2_000, delaySource: 'server-hint' });
    await clock.advance(1_999);
    expect(s.requests).toHaveLength(1);
    await clock.advance(1);
    expect(await call).toEqual({ ok: true });
    expect(s.requests[1]!.at).toBe(2_000);
  });

  it('gives up at once when Retry-After: 3600 lies beyond a 5 s deadline', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.rateLimited('3600', 503));
    const events = new Events();
    const http = client({ clock, baseUrl: s.origin, deadlineMs: 5_000, listener: events.listener });
    const error: unknown = await http.get('/').catch((e: unknown) => e);
    expect(isRetriesExhaustedError(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect(events.of('retry-gave-up')[0]).toMatchObject({ reason: 'hint-exceeds-deadline' });
    expect(clock.now()).toBe(0);
    expect(s.requests).toHaveLength(1);
  });

  it('falls back to the backoff when Retry-After is garbage', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.rateLimited('soon'), fault.respond(200));
    const events = new Events();
    const http = client({
      clock,
      baseUrl: s.origin,
      retry: { backoff: constantBackoff(250) },
      listener: events.listener,
    });
    const scheduled = events.next('retry-scheduled');
    const call = http.request('/');
    expect(await scheduled).toMatchObject({ delayMs: 250, delaySource: 'backoff' });
    await clock.advance(250);
    expect((await call).status).toBe(200);
    expect(s.requests[1]!.at).toBe(250);
  });

  it('never waits past the deadline for a backoff', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.respond(503));
    const events = new Events();
    const http = client({
      clock,
      baseUrl: s.origin,
      deadlineMs: 1_000,
      retry: { backoff: constantBackoff(2_000) },
      listener: events.listener,
    });
    await expect(http.get('/')).rejects.toMatchObject({ code: 'BULWARK_RETRIES_EXHAUSTED' });
    expect(events.of('retry-gave-up')[0]).toMatchObject({ reason: 'deadline' });
    expect(s.requests).toHaveLength(1);
  });

  it('caps a long Retry-After at maxHintMs', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    s.script(fault.rateLimited('120'), fault.respond(200));
    const events = new Events();
    const http = client({
      clock,
      baseUrl: s.origin,
      deadlineMs: false,
      timeoutMs: false,
      retry: { maxHintMs: 3_000 },
      listener: events.listener,
    });
    const scheduled = events.next('retry-scheduled');
    const call = http.request('/');
    expect(await scheduled).toMatchObject({ delayMs: 3_000 });
    await until(() => clock.pendingTimers > 0);
    await clock.advance(3_000);
    expect((await call).status).toBe(200);
  });
});
