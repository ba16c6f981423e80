import { BrokenCircuitError, DeadlineExceededError } from '@bulwark/core';
import { consecutive } from '@bulwark/circuit-breaker';
import { type HttpClientOptions, createHttpClient } from '@bulwark/http-client';
import { FakeClock, type Fault, type FaultServer, fault, startFaultServer } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { type Harness, problem } from './harness.js';

const noRetry = { retry: false } as const;
const quickRetry = { retry: { maxAttempts: 2, random: () => 0 } } as const;

/** Checks an answer is a bare problem with nothing of the upstream or of the error in it. */
async function problemOf(res: Response, upstream: FaultServer): Promise<Record<string, unknown>> {
  const text = await res.clone().text();
  for (const leak of [
    String(upstream.port),
    '/accounts',
    's3cret',
    'BULWARK_',
    'Error',
    '    at ',
  ]) {
    expect(text).not.toContain(leak);
  }
  return problem(res);
}

export function errorsContract(h: Harness): void {
  /**
   * A service whose GET /call calls a misbehaving upstream through `@bulwark/http-client` and
   * lets the client's error go, answered by the adapter's error handler.
   */
  async function serviceCalling(
    script: readonly Fault[],
    options: HttpClientOptions,
  ): Promise<{ url: string; upstream: FaultServer }> {
    const upstream = await startFaultServer();
    const http = createHttpClient({ baseUrl: upstream.origin, ...options });
    // Closers run in order: the client goes before its upstream.
    h.closers.push(
      () => http.destroy(),
      () => upstream.close(),
    );
    upstream.script(...script);
    const app = await h.start(
      {},
      {
        routes: [
          {
            method: 'GET',
            path: '/call',
            handler: async () => ({ body: await http.get('/accounts/12345?token=s3cret') }),
          },
        ],
      },
    );
    return { url: `${app.url}/call`, upstream };
  }

  describe('errors of @bulwark/http-client, over real sockets', () => {
    it.each<[string, Fault[], HttpClientOptions]>([
      ['retries exhausted on 503s', fault.burst(2, 503), quickRetry],
      [
        'retries exhausted on resets',
        [fault.resetBeforeHeaders(), fault.resetBeforeHeaders()],
        quickRetry,
      ],
      ['a network error', [fault.resetBeforeHeaders()], noRetry],
      [
        'an error status from the upstream',
        [fault.respond(404, { body: 'no such account' })],
        noRetry,
      ],
      [
        'a body over the limit',
        [fault.respond(200, { body: 'x'.repeat(100) })],
        { ...noRetry, maxBodyBytes: 10 },
      ],
    ])('answers %s with 502 problem+json', async (_name, script, options) => {
      const { url, upstream } = await serviceCalling(script, options);
      const res = await fetch(url);
      expect(res.status).toBe(502);
      expect(await problemOf(res, upstream)).toEqual({
        type: 'urn:bulwark:dependency-failed',
        title: 'Dependency failed',
        status: 502,
        detail: 'A service this request depends on failed or could not be reached.',
      });
    });

    it('answers an attempt timeout with 504 dependency-timeout', async () => {
      const clock = new FakeClock();
      const { url, upstream } = await serviceCalling([fault.hang()], {
        ...noRetry,
        clock,
        timeoutMs: 50,
      });
      const answer = fetch(url);
      await upstream.waitForRequests(1);
      await clock.advance(50);
      const res = await answer;
      expect(res.status).toBe(504);
      expect(await problemOf(res, upstream)).toMatchObject({
        type: 'urn:bulwark:dependency-timeout',
      });
    });

    it('answers the client’s deadline running out with 504 deadline-exceeded', async () => {
      const clock = new FakeClock();
      const { url, upstream } = await serviceCalling([fault.hang()], {
        ...noRetry,
        clock,
        timeoutMs: false,
        deadlineMs: 100,
      });
      const answer = fetch(url);
      await upstream.waitForRequests(1);
      await clock.advance(100);
      const res = await answer;
      expect(res.status).toBe(504);
      expect(await problemOf(res, upstream)).toMatchObject({
        type: 'urn:bulwark:deadline-exceeded',
      });
    });

    it('answers an open breaker with 503 and the time until its trial call as Retry-After', async () => {
      const clock = new FakeClock();
      const { url, upstream } = await serviceCalling([fault.respond(500)], {
        ...noRetry,
        clock,
        breaker: { strategy: consecutive({ threshold: 1 }), breakDurationMs: 10_000 },
      });
      expect((await fetch(url)).status).toBe(502);
      await clock.advance(2_500);
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('8');
      expect(await problemOf(res, upstream)).toMatchObject({
        type: 'urn:bulwark:dependency-unavailable',
      });
      expect(upstream.requests).toHaveLength(1);
    });

    it('answers a full bulkhead with 503 overloaded and Retry-After', async () => {
      const { url, upstream } = await serviceCalling([fault.hang()], {
        ...noRetry,
        bulkhead: { limit: 1, queue: 0 },
      });
      const held = fetch(url);
      await upstream.waitForRequests(1);
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await problemOf(res, upstream)).toMatchObject({ type: 'urn:bulwark:overloaded' });
      await upstream.close();
      expect((await held).status).toBe(502);
    });

    it('answers an upstream’s 429 with 503 and the upstream’s Retry-After, as the caller is not the one limited', async () => {
      const { url, upstream } = await serviceCalling([fault.rateLimited('7')], noRetry);
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await problemOf(res, upstream)).toMatchObject({
        type: 'urn:bulwark:dependency-rate-limited',
      });
    });
  });

  describe('errors', () => {
    it('turns Bulwark errors from handlers into 504 and 503 with Retry-After', async () => {
      const app = await h.start(
        {},
        {
          routes: [
            {
              method: 'GET',
              path: '/deadline',
              handler: () => {
                throw new DeadlineExceededError(300);
              },
            },
            {
              method: 'GET',
              path: '/circuit',
              handler: () => {
                throw new BrokenCircuitError('circuit is open', 'db', 2500);
              },
            },
          ],
        },
      );
      const deadline = await fetch(`${app.url}/deadline`);
      expect(deadline.status).toBe(504);
      expect(await problem(deadline)).toEqual({
        type: 'urn:bulwark:deadline-exceeded',
        title: 'Deadline exceeded',
        status: 504,
        detail: "The request's time budget ran out before it could be completed.",
      });
      const circuit = await fetch(`${app.url}/circuit`);
      expect(circuit.status).toBe(503);
      expect(circuit.headers.get('retry-after')).toBe('3');
    });
  });
}
