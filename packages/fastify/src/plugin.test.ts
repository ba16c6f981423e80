import { EventEmitter } from 'node:events';
import { request as httpRequest } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, DeadlineExceededError, TimeoutError } from '@bulwark/core';
import { currentContext, remainingMs } from '@bulwark/correlation';
import { gracefulShutdown, healthRegistry } from '@bulwark/health';
import { type IdempotencyEvent, redisStore } from '@bulwark/idempotency';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adaptiveLimit } from '@bulwark/bulkhead';
import { consecutive } from '@bulwark/circuit-breaker';
import { type HttpClientOptions, createHttpClient } from '@bulwark/http-client';
import fp from 'fastify-plugin';
import { type FastifyBulwarkOptions, bulwarkPlugin, install } from './plugin.js';
import type { IdempotencyOptions } from '@bulwark/server';
import { BulwarkStack, type PressureReading } from '@bulwark/server/internal';
import {
  FakeClock,
  type Fault,
  type FaultServer,
  type TestRedis,
  fault,
  startFaultServer,
  latch,
  rawRequest,
  startRedis,
  unreachableRedis,
  watchRequests,
  whenSettled,
} from '@bulwark/testing';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const apps: FastifyInstance[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const close of closers.splice(0)) await close();
});

async function appWith(
  options: FastifyBulwarkOptions = {},
  fastifyOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions);
  apps.push(app);
  await app.register(bulwarkPlugin, options);
  return app;
}

async function listening(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/** A count the app's own hooks or handlers tick; `reached(n)` resolves once it is n. */
function counter(): { tick(): void; reached(n: number): Promise<void> } {
  let value = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    tick() {
      value++;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (value >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    reached: (n) =>
      value >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
  };
}

/** Ticks after Bulwark's own onRequestAbort hook has run for a request whose client left. */
function countAborts(app: FastifyInstance): ReturnType<typeof counter> {
  const aborts = counter();
  app.addHook('onRequestAbort', async (_request) => {
    aborts.tick();
  });
  return aborts;
}

describe('the plugin', () => {
  it('is a fastify-plugin for Fastify 5 named @bulwark/fastify, so its hooks apply app-wide', async () => {
    const meta = (bulwarkPlugin as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ fastify: '5.x', name: '@bulwark/fastify' });
    const app = Fastify();
    apps.push(app);
    await app.register(bulwarkPlugin);
    // Hooks of an encapsulated plugin would not reach routes outside it.
    app.get('/', async (request) => ({ id: request.bulwark?.correlationId }));
    const res = await app.inject({ url: '/', headers: { 'x-request-id': 'outer' } });
    expect(res.json()).toEqual({ id: 'outer' });
  });

  it('declares its request decorator up front, null until a request sets it', async () => {
    const app = await appWith({ correlation: false });
    expect(app.hasRequestDecorator('bulwark')).toBe(true);
    app.get('/', async (request) => ({ bulwark: request.bulwark }));
    expect((await app.inject('/')).json()).toEqual({ bulwark: null });
  });

  it('ignores the options Fastify’s register() reads, and refuses unknown ones', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(bulwarkPlugin, { prefix: '/x', logLevel: 'warn' } as FastifyBulwarkOptions);
    await app.ready();
    const bad = Fastify();
    void bad.register(bulwarkPlugin, { cors: true } as FastifyBulwarkOptions);
    await expect(bad.ready()).rejects.toThrow('unknown option "cors" for bulwark()');
    const wrong = Fastify();
    void wrong.register(bulwarkPlugin, { errorHandler: 'yes' } as unknown as FastifyBulwarkOptions);
    await expect(wrong.ready()).rejects.toThrow('expected errorHandler to be a boolean, got "yes"');
  });
});

describe('correlation', () => {
  it('echoes a valid inbound ID, generates one otherwise, and never echoes an invalid one', async () => {
    const app = await appWith();
    app.get('/', async (request) => ({
      id: request.bulwark?.correlationId,
      ctx: currentContext()?.correlationId,
    }));
    const given = await app.inject({ url: '/', headers: { 'x-request-id': 'abc-1' } });
    expect(given.headers['x-request-id']).toBe('abc-1');
    expect(given.json()).toEqual({ id: 'abc-1', ctx: 'abc-1' });
    expect((await app.inject('/')).headers['x-request-id']).toMatch(UUID_V7);
    const hostile = await app.inject({ url: '/', headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(hostile.headers['x-request-id']).toMatch(UUID_V7);
  });

  it('keeps each handler in its own context across timers, under concurrent requests', async () => {
    const app = await appWith();
    app.get('/', async (request) => {
      const before = currentContext()?.correlationId;
      await sleep(Number((request.query as { wait: string }).wait));
      return { before, after: currentContext()?.correlationId };
    });
    const url = await listening(app);
    const ids = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    const answers = await Promise.all(
      ids.map((id, i) =>
        fetch(`${url}/?wait=${(i * 7) % 20}`, { headers: { 'x-request-id': id } }).then((r) =>
          r.json(),
        ),
      ),
    );
    expect(answers).toEqual(ids.map((id) => ({ before: id, after: id })));
  });

  it('keeps the context for a handler whose body arrived late, after onRequest', async () => {
    const app = await appWith();
    app.post('/', async (request) => ({ id: currentContext()?.correlationId, body: request.body }));
    const url = new URL(await listening(app));
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: {
            'content-type': 'application/json',
            'x-request-id': 'late',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => req.end('1}'), 20);
    });
    expect(JSON.parse(answer)).toEqual({ id: 'late', body: { a: 1 } });
  });

  it('binds the request logger to the correlation ID when logging is on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    const app = await appWith({}, { logger: { level: 'info', stream } });
    app.get('/', async (request) => {
      request.log.info('handling');
      return 'ok';
    });
    await app.inject({ url: '/', headers: { 'x-request-id': 'log-1' } });
    const handling = lines.find((l) => l.msg === 'handling');
    expect(handling).toMatchObject({ correlation_id: 'log-1' });
    expect(handling?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
      correlation_id: 'log-1',
    });
  });

  describe('in every log line of a request, Fastify’s own included', () => {
    interface Logged {
      url: string;
      lines: Array<Record<string, unknown>>;
      /** Resolves once a line matching `test` has been written. */
      written(test: (line: Record<string, unknown>) => boolean): Promise<void>;
    }

    async function loggedApp(): Promise<Logged> {
      const lines: Array<Record<string, unknown>> = [];
      let waiters: Array<{
        test: (line: Record<string, unknown>) => boolean;
        resolve: () => void;
      }> = [];
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
          lines.push(line);
          for (const waiter of waiters.filter((w) => w.test(line))) waiter.resolve();
          waiters = waiters.filter((w) => !w.test(line));
          callback();
        },
      });
      const app = await appWith({}, { logger: { level: 'info', stream } });
      app.get('/orders/:id', async (request) => {
        request.log.info('handling');
        return 'ok';
      });
      app.get('/fails', async () => {
        throw new Error('boom');
      });
      const written = (test: (line: Record<string, unknown>) => boolean) =>
        lines.some(test)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiters.push({ test, resolve }));
      return { url: await listening(app), lines, written };
    }

    /** The lines Fastify and the handler logged for the one request made. */
    async function linesOf(logged: Logged, res: Response): Promise<Array<Record<string, unknown>>> {
      await res.text();
      const reqId = logged.lines.find((l) => l.msg === 'incoming request')?.reqId;
      // "request completed" is logged when the response has finished, maybe after the client read it.
      await logged.written((l) => l.reqId === reqId && l.msg === 'request completed');
      return logged.lines.filter((l) => l.reqId === reqId);
    }

    it.each([
      [
        'a valid inbound ID',
        '/orders/1',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'handling', 'request completed'],
      ],
      [
        'a handler that throws',
        '/fails',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'boom', 'request completed'],
      ],
      [
        'a 404',
        '/nowhere',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'Route GET:/nowhere not found', 'request completed'],
      ],
    ])('carries the echoed ID for %s', async (_name, path, headers, messages) => {
      const app = await loggedApp();
      const res = await fetch(app.url + path, { headers });
      const logged = await linesOf(app, res);
      expect(logged.map((l) => l.msg)).toEqual(messages);
      for (const line of logged) expect(line.correlation_id).toBe('order-7');
      expect(new Set(logged.map((l) => l.trace_id)).size).toBe(1);
    });

    it('keeps an application’s 404 handler, set before the plugin or after it', async () => {
      const lines: Array<Record<string, unknown>> = [];
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          callback();
        },
      });
      const before = Fastify({ logger: { level: 'info', stream } });
      apps.push(before);
      before.setNotFoundHandler(async (_request, reply) => reply.code(404).send('before'));
      await before.register(bulwarkPlugin);
      const res = await fetch(`${await listening(before)}/nowhere`);
      expect(await res.text()).toBe('before');

      const after = await appWith({}, { logger: { level: 'info', stream } });
      after.setNotFoundHandler(async (request, reply) => {
        request.log.info('not here');
        return reply.code(404).send('after');
      });
      const url = await listening(after);
      lines.length = 0;
      const answer = await fetch(`${url}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
      expect(await answer.text()).toBe('after');
      expect(lines.find((l) => l.msg === 'incoming request')?.correlation_id).toBe('lost-1');
      expect(lines.find((l) => l.msg === 'not here')?.correlation_id).toBe('lost-1');
    });

    it('carries a generated ID, never the raw header, when the inbound one is invalid', async () => {
      const app = await loggedApp();
      const invalid = 'x'.repeat(300);
      const res = await fetch(`${app.url}/orders/1`, { headers: { 'x-request-id': invalid } });
      const echoed = res.headers.get('x-request-id');
      expect(echoed).toMatch(UUID_V7);
      const logged = await linesOf(app, res);
      expect(logged.map((l) => l.msg)).toEqual([
        'incoming request',
        'handling',
        'request completed',
      ]);
      for (const line of logged) expect(line.correlation_id).toBe(echoed);
      expect(JSON.stringify(app.lines)).not.toContain(invalid);
    });
  });

  it('echoes the ID in the configured header, or in none', async () => {
    const app = await appWith({
      correlation: { headers: ['x-correlation-id'], responseHeader: false },
    });
    app.get('/', async (request) => request.bulwark?.correlationId);
    const res = await app.inject({ url: '/', headers: { 'x-correlation-id': 'c-9' } });
    expect(res.body).toBe('c-9');
    expect(res.headers['x-correlation-id']).toBeUndefined();
  });
});

describe('deadline', () => {
  it('makes the caller’s remaining budget the deadline the handler and its calls see', async () => {
    const clock = new FakeClock({ now: 100 });
    const app = await appWith({ clock });
    app.get('/', async () => ({
      deadline: String(currentContext()?.deadline),
      left: remainingMs(currentContext(), clock),
    }));
    const res = await app.inject({ url: '/', headers: { 'x-bulwark-timeout-ms': '900' } });
    expect(res.json()).toEqual({ deadline: '1000', left: 900 });
    expect((await app.inject('/')).json()).toEqual({ deadline: 'Infinity', left: null });
  });

  it('answers 504 without running the handler when the budget is already spent', async () => {
    let ran = false;
    const app = await appWith();
    app.get('/', async () => {
      ran = true;
      return 'ok';
    });
    const res = await app.inject({ url: '/', headers: { 'x-bulwark-timeout-ms': '0' } });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ type: 'urn:bulwark:deadline-exceeded', status: 504 });
    expect(ran).toBe(false);
  });

  it('answers 504 through Fastify’s own error handler when Bulwark installs none', async () => {
    const app = await appWith({ errorHandler: false });
    app.get('/', async () => 'ok');
    const res = await app.inject({ url: '/', headers: { 'grpc-timeout': '0m' } });
    expect(res.statusCode).toBe(504);
  });
});

/**
 * A service whose GET /call calls a misbehaving upstream through `@bulwark/http-client` and lets
 * the client's error go, answered by the plugin's error handler.
 */
async function serviceCalling(
  script: readonly Fault[],
  options: HttpClientOptions,
): Promise<{ url: string; upstream: FaultServer }> {
  const upstream = await startFaultServer();
  closers.push(() => upstream.close());
  upstream.script(...script);
  const http = createHttpClient({ baseUrl: upstream.origin, ...options });
  // Destroyed before the upstream closes: closers run in order, so put it first.
  closers.unshift(() => http.destroy());
  const app = await appWith();
  app.get('/call', async () => http.get('/accounts/12345?token=s3cret'));
  return { url: `${await listening(app)}/call`, upstream };
}

/** Checks an answer is a bare problem: its four members, nothing of the upstream or the error. */
async function problemOf(res: Response, upstream: FaultServer): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
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

describe('errors', () => {
  it('turns Bulwark errors from handlers into 504 and 503 with Retry-After', async () => {
    const app = await appWith();
    app.get('/deadline', async () => {
      throw new DeadlineExceededError(300);
    });
    app.get('/circuit', async () => {
      throw new BrokenCircuitError('circuit is open', 'db', 2500);
    });
    const url = await listening(app);
    const deadline = await fetch(`${url}/deadline`);
    expect(deadline.status).toBe(504);
    expect(deadline.headers.get('content-type')).toBe('application/problem+json');
    expect(await deadline.json()).toEqual({
      type: 'urn:bulwark:deadline-exceeded',
      title: 'Deadline exceeded',
      status: 504,
      detail: "The request's time budget ran out before it could be completed.",
    });
    const circuit = await fetch(`${url}/circuit`);
    expect(circuit.status).toBe(503);
    expect(circuit.headers.get('retry-after')).toBe('3');
  });

  it('hands other errors on to Fastify’s handler', async () => {
    const app = await appWith();
    app.get('/', async () => {
      throw Object.assign(new Error('nope'), { statusCode: 418 });
    });
    const res = await fetch(await listening(app));
    expect(res.status).toBe(418);
    expect(await res.json()).toMatchObject({ message: 'nope' });
  });

  it('hands an unknown error to Fastify, whose 500 carries its message but never a stack', async () => {
    const app = await appWith();
    app.get('/', async () => {
      throw new Error('boom');
    });
    const res = await fetch(await listening(app));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'boom',
    });
    expect(text).not.toContain('plugin.test');
  });
});

describe('health routes', () => {
  it('answers the three views in application/health+json at default or configured paths', async () => {
    const health = healthRegistry();
    health.register({ name: 'cache', check: () => 'fail', kind: 'readiness', critical: false });
    const app = await appWith({
      health: { registry: health, paths: { startup: '/started', liveness: false } },
    });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.headers['content-type']).toBe('application/health+json');
    expect(ready.json()).toEqual({ status: 'warn', checks: { cache: [{ status: 'fail' }] } });
    expect((await app.inject('/started')).statusCode).toBe(200);
    expect((await app.inject('/livez')).statusCode).toBe(404);
    const head = await app.inject({ method: 'HEAD', url: '/readyz' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('never correlates health probes', async () => {
    const app = await appWith();
    const res = await app.inject('/livez');
    expect(res.headers['x-request-id']).toBeUndefined();
  });
});

describe('load shedding', () => {
  it('answers a flood with quick 503s and Retry-After while health routes still answer', async () => {
    const held = latch();
    const running = counter();
    const app = await appWith({ shedding: { limit: 2 } });
    app.get('/work', async () => {
      running.tick();
      await held.promise;
      return 'done';
    });
    const url = await listening(app);
    const slow = [fetch(`${url}/work`), fetch(`${url}/work`)];
    await running.reached(2);
    const flood = await Promise.all(Array.from({ length: 30 }, () => fetch(`${url}/work`)));
    expect(flood.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 503));
    expect(flood[0]!.headers.get('retry-after')).toBe('1');
    expect(flood[0]!.headers.get('content-type')).toBe('application/problem+json');
    expect(await flood[0]!.json()).toMatchObject({ type: 'urn:bulwark:overloaded', status: 503 });
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    held.open();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    expect((await fetch(`${url}/work`)).status).toBe(200);
  });

  it('gives the slot back after answers, errors and 404s', async () => {
    const app = await appWith({ shedding: { limit: 1 } });
    app.get('/ok', async () => 'ok');
    app.get('/fail', async () => {
      throw new Error('boom');
    });
    for (let i = 0; i < 5; i++) {
      expect((await app.inject('/ok')).statusCode).toBe(200);
      expect((await app.inject('/fail')).statusCode).toBe(500);
      expect((await app.inject('/missing')).statusCode).toBe(404);
    }
  });

  it('gives the slot back when the client goes away before the answer', async () => {
    const held = latch();
    const started = counter();
    const app = await appWith({ shedding: { limit: 1 } });
    const aborts = countAborts(app);
    app.get('/hang', async () => {
      started.tick();
      await held.promise;
      return 'late';
    });
    app.get('/ok', async () => 'ok');
    const url = await listening(app);
    const controller = new AbortController();
    const hung = fetch(`${url}/hang`, { signal: controller.signal });
    await started.reached(1);
    expect((await fetch(`${url}/ok`)).status).toBe(503);
    controller.abort();
    await expect(hung).rejects.toThrow();
    await aborts.reached(1);
    expect((await fetch(`${url}/ok`)).status).toBe(200);
    held.open();
  });

  it('takes a queued request out of the queue when its client goes away', async () => {
    const held = latch();
    const seen: string[] = [];
    const app = await appWith({ shedding: { limit: 1, queue: 1 } });
    const aborts = countAborts(app);
    app.get('/:name', async (request) => {
      const { name } = request.params as { name: string };
      seen.push(name);
      if (name === 'first') await held.promise;
      return name;
    });
    const url = await listening(app);
    // Counted after Fastify has run the onRequest hooks, which is where a request is queued.
    const watch = watchRequests(app.server);
    const first = fetch(`${url}/first`);
    await watch.arrived(1);
    const controller = new AbortController();
    const leaving = fetch(`${url}/leaving`, { signal: controller.signal });
    await watch.arrived(2);
    expect((await fetch(`${url}/refused`)).status).toBe(503);
    controller.abort();
    await expect(leaving).rejects.toThrow();
    await aborts.reached(1);
    const third = fetch(`${url}/third`);
    await watch.arrived(4);
    held.open();
    expect((await first).status).toBe(200);
    expect(await (await third).text()).toBe('third');
    expect(seen).toEqual(['first', 'third']);
  });
});

describe('load shedding by limit kind and pressure', () => {
  it('refuses past an adaptive limit, through the bulkhead policy', async () => {
    const held = latch();
    const running = counter();
    const app = await appWith({
      shedding: { limit: adaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 1 }) },
    });
    app.get('/', async () => {
      running.tick();
      await held.promise;
      return 'ok';
    });
    const url = await listening(app);
    const first = fetch(url);
    await running.reached(1);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    held.open();
    expect((await first).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);
  });

  it('refuses while the process is under pressure, and stops once it is not', async () => {
    const clock = new FakeClock();
    let reading: PressureReading = {
      eventLoopDelayMs: 0,
      eventLoopUtilization: 0,
      heapUsedBytes: 0,
      heapLimitBytes: 1,
      rssBytes: 0,
    };
    const registry = new Registry();
    const stack = new BulwarkStack<FastifyRequest>(
      { clock, metrics: { registry }, shedding: { maxHeapUsedRatio: 0.8, sampleIntervalMs: 2000 } },
      { start: () => {}, read: () => reading, stop: () => {} },
    );
    const app = Fastify();
    apps.push(app);
    await app.register(
      fp((instance, _options, done) => {
        install(instance, stack, true);
        done();
      }),
    );
    app.get('/', async () => 'ok');
    expect((await app.inject('/')).statusCode).toBe(200);
    reading = { ...reading, heapUsedBytes: 9, heapLimitBytes: 10 };
    await clock.advance(2000);
    const refused = await app.inject('/');
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    // Why it was shed is the metrics' business, not the caller's.
    expect(refused.json()).toMatchObject({ type: 'urn:bulwark:overloaded', status: 503 });
    expect(refused.body).not.toContain('heap');
    expect((await app.inject('/livez')).statusCode).toBe(200);
    expect(await registry.metrics()).toContain('bulwark_http_server_shed_total{reason="heap"} 1');
    reading = { ...reading, heapUsedBytes: 1 };
    await clock.advance(2000);
    expect((await app.inject('/')).statusCode).toBe(200);
  });

  it('stops sampling when the app closes', async () => {
    const clock = new FakeClock();
    const app = await appWith({ clock, shedding: { maxEventLoopDelayMs: 100 } });
    await app.ready();
    expect(clock.pendingTimers).toBe(1);
    await app.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('metrics', () => {
  it('serves the registry at /metrics with request durations by route template', async () => {
    const registry = new Registry();
    const app = await appWith({ metrics: { registry }, shedding: { limit: 5 } });
    app.get('/users/:id', async (request) => request.params);
    await app.inject('/users/1');
    await app.inject('/users/2');
    await app.inject('/nowhere');
    await app.inject('/livez');
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(registry.contentType);
    expect(res.body).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="/users/:id",status_code="200"} 2',
    );
    expect(res.body).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="",status_code="404"} 1',
    );
    expect(res.body).toContain('bulwark_bulkhead_limit{policy="http-server"} 5');
    // Probes and scrapes are left out of the request metrics.
    expect(res.body).not.toContain('route="/livez"');
  });

  it('labels failed requests by route template: a Bulwark error, an unknown error, a 404', async () => {
    const registry = new Registry();
    const app = await appWith({ metrics: { registry } });
    app.get('/orders/:id', async () => {
      throw new BrokenCircuitError('circuit is open', 'payments', 1000);
    });
    app.get('/crash/:id', async () => {
      throw new Error('boom');
    });
    await app.register(
      async (api) => {
        api.get('/users/:id', async () => {
          throw new TimeoutError(50);
        });
      },
      { prefix: '/api' },
    );
    const url = await listening(app);
    const paths = ['/orders/1', '/crash/2', '/api/users/3', '/nowhere'];
    const statuses = [];
    for (const path of paths) statuses.push((await fetch(url + path)).status);
    expect(statuses).toEqual([503, 500, 504, 404]);
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = 'bulwark_http_server_request_duration_seconds_count{method="GET",route=';
    expect(text).toContain(`${count}"/orders/:id",status_code="503"} 1`);
    expect(text).toContain(`${count}"/crash/:id",status_code="500"} 1`);
    expect(text).toContain(`${count}"/api/users/:id",status_code="504"} 1`);
    expect(text).toContain(`${count}"",status_code="404"} 1`);
    expect(text).not.toContain('undefined');
  });

  it('leaves the registry when the app closes, so a new app can use it', async () => {
    const registry = new Registry();
    const first = await appWith({ metrics: { registry } });
    await first.close();
    expect(await registry.metrics()).not.toContain('bulwark_http_server_request_duration_seconds');
    const second = await appWith({ metrics: { registry } });
    await second.ready();
  });
});

describe('metrics of requests whose client left', () => {
  it('counts a request whose client left before the answer as 499, once', async () => {
    const registry = new Registry();
    const held = latch();
    const started = latch();
    const aborted = latch();
    const app = await appWith({ metrics: { registry } });
    // Runs after Bulwark's own onRequestAbort hook: by then the request has been counted.
    app.addHook('onRequestAbort', async (_request) => {
      aborted.open();
    });
    app.get('/hang', async () => {
      started.open();
      await held.promise;
      return 'late';
    });
    const url = await listening(app);
    const controller = new AbortController();
    const hung = fetch(`${url}/hang`, { signal: controller.signal });
    await started.promise;
    controller.abort();
    await expect(hung).rejects.toThrow();
    await aborted.promise;
    expect(await registry.metrics()).toContain('route="/hang",status_code="499"} 1');
    held.open();
    // The late answer, if it finishes at all, is not counted a second time.
    expect(await (await fetch(`${url}/metrics`)).text()).not.toContain('status_code="200"');
  });
});

describe('health under failure and shutdown', () => {
  it('answers /readyz 503 fail when a check hangs past its timeout, instead of hanging the probe', async () => {
    const clock = new FakeClock();
    const started = latch();
    const health = healthRegistry({ clock });
    health.register({
      name: 'db',
      kind: 'readiness',
      timeoutMs: 1_000,
      check: () => {
        started.open();
        return new Promise<never>(() => {});
      },
    });
    const app = await appWith({ health: { registry: health } });
    const url = await listening(app);
    const probe = fetch(`${url}/readyz`);
    await started.promise;
    await clock.advance(1_000);
    const res = await probe;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'fail', checks: { db: [{ status: 'fail' }] } });
  });

  it('on SIGTERM fails readiness, drains the request in flight, then closes the app', async () => {
    const clock = new FakeClock();
    const signals = new EventEmitter();
    const health = healthRegistry();
    const app = await appWith({ health: { registry: health } });
    const started = latch();
    const held = latch();
    app.get('/work', async () => {
      started.open();
      await held.promise;
      return 'finished';
    });
    const url = await listening(app);
    const shutdown = gracefulShutdown({
      server: app.server,
      registry: health,
      close: () => app.close(),
      signalSource: signals,
      clock,
      readinessDelayMs: 1_000,
      drainTimeoutMs: 5_000,
    });
    const inFlight = fetch(`${url}/work`);
    await started.promise;
    signals.emit('SIGTERM');
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    await clock.advance(1_000);
    expect(shutdown.state).toBe('draining');
    held.open();
    expect(await (await inFlight).text()).toBe('finished');
    expect(await shutdown.shutdown()).toMatchObject({ reason: 'SIGTERM', forced: false });
    expect(shutdown.state).toBe('closed');
    expect(app.server.listening).toBe(false);
  });
});

describe('Idempotency-Key', () => {
  interface Orders {
    readonly app: FastifyInstance;
    runs(): number;
    release(): void;
  }

  async function orders(
    options: Partial<IdempotencyOptions<FastifyRequest>> = {},
    hold = false,
  ): Promise<Orders> {
    const held = latch();
    if (!hold) held.open();
    let runs = 0;
    const app = await appWith(
      { idempotency: { identity: 'shared', ...options } },
      { maxParamLength: 100, http: { maxHeaderSize: 256 * 1024 } },
    );
    app.post('/orders', async (request, reply) => {
      runs++;
      const id = runs;
      await held.promise;
      void reply.code(201).header('location', `/orders/${id}`).header('set-cookie', 'session=1');
      return { id, item: (request.body as { item: string }).item };
    });
    app.post('/stream', async (_request, reply) => {
      runs++;
      void reply.type('text/plain');
      return Readable.from(['one,', 'two,', 'three']);
    });
    app.get('/orders', async () => ({ runs: ++runs }));
    return { app, runs: () => runs, release: held.open };
  }

  const post = (
    app: FastifyInstance,
    key: string | undefined,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...(key === undefined ? {} : { 'idempotency-key': key }), ...headers },
      payload: body as Record<string, unknown>,
    });

  it('runs a POST retried 5 times at once with one key once; every caller gets its answer or a 409', async () => {
    const o = await orders({}, true);
    const url = await listening(o.app);
    const send = () =>
      fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': '"order-1"' },
        body: '{"item":"book"}',
      });
    const calls = Array.from({ length: 5 }, send);
    await whenSettled(calls, 4);
    o.release();
    const answers = await Promise.all(calls);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const conflict = answers.find((r) => r.status === 409)!;
    expect(conflict.headers.get('content-type')).toBe('application/problem+json');
    expect(conflict.headers.get('retry-after')).toBe('1');
    const original = await answers.find((r) => r.status === 201)!.json();
    const replay = await send();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(original);
    expect(o.runs()).toBe(1);
  });

  it('replays the stored headers but not cookies, with the retry’s own correlation ID', async () => {
    const o = await orders();
    const first = await post(o.app, 'k-h', { item: 'pen' });
    expect(first.headers.location).toBe('/orders/1');
    const replay = await post(o.app, 'k-h', { item: 'pen' }, { 'x-request-id': 'retry-1' });
    expect(replay.statusCode).toBe(201);
    expect(replay.headers.location).toBe('/orders/1');
    expect(replay.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(replay.headers['set-cookie']).toBeUndefined();
    expect(replay.headers['x-request-id']).toBe('retry-1');
    expect(replay.json()).toEqual(first.json());
    expect(o.runs()).toBe(1);
  });

  it('answers 422 to the same key with another payload', async () => {
    const o = await orders();
    await post(o.app, 'k-1', { item: 'book' });
    const mismatch = await post(o.app, 'k-1', { item: 'lamp' });
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.headers['content-type']).toBe('application/problem+json');
    expect(mismatch.json()).toMatchObject({
      status: 422,
      type: 'urn:bulwark:idempotency:key-reused',
    });
    expect(o.runs()).toBe(1);
  });

  it('never shows one caller another caller’s response for the same key', async () => {
    const o = await orders({
      identity: ({ request }) => request.headers['x-user'] as string | undefined,
    });
    const alice = await post(o.app, 'shared', { item: 'book' }, { 'x-user': 'alice' });
    const bob = await post(o.app, 'shared', { item: 'book' }, { 'x-user': 'bob' });
    expect(alice.json()).toEqual({ id: 1, item: 'book' });
    expect(bob.json()).toEqual({ id: 2, item: 'book' });
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect(o.runs()).toBe(2);
  });

  it('lets GET through, keyed or not', async () => {
    const o = await orders();
    await o.app.inject({ url: '/orders', headers: { 'idempotency-key': 'g' } });
    await o.app.inject({ url: '/orders', headers: { 'idempotency-key': 'g' } });
    expect(o.runs()).toBe(2);
  });

  it('stores a streamed response whole and replays it', async () => {
    const o = await orders();
    const send = () =>
      o.app.inject({
        method: 'POST',
        url: '/stream',
        headers: { 'idempotency-key': 's' },
        payload: {},
      });
    expect((await send()).body).toBe('one,two,three');
    const replay = await send();
    expect(replay.body).toBe('one,two,three');
    expect(replay.headers['content-type']).toBe('text/plain');
    expect(o.runs()).toBe(1);
  });

  it('refuses a 100 KB key with 400, without echoing it', async () => {
    const o = await orders();
    const res = await post(o.app, 'k'.repeat(100 * 1024), { item: 'book' });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('kkkkkkkk');
    expect(res.json()).toMatchObject({ type: 'urn:bulwark:idempotency:key-invalid' });
    expect(o.runs()).toBe(0);
  });

  it('refuses keys with control characters, before the handler runs', async () => {
    const o = await orders();
    const url = await listening(o.app);
    const body = '{"item":"book"}';
    const raw = (key: string) =>
      rawRequest(
        url,
        `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nIdempotency-Key: ${key}\r\n\r\n${body}`,
      );
    expect((await raw('abc\x01def')).status).toBe(400);
    expect((await raw('abc\x7fdef')).status).toBe(400);
    for (const key of ['abc\tdef', 'caf\xe9']) {
      const res = await raw(key);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:bulwark:idempotency:key-invalid' });
    }
    expect(o.runs()).toBe(0);
  });

  it('refuses a repeated Idempotency-Key rather than pick one', async () => {
    const o = await orders();
    const url = await listening(o.app);
    const body = '{"item":"book"}';
    const res = await rawRequest(
      url,
      `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n\r\n${body}`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: 'The request carries more than one Idempotency-Key header.',
    });
    expect(o.runs()).toBe(0);
  });

  it('refuses a body that does not parse without claiming the key', async () => {
    const o = await orders();
    const broken = await o.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-broken' },
      payload: '{"item": "bo',
    });
    expect(broken.statusCode).toBe(400);
    expect(o.runs()).toBe(0);
    expect((await post(o.app, 'k-broken', { item: 'book' })).statusCode).toBe(201);
  });

  describe('when a request does not complete', () => {
    async function failing(options: Partial<IdempotencyOptions<FastifyRequest>> = {}) {
      const events: IdempotencyEvent[] = [];
      const waiting: Array<{ outcome: string; resolve: () => void }> = [];
      const runs = { fail: 0, hang: 0, big: 0, bigStream: 0 };
      const hang = latch();
      const app = await appWith({
        idempotency: {
          identity: 'shared',
          listener: (event) => {
            events.push(event);
            for (const w of waiting.splice(0)) {
              if (event.type === 'idempotency-completion' && event.outcome === w.outcome) {
                w.resolve();
              } else waiting.push(w);
            }
          },
          ...options,
        },
      });
      app.post('/fail', async (_request, reply) => {
        if (++runs.fail === 1) throw new Error('database went away');
        return reply.code(201).send({ ok: true });
      });
      app.post('/hang', async (_request, reply) => {
        runs.hang++;
        await hang.promise;
        return reply.code(201).send({ late: true });
      });
      app.post('/big', async (_request, reply) => {
        runs.big++;
        return reply.code(201).type('text/plain').send('x'.repeat(2_048));
      });
      app.post('/big-stream', async (_request, reply) => {
        runs.bigStream++;
        void reply.code(201).type('text/plain');
        return Readable.from(['x'.repeat(1_000), 'x'.repeat(1_000), 'x'.repeat(48)]);
      });
      const url = await listening(app);
      const completion = (outcome: string) =>
        events.some((e) => e.type === 'idempotency-completion' && e.outcome === outcome)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiting.push({ outcome, resolve }));
      const send = (path: string, signal?: AbortSignal) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
          body: '{}',
          signal,
        });
      return { runs, hang, completion, send };
    }

    it('frees the key when the handler throws, so the retry runs instead of replaying the 500', async () => {
      const app = await failing();
      expect((await app.send('/fail')).status).toBe(500);
      const retry = await app.send('/fail');
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect((await app.send('/fail')).headers.get('idempotent-replayed')).toBe('true');
      expect(app.runs.fail).toBe(2);
    });

    it('frees the key when the client leaves before the answer, so its retry is not refused', async () => {
      const app = await failing();
      const controller = new AbortController();
      const first = app.send('/hang', controller.signal);
      expect((await app.send('/hang')).status).toBe(409);
      controller.abort();
      await expect(first).rejects.toThrow();
      await app.completion('released');
      app.hang.open();
      expect((await app.send('/hang')).status).toBe(201);
      expect(app.runs.hang).toBe(2);
    });

    it('sends responses larger than maxBodyBytes in full but does not store them', async () => {
      const app = await failing({ maxBodyBytes: 1_024 });
      for (const path of ['/big', '/big-stream']) {
        const first = await app.send(path);
        expect((await first.text()).length).toBe(2_048);
        const again = await app.send(path);
        expect(again.headers.get('idempotent-replayed')).toBeNull();
        expect((await again.text()).length).toBe(2_048);
      }
      await app.completion('too-large');
      expect([app.runs.big, app.runs.bigStream]).toEqual([2, 2]);
    });

    it('insists on being told who the caller is', async () => {
      const app = Fastify();
      apps.push(app);
      await expect(app.register(bulwarkPlugin, { idempotency: {} as never })).rejects.toThrow(
        "expected idempotency.identity: a function returning who is calling (e.g. ({ request }) => request.user.id), or 'shared' to put every caller in one namespace",
      );
    });
  });

  describe('with Redis', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    async function client(): Promise<Redis> {
      const c = new Redis({ host: '127.0.0.1', port: redis.port });
      closers.push(() => c.disconnect());
      await new Promise((resolve) => c.once('ready', resolve));
      return c;
    }

    it('replays a response stored before the app restarted', async () => {
      const first = await orders({
        store: redisStore({ client: await client(), prefix: 'restart:' }),
      });
      const original = await post(first.app, 'k-restart', { item: 'book' });
      expect(original.statusCode).toBe(201);
      await first.app.close();
      for (const close of closers.splice(0)) await close();

      const second = await orders({
        store: redisStore({ client: await client(), prefix: 'restart:' }),
      });
      const replay = await post(second.app, 'k-restart', { item: 'book' });
      expect(replay.statusCode).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(original.json());
      expect(second.runs()).toBe(0);
    });

    it('runs concurrent duplicates once across two app instances sharing Redis', async () => {
      const a = await orders(
        { store: redisStore({ client: await client(), prefix: 'fleet:' }) },
        true,
      );
      const b = await orders(
        { store: redisStore({ client: await client(), prefix: 'fleet:' }) },
        true,
      );
      const urls = [await listening(a.app), await listening(b.app)];
      const calls = [0, 1, 0, 1, 0].map((i) =>
        fetch(`${urls[i]}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'k-fleet' },
          body: '{"item":"book"}',
        }),
      );
      await whenSettled(calls, 4);
      a.release();
      b.release();
      const answers = await Promise.all(calls);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
      expect(a.runs() + b.runs()).toBe(1);
      // Either instance replays the one stored answer.
      const replay = await fetch(`${urls[1]}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k-fleet' },
        body: '{"item":"book"}',
      });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('answers 503 and runs nothing when the store cannot be reached', async () => {
      const dead = new Redis(await unreachableRedis());
      closers.push(() => dead.disconnect());
      const o = await orders({ store: redisStore({ client: dead, timeoutMs: 200 }) });
      const res = await post(o.app, 'k-dead', { item: 'book' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(o.runs()).toBe(0);
    });
  });
});
