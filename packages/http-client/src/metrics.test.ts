import { constantBackoff } from '@bulwark/retry';
import { prometheusListener } from '@bulwark/telemetry';
import { fault } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { HttpClientOptions } from './options.js';
import { Events, client, server } from './test-helpers.js';

/** The exposition lines of one metric family's samples, as Prometheus scrapes them. */
async function scrape(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`));
}

/** A client on a fresh registry, and the exposition lines of its calls. */
function measured(origin: string, options: HttpClientOptions = {}) {
  const registry = new Registry();
  const http = client({ baseUrl: origin, listener: prometheusListener({ registry }), ...options });
  const operation = `GET ${origin}`;
  return {
    http,
    registry,
    operation,
    calls: () => scrape(registry, 'bulwark_calls_total'),
    durations: () => scrape(registry, 'bulwark_call_duration_seconds_count'),
  };
}

describe('calls as the Prometheus listener counts them: what the caller got', () => {
  it('counts a call that ended in RetriesExhaustedError after three 503s as a failure', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const { http, registry, operation, calls, durations } = measured(s.origin, {
      retry: { maxAttempts: 3, backoff: constantBackoff(0) },
    });

    await expect(http.request('/items/1')).rejects.toMatchObject({
      code: 'BULWARK_RETRIES_EXHAUSTED',
    });

    expect(await calls()).toEqual([
      `bulwark_calls_total{operation="${operation}",outcome="failure"} 1`,
    ]);
    expect(await durations()).toEqual([
      `bulwark_call_duration_seconds_count{operation="${operation}",outcome="failure"} 1`,
    ]);
    expect(await scrape(registry, 'bulwark_attempts_total')).toEqual([
      `bulwark_attempts_total{policy="retry",operation="${operation}",outcome="failure"} 3`,
    ]);
  });

  it('counts a call that succeeded after a retried 503 once, as a success', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200, { body: 'ok' }));
    const { http, registry, operation, calls } = measured(s.origin, {
      retry: { backoff: constantBackoff(0) },
    });

    expect((await http.request('/items/1')).text()).toBe('ok');

    expect(await calls()).toEqual([
      `bulwark_calls_total{operation="${operation}",outcome="success"} 1`,
    ]);
    expect(await scrape(registry, 'bulwark_attempts_total')).toEqual([
      `bulwark_attempts_total{policy="retry",operation="${operation}",outcome="failure"} 1`,
      `bulwark_attempts_total{policy="retry",operation="${operation}",outcome="success"} 1`,
    ]);
  });

  it('counts a JSON helper’s HttpStatusError as a failure, and the same status through request() as a success', async () => {
    const s = await server({ fallback: fault.respond(404, { body: { error: 'no such user' } }) });
    const { http, operation, calls, durations } = measured(s.origin);

    await expect(http.get('/users/7')).rejects.toMatchObject({ code: 'BULWARK_HTTP_STATUS' });
    expect((await http.request('/users/7')).status).toBe(404);

    expect(await calls()).toEqual([
      `bulwark_calls_total{operation="${operation}",outcome="failure"} 1`,
      `bulwark_calls_total{operation="${operation}",outcome="success"} 1`,
    ]);
    expect(await durations()).toEqual([
      `bulwark_call_duration_seconds_count{operation="${operation}",outcome="failure"} 1`,
      `bulwark_call_duration_seconds_count{operation="${operation}",outcome="success"} 1`,
    ]);
  });

  it('counts a body over maxBodyBytes and a malformed JSON body as failures', async () => {
    const s = await server();
    s.script(
      fault.respond(200, { body: 'x'.repeat(100) }),
      fault.respond(200, {
        body: '{"truncated":',
        headers: { 'content-type': 'application/json' },
      }),
    );
    const { http, operation, calls } = measured(s.origin, { maxBodyBytes: 50 });

    await expect(http.request('/big')).rejects.toMatchObject({ code: 'BULWARK_BODY_TOO_LARGE' });
    await expect(http.get('/bad-json')).rejects.toBeInstanceOf(SyntaxError);

    expect(await calls()).toEqual([
      `bulwark_calls_total{operation="${operation}",outcome="failure"} 2`,
    ]);
  });

  it('counts a stale response served for a failed origin as a success: the caller got an answer', async () => {
    const s = await server();
    s.script(
      fault.respond(200, {
        headers: { 'cache-control': 'max-age=0, stale-if-error=60' },
        body: 'kept',
      }),
      fault.burst(2, 503),
    );
    const { http, registry, operation, calls } = measured(s.origin, {
      cache: {},
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
    });

    await http.request('/item');
    const response = await http.request('/item');
    expect(response.cache?.status).toBe('stale-if-error');

    expect(await calls()).toEqual([
      `bulwark_calls_total{operation="${operation}",outcome="success"} 2`,
    ]);
    // The origin's failures are still counted where they happened.
    expect(await scrape(registry, 'bulwark_attempts_total')).toContain(
      `bulwark_attempts_total{policy="retry",operation="${operation}",outcome="failure"} 2`,
    );
  });

  it('exports the state of an origin’s breaker from the first call to it, before any transition', async () => {
    const s = await server();
    const { http, registry } = measured(s.origin, { breaker: {} });

    await http.request('/');

    expect(await scrape(registry, 'bulwark_breaker_state')).toEqual(
      ['closed', 'open', 'half-open', 'isolated'].map(
        (state) =>
          `bulwark_breaker_state{policy="circuit-breaker",origin="${s.origin}",state="${state}"} ${state === 'closed' ? 1 : 0}`,
      ),
    );
  });

  it('reports one call event per request, with policy http-client and the error the caller got', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const events = new Events();
    const http = client({
      baseUrl: s.origin,
      name: 'users-api',
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      listener: events.listener,
    });

    const error = await http.get('/users/7').catch((e: unknown) => e);

    const calls = events.of('call');
    expect(calls.map((call) => ({ ...call, durationMs: 0 }))).toEqual([
      {
        type: 'call',
        policy: 'http-client',
        name: 'users-api',
        operation: `GET ${s.origin}`,
        outcome: 'failure',
        durationMs: 0,
        error,
      },
    ]);
    expect(calls[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(error).toMatchObject({ code: 'BULWARK_RETRIES_EXHAUSTED' });
  });
});
