import {
  BrokenCircuitError,
  CancelledError,
  DeadlineExceededError,
  TimeoutError,
} from '@bulwark/core';
import { consecutive } from '@bulwark/circuit-breaker';
import { type HttpClient, type HttpClientOptions, createHttpClient } from '@bulwark/http-client';
import {
  FakeClock,
  type Fault,
  type FaultServer,
  type Listening,
  fault,
  listen,
  startFaultServer,
} from '@bulwark/testing';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';
import { bulwark } from './middleware.js';

const open: Listening[] = [];
const clients: HttpClient[] = [];
const upstreams: FaultServer[] = [];
const closers: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
  await Promise.all(upstreams.splice(0).map((server) => server.close()));
  await Promise.all(open.splice(0).map((l) => l.close()));
  for (const close of closers.splice(0)) close();
});

const PROBLEM_TYPE = 'application/problem+json';

async function appThrowing(error: unknown, options: { partial?: boolean } = {}): Promise<string> {
  const app = express();
  app.get('/', (_req, res, next) => {
    if (options.partial === true) res.write('partial');
    next(error);
  });
  app.use(bulwarkErrorHandler());
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      res.status(500).json({ fallback: String(err) });
    },
  );
  const listening = await listen(app);
  open.push(listening);
  return listening.url;
}

/**
 * A service whose GET /call calls a misbehaving upstream through `@bulwark/http-client` and lets
 * the client's error go, with `bulwark()` before the route and `bulwarkErrorHandler()` after it,
 * and no other error handler: what Express does not answer here, its own handler would.
 */
async function serviceCalling(
  script: readonly Fault[],
  options: HttpClientOptions,
): Promise<{ url: string; upstream: FaultServer }> {
  const upstream = await startFaultServer();
  upstreams.push(upstream);
  upstream.script(...script);
  const http = createHttpClient({ baseUrl: upstream.origin, ...options });
  clients.push(http);
  const middleware = bulwark();
  closers.push(() => middleware.close());
  const app = express();
  app.use(middleware);
  app.get('/call', async (_req, res) => {
    res.json(await http.get('/accounts/12345?token=s3cret'));
  });
  app.use(bulwarkErrorHandler());
  const listening = await listen(app);
  open.push(listening);
  return { url: `${listening.url}/call`, upstream };
}

/** Checks an answer is a bare problem: its four members, nothing of the upstream or the error. */
async function problemOf(res: Response, upstream: FaultServer): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe(PROBLEM_TYPE);
  const text = await res.text();
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
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
  expect(body.status).toBe(res.status);
  return body;
}

const noRetry = { retry: false } as const;
const quickRetry = { retry: { maxAttempts: 2, random: () => 0 } } as const;

describe('bulwarkErrorHandler, for the failures of @bulwark/http-client over real sockets', () => {
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
    expect(await problemOf(res, upstream)).toMatchObject({ type: 'urn:bulwark:deadline-exceeded' });
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

describe('bulwarkErrorHandler', () => {
  it('answers a deadline exceeded deeper down with 504 problem+json, without its message', async () => {
    const res = await fetch(await appThrowing(new DeadlineExceededError(200)));
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe(PROBLEM_TYPE);
    expect(await res.json()).toEqual({
      type: 'urn:bulwark:deadline-exceeded',
      title: 'Deadline exceeded',
      status: 504,
      detail: "The request's time budget ran out before it could be completed.",
    });
  });

  it('answers an attempt timeout with 504', async () => {
    expect((await fetch(await appThrowing(new TimeoutError(50)))).status).toBe(504);
  });

  it('answers an open circuit with 503 and the breaker’s Retry-After', async () => {
    const res = await fetch(
      await appThrowing(new BrokenCircuitError('circuit is open', 'payments', 4200)),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('answers a cancelled call with 499', async () => {
    expect((await fetch(await appThrowing(new CancelledError()))).status).toBe(499);
  });

  it('passes every other error on to the next error handler', async () => {
    const res = await fetch(await appThrowing(new Error('boom')));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ fallback: 'Error: boom' });
  });

  it('leaves a response that has already started to Express', async () => {
    const res = await fetch(await appThrowing(new TimeoutError(50), { partial: true }));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('leaves other errors to Express, which shows neither stack nor message in production', async () => {
    const app = express();
    app.set('env', 'production');
    app.get('/', () => {
      throw new Error('secret detail');
    });
    app.use(bulwarkErrorHandler());
    const listening = await listen(app);
    open.push(listening);
    const res = await fetch(listening.url);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('Internal Server Error');
    expect(text).not.toContain('secret detail');
    expect(text).not.toContain('error-handler.test');
  });
});
