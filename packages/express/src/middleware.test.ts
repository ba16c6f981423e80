import { EventEmitter } from 'node:events';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, TimeoutError } from '@bulwark/core';
import { currentContext, remainingMs } from '@bulwark/correlation';
import { adaptiveLimit } from '@bulwark/bulkhead';
import { gracefulShutdown, healthRegistry } from '@bulwark/health';
import { writeBudget } from '@bulwark/timeout';
import express, { type Express } from 'express';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';
import { bulwark, middlewareFor } from './middleware.js';
import { BulwarkStack, type PressureReading } from '@bulwark/server/internal';
import {
  FakeClock,
  type Listening,
  type RequestWatch,
  latch,
  listen,
  watchRequests,
} from '@bulwark/testing';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const open: Listening[] = [];
const closers: Array<() => void> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function serve(app: Express): Promise<string> {
  return (await serveWatched(app)).url;
}

/** Serves `app` and watches what its server sees, so tests wait on events, not sleeps. */
async function serveWatched(app: Express): Promise<{ url: string; watch: RequestWatch }> {
  const listening = await listen(app);
  open.push(listening);
  return { url: listening.url, watch: watchRequests(listening.server) };
}

function appWith(middleware: ReturnType<typeof bulwark>): Express {
  closers.push(() => middleware.close());
  const app = express();
  app.use(middleware);
  return app;
}

describe('correlation', () => {
  it('echoes a valid inbound x-request-id and gives the handler the same ID', async () => {
    const app = appWith(bulwark());
    app.get('/', (req, res) => {
      res.json({
        fromRequest: req.bulwark?.correlationId,
        fromContext: currentContext()?.correlationId,
      });
    });
    const url = await serve(app);
    const res = await fetch(url, { headers: { 'x-request-id': 'req-42' } });
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(await res.json()).toEqual({ fromRequest: 'req-42', fromContext: 'req-42' });
  });

  it('keeps req.bulwark per request, out of res.locals keys, and lets a handler replace it', async () => {
    const app = appWith(bulwark());
    app.get('/', (req, res) => {
      const seen = req.bulwark?.correlationId;
      const keys = Object.keys(res.locals);
      const json = JSON.stringify(res.locals);
      req.bulwark = { ...req.bulwark!, correlationId: 'replaced' };
      res.json({ seen, keys, json, after: req.bulwark?.correlationId });
    });
    const url = await serve(app);
    const [a, b] = await Promise.all([
      fetch(url, { headers: { 'x-request-id': 'req-a' } }).then((r) => r.json()),
      fetch(url, { headers: { 'x-request-id': 'req-b' } }).then((r) => r.json()),
    ]);
    expect(a).toEqual({ seen: 'req-a', keys: [], json: '{}', after: 'replaced' });
    expect(b).toEqual({ seen: 'req-b', keys: [], json: '{}', after: 'replaced' });
  });

  it('gives req.bulwark to a handler in a mounted sub-app', async () => {
    const app = appWith(bulwark());
    const sub = express();
    sub.get('/', (req, res) => res.json({ id: req.bulwark?.correlationId ?? null }));
    app.use('/sub', sub);
    const url = await serve(app);
    const res = await fetch(`${url}/sub/`, { headers: { 'x-request-id': 'req-sub' } });
    expect(await res.json()).toEqual({ id: 'req-sub' });
  });

  it('runs on a bare Node request without res.locals, with the context in currentContext()', async () => {
    const middleware = bulwark();
    closers.push(() => middleware.close());
    const listening = await listen((req, res) => {
      void middleware(req as never, res as never, (error?: unknown) => {
        res.end(error === undefined ? (currentContext()?.correlationId ?? 'none') : 'error');
      });
    });
    open.push(listening);
    const res = await fetch(listening.url, { headers: { 'x-request-id': 'req-bare' } });
    expect(res.headers.get('x-request-id')).toBe('req-bare');
    expect(await res.text()).toBe('req-bare');
  });

  it('generates a UUIDv7 when no ID came in, and never echoes an invalid one', async () => {
    const app = appWith(bulwark());
    app.get('/', (_req, res) => res.end());
    const url = await serve(app);
    const none = await fetch(url);
    expect(none.headers.get('x-request-id')).toMatch(UUID_V7);
    const hostile = await fetch(url, { headers: { 'x-request-id': 'a"b<script>' } });
    expect(hostile.headers.get('x-request-id')).toMatch(UUID_V7);
    const long = await fetch(url, { headers: { 'x-request-id': 'x'.repeat(129) } });
    expect(long.headers.get('x-request-id')).toMatch(UUID_V7);
  });

  it('keeps each handler in its own context across timers, under concurrent requests', async () => {
    const app = appWith(bulwark());
    app.get('/', async (req, res) => {
      const before = currentContext()?.correlationId;
      await sleep(Number(req.query.wait));
      await Promise.resolve();
      res.json({ before, after: currentContext()?.correlationId });
    });
    const url = await serve(app);
    const ids = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    const answers = await Promise.all(
      ids.map((id, i) =>
        fetch(`${url}/?wait=${(i * 7) % 20}`, { headers: { 'x-request-id': id } }).then(
          (r) => r.json() as Promise<{ before: string; after: string }>,
        ),
      ),
    );
    expect(answers).toEqual(ids.map((id) => ({ before: id, after: id })));
  });

  it('keeps the context through a body parser mounted after it, for a body that arrives late', async () => {
    const app = appWith(bulwark());
    // A parser that reads plain stream events, as many do (body-parser binds its own context).
    app.use((req, _res, next) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        req.body = JSON.parse(text) as unknown;
        next();
      });
    });
    app.post('/', (req, res) => {
      res.json({ id: currentContext()?.correlationId, body: req.body as unknown });
    });
    const url = new URL(await serve(app));
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/json', 'x-request-id': 'late-body' },
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
      // The rest of the body comes in a later packet, on a socket event.
      setTimeout(() => req.end('1}'), 20);
    });
    expect(JSON.parse(answer)).toEqual({ id: 'late-body', body: { a: 1 } });
  });

  it('echoes the ID in the configured header, or in none', async () => {
    const named = appWith(
      bulwark({ correlation: { headers: ['x-correlation-id'], responseHeader: 'x-trace' } }),
    );
    named.get('/', (_req, res) => res.end());
    const silent = appWith(bulwark({ correlation: { responseHeader: false } }));
    silent.get('/', (req, res) => res.send(req.bulwark?.correlationId));
    const a = await fetch(await serve(named), { headers: { 'x-correlation-id': 'c-1' } });
    expect(a.headers.get('x-trace')).toBe('c-1');
    const b = await fetch(await serve(silent), { headers: { 'x-request-id': 'c-2' } });
    expect(b.headers.get('x-request-id')).toBeNull();
    expect(await b.text()).toBe('c-2');
  });

  it('sets no context and no header when correlation is off', async () => {
    const app = appWith(bulwark({ correlation: false }));
    app.get('/', (req, res) =>
      res.json({ has: req.bulwark !== undefined, ctx: currentContext() !== undefined }),
    );
    const res = await fetch(await serve(app), { headers: { 'x-request-id': 'x' } });
    expect(res.headers.get('x-request-id')).toBeNull();
    expect(await res.json()).toEqual({ has: false, ctx: false });
  });
});

describe('deadline', () => {
  it('makes the caller’s remaining budget the deadline that outbound calls see', async () => {
    const clock = new FakeClock({ now: 5000 });
    const downstream = express();
    downstream.get('/', (req, res) =>
      res.json({ budget: req.headers['x-bulwark-timeout-ms'] ?? null }),
    );
    const downstreamUrl = await serve(downstream);
    const app = appWith(bulwark({ clock }));
    app.get('/', async (_req, res) => {
      const headers: Record<string, string> = {};
      // What an outbound client does: forward what is left of the request's budget.
      writeBudget(headers, remainingMs(currentContext(), clock));
      const answer = await fetch(downstreamUrl, { headers });
      res.json({ deadline: String(currentContext()?.deadline), downstream: await answer.json() });
    });
    const url = await serve(app);
    const res = await fetch(url, { headers: { 'x-bulwark-timeout-ms': '750' } });
    expect(await res.json()).toEqual({ deadline: '5750', downstream: { budget: '750' } });
    const none = await fetch(url);
    expect(await none.json()).toEqual({ deadline: 'Infinity', downstream: { budget: null } });
  });

  it('answers 504 without running the handler when the budget is already spent', async () => {
    let ran = false;
    const app = appWith(bulwark());
    app.get('/', (_req, res) => {
      ran = true;
      res.end();
    });
    app.use(bulwarkErrorHandler());
    const res = await fetch(await serve(app), { headers: { 'x-bulwark-timeout-ms': '0' } });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ type: 'urn:bulwark:deadline-exceeded', status: 504 });
    expect(ran).toBe(false);
  });

  it('answers 504 through Express’s own error handling when no Bulwark handler is mounted', async () => {
    const app = appWith(bulwark());
    app.get('/', (_req, res) => res.end());
    const res = await fetch(await serve(app), { headers: { 'grpc-timeout': '0m' } });
    expect(res.status).toBe(504);
  });

  it('ignores a malformed budget', async () => {
    const app = appWith(bulwark());
    app.get('/', (req, res) => res.json({ deadline: req.bulwark?.deadline === Infinity }));
    const res = await fetch(await serve(app), { headers: { 'x-bulwark-timeout-ms': '12.5' } });
    expect(await res.json()).toEqual({ deadline: true });
  });
});

describe('health routes', () => {
  it('answers /livez, /readyz and /startupz in application/health+json', async () => {
    const health = healthRegistry();
    health.register({ name: 'db', check: () => 'fail', kind: 'readiness' });
    const app = appWith(bulwark({ health: { registry: health } }));
    const url = await serve(app);
    const live = await fetch(`${url}/livez`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toBe('application/health+json');
    expect(live.headers.get('cache-control')).toBe('no-store');
    expect(await live.json()).toEqual({ status: 'pass', checks: {} });
    const ready = await fetch(`${url}/readyz?verbose=1`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'fail', checks: { db: [{ status: 'fail' }] } });
    expect((await fetch(`${url}/startupz`)).status).toBe(200);
    const head = await fetch(`${url}/livez`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves views at configured paths and leaves out those set to false', async () => {
    const app = appWith(
      bulwark({ health: { paths: { liveness: '/health/live', readiness: false } } }),
    );
    app.use((_req, res) => res.status(404).send('app'));
    const url = await serve(app);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(await ready.text()).toBe('app');
    expect((await fetch(`${url}/livez`, { method: 'POST' })).status).toBe(404);
  });

  it('shows details only when asked to', async () => {
    const health = healthRegistry({ version: '1.2.3' });
    const app = appWith(bulwark({ health: { registry: health, detailed: true } }));
    const body = (await (await fetch(`${await serve(app)}/livez`)).json()) as { version?: string };
    expect(body.version).toBe('1.2.3');
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
    const url = await serve(appWith(bulwark({ health: { registry: health } })));
    const probe = fetch(`${url}/readyz`);
    await started.promise;
    await clock.advance(1_000);
    const res = await probe;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'fail', checks: { db: [{ status: 'fail' }] } });
  });

  it('on SIGTERM fails readiness, drains the request in flight, then closes the server', async () => {
    const clock = new FakeClock();
    const signals = new EventEmitter();
    const health = healthRegistry();
    const app = appWith(bulwark({ health: { registry: health } }));
    const started = latch();
    const held = latch();
    app.get('/work', async (_req, res) => {
      started.open();
      await held.promise;
      res.send('finished');
    });
    const listening = await listen(app);
    open.push(listening);
    const shutdown = gracefulShutdown({
      server: listening.server,
      registry: health,
      signalSource: signals,
      clock,
      readinessDelayMs: 1_000,
      drainTimeoutMs: 5_000,
    });
    const inFlight = fetch(`${listening.url}/work`);
    await started.promise;
    signals.emit('SIGTERM');
    const ready = await fetch(`${listening.url}/readyz`);
    expect(ready.status).toBe(503);
    await clock.advance(1_000);
    expect(shutdown.state).toBe('draining');
    expect(listening.server.listening).toBe(false);
    held.open();
    const res = await inFlight;
    expect(await res.text()).toBe('finished');
    expect(await shutdown.shutdown()).toMatchObject({ reason: 'SIGTERM', forced: false });
    expect(shutdown.state).toBe('closed');
  });
});

describe('load shedding', () => {
  it('answers a flood with quick 503s and Retry-After while health routes still answer', async () => {
    const held = latch();
    let running = 0;
    const app = appWith(bulwark({ shedding: { limit: 2 } }));
    app.get('/work', async (_req, res) => {
      running++;
      await held.promise;
      res.send('done');
    });
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    const slow = [fetch(`${url}/work`), fetch(`${url}/work`)];
    await watch.arrived(2);
    expect(running).toBe(2);
    const flood = await Promise.all(Array.from({ length: 30 }, () => fetch(`${url}/work`)));
    expect(flood.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 503));
    expect(flood[0]!.headers.get('retry-after')).toBe('1');
    expect(flood[0]!.headers.get('content-type')).toBe('application/problem+json');
    expect(await flood[0]!.json()).toMatchObject({ type: 'urn:bulwark:overloaded', status: 503 });
    expect(flood[1]!.headers.get('x-request-id')).toMatch(UUID_V7);
    const live = await fetch(`${url}/livez`);
    expect(live.status).toBe(200);
    held.open();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    expect((await fetch(`${url}/work`)).status).toBe(200);
  });

  it('gives the slot back when the response ends, whatever way', async () => {
    const app = appWith(bulwark({ shedding: { limit: 1 } }));
    app.get('/ok', (_req, res) => res.send('ok'));
    app.get('/fail', () => {
      throw new Error('boom');
    });
    const url = await serve(app);
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${url}/ok`)).status).toBe(200);
      expect((await fetch(`${url}/fail`)).status).toBe(500);
    }
  });

  it('gives the slot back when the client goes away before the answer', async () => {
    const held = latch();
    let started = 0;
    const app = appWith(bulwark({ shedding: { limit: 1 } }));
    app.get('/hang', async (_req, res) => {
      started++;
      await held.promise;
      res.end();
    });
    app.get('/ok', (_req, res) => res.send('ok'));
    const { url, watch } = await serveWatched(app);
    const controller = new AbortController();
    const hung = fetch(`${url}/hang`, { signal: controller.signal });
    await watch.arrived(1);
    expect(started).toBe(1);
    expect((await fetch(`${url}/ok`)).status).toBe(503);
    controller.abort();
    await expect(hung).rejects.toThrow();
    // The refused /ok closed first; the hung request's close gave its slot back.
    await watch.closed(2);
    expect((await fetch(`${url}/ok`)).status).toBe(200);
    held.open();
  });

  it('lets requests wait in a bounded queue, in order, and refuses past it', async () => {
    const held = latch();
    const order: string[] = [];
    const app = appWith(bulwark({ shedding: { limit: 1, queue: 1 } }));
    app.get('/:name', async (req, res) => {
      order.push(req.params.name);
      if (req.params.name === 'first') await held.promise;
      res.send(req.params.name);
    });
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    const first = fetch(`${url}/first`);
    await watch.arrived(1);
    const second = fetch(`${url}/second`);
    // Queued by the time its arrival is counted.
    await watch.arrived(2);
    const third = await fetch(`${url}/third`);
    expect(third.status).toBe(503);
    held.open();
    expect(await (await first).text()).toBe('first');
    expect(await (await second).text()).toBe('second');
    expect(order).toEqual(['first', 'second']);
  });

  it('takes a queued request out of the queue when its client goes away', async () => {
    const held = latch();
    const seen: string[] = [];
    const app = appWith(bulwark({ shedding: { limit: 1, queue: 1 } }));
    app.get('/:name', async (req, res) => {
      seen.push(req.params.name);
      if (req.params.name === 'first') await held.promise;
      res.send(req.params.name);
    });
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    const first = fetch(`${url}/first`);
    await watch.arrived(1);
    const controller = new AbortController();
    const leaving = fetch(`${url}/leaving`, { signal: controller.signal });
    await watch.arrived(2);
    controller.abort();
    await expect(leaving).rejects.toThrow();
    await watch.closed(1);
    // The queue place is free again: this one waits instead of being refused.
    const third = fetch(`${url}/third`);
    await watch.arrived(3);
    held.open();
    expect((await first).status).toBe(200);
    expect((await third).status).toBe(200);
    expect(seen).toEqual(['first', 'third']);
  });

  it('refuses past an adaptive limit, through the bulkhead policy', async () => {
    const held = latch();
    let running = 0;
    const app = appWith(
      bulwark({
        shedding: { limit: adaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 1 }) },
      }),
    );
    app.get('/', async (_req, res) => {
      running++;
      await held.promise;
      res.send('ok');
    });
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    const first = fetch(url);
    await watch.arrived(1);
    expect(running).toBe(1);
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
    const stack = new BulwarkStack<express.Request>(
      {
        clock,
        metrics: { registry },
        shedding: { maxEventLoopDelayMs: 200, sampleIntervalMs: 3000 },
      },
      { start: () => {}, read: () => reading, stop: () => {} },
    );
    const app = appWith(middlewareFor(stack));
    app.get('/', (_req, res) => res.send('ok'));
    const url = await serve(app);
    expect((await fetch(url)).status).toBe(200);
    reading = { ...reading, eventLoopDelayMs: 450 };
    await clock.advance(3000);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect(await registry.metrics()).toContain(
      'bulwark_http_server_shed_total{reason="event-loop-delay"} 1',
    );
    reading = { ...reading, eventLoopDelayMs: 10 };
    await clock.advance(3000);
    expect((await fetch(url)).status).toBe(200);
  });
});

describe('metrics', () => {
  it('serves the registry at /metrics with request durations by route template', async () => {
    const registry = new Registry();
    const app = appWith(bulwark({ metrics: { registry }, shedding: { limit: 10 } }));
    const users = express.Router();
    users.get('/:id', (req, res) => res.json({ id: req.params.id }));
    app.use('/users', users);
    app.get('/teapot', (_req, res) => res.status(418).end());
    const url = await serve(app);
    await fetch(`${url}/users/1`);
    await fetch(`${url}/users/2`);
    await fetch(`${url}/teapot`);
    await fetch(`${url}/nowhere`);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    const text = await res.text();
    expect(text).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="/users/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="/teapot",status_code="418"} 1',
    );
    expect(text).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="",status_code="404"} 1',
    );
    // The shedding bulkhead's own gauges, from @bulwark/telemetry.
    expect(text).toContain('bulwark_bulkhead_limit{policy="http-server"} 10');
  });

  it('labels failed requests by route template: a Bulwark error, an unknown error, a 404', async () => {
    const registry = new Registry();
    const app = appWith(bulwark({ metrics: { registry } }));
    app.get('/orders/:id', () => {
      throw new BrokenCircuitError('circuit is open', 'payments', 1000);
    });
    app.get('/crash/:id', () => {
      throw new Error('boom');
    });
    const api = express.Router();
    api.get('/users/:id', () => {
      throw new TimeoutError(50);
    });
    api.get('/broken/:id', () => {
      throw new Error('boom');
    });
    app.use('/api', api);
    const v1 = express();
    v1.get('/carts/:id', () => {
      throw new Error('boom');
    });
    app.use('/v1', v1);
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    const paths = [
      '/orders/1',
      '/crash/2',
      '/api/users/3',
      '/api/broken/4',
      '/v1/carts/5',
      '/nowhere',
    ];
    const statuses = [];
    for (const path of paths) statuses.push((await fetch(url + path)).status);
    expect(statuses).toEqual([503, 500, 504, 500, 500, 404]);
    await watch.closed(paths.length);
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = 'bulwark_http_server_request_duration_seconds_count{method="GET",route=';
    expect(text).toContain(`${count}"/orders/:id",status_code="503"} 1`);
    expect(text).toContain(`${count}"/crash/:id",status_code="500"} 1`);
    expect(text).toContain(`${count}"/api/users/:id",status_code="504"} 1`);
    expect(text).toContain(`${count}"/api/broken/:id",status_code="500"} 1`);
    expect(text).toContain(`${count}"/v1/carts/:id",status_code="500"} 1`);
    expect(text).toContain(`${count}"",status_code="404"} 1`);
    expect(text).not.toContain('undefined');
  });

  it('leaves req.route for handlers to read as Express set it, with metrics on', async () => {
    const registry = new Registry();
    const app = appWith(bulwark({ metrics: { registry } }));
    const api = express.Router();
    api.get('/items/:id', (req, res) => {
      res.json({ path: (req.route as { path: string }).path, baseUrl: req.baseUrl });
    });
    app.use('/api', api);
    const res = await fetch(`${await serve(app)}/api/items/1`);
    expect(await res.json()).toEqual({ path: '/items/:id', baseUrl: '/api' });
  });

  it('records without a route when the path is false', async () => {
    const registry = new Registry();
    const app = appWith(bulwark({ metrics: { registry, path: false } }));
    app.use((_req, res) => res.status(404).send('app'));
    const url = await serve(app);
    expect(await (await fetch(`${url}/metrics`)).text()).toBe('app');
    expect(await registry.metrics()).toContain('route="",status_code="404"} 1');
  });

  it('counts a request whose client left before the answer as 499', async () => {
    const registry = new Registry();
    const held = latch();
    let started = false;
    const app = appWith(bulwark({ metrics: { registry } }));
    app.get('/hang', async (_req, res) => {
      started = true;
      await held.promise;
      res.end();
    });
    const { url, watch } = await serveWatched(app);
    const controller = new AbortController();
    const hung = fetch(`${url}/hang`, { signal: controller.signal });
    await watch.arrived(1);
    expect(started).toBe(true);
    controller.abort();
    await expect(hung).rejects.toThrow();
    await watch.closed(1);
    expect(await registry.metrics()).toContain('route="/hang",status_code="499"} 1');
    held.open();
  });
});

describe('bulwark()', () => {
  it('stops sampling and leaves the registry when closed', async () => {
    const registry = new Registry();
    const middleware = bulwark({ metrics: { registry }, shedding: { maxRssBytes: 1e12 } });
    expect(await registry.metrics()).toContain('bulwark_http_server_request_duration_seconds');
    middleware.close();
    expect(await registry.metrics()).not.toContain('bulwark_http_server_request_duration_seconds');
  });

  it('exposes the health registry behind its routes', () => {
    const health = healthRegistry();
    const middleware = bulwark({ health: { registry: health } });
    closers.push(() => middleware.close());
    expect(middleware.health).toBe(health);
    expect(bulwark({ health: false }).health).toBeUndefined();
  });
});
