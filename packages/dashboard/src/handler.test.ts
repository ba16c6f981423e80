import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import express from 'express';
import Fastify from 'fastify';
import { bulwark } from '@bulwark/express';
import { bulwarkPlugin } from '@bulwark/fastify';
import { FakeClock, type Listening, listen, rawRequest } from '@bulwark/testing';
import { Registry } from 'prom-client';
import {
  type DashboardListener,
  type DashboardOptions,
  dashboardListener,
  isLocalRequest,
} from './index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function make(options: DashboardOptions = {}): DashboardListener {
  const dashboard = dashboardListener(options);
  cleanups.push(() => dashboard.close());
  return dashboard;
}

async function serve(dashboard: DashboardListener): Promise<Listening> {
  const served = await listen((req, res) => {
    if (!dashboard.handle(req, res)) res.end('the app');
  });
  cleanups.push(() => served.close());
  return served;
}

/** A GET as a proxy on this host would send it. */
function viaProxy(url: string, path: string) {
  const { host } = new URL(url);
  return rawRequest(
    url,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n`,
  );
}

describe('the page over node:http', () => {
  it('serves the page, server-rendered with the current snapshot, only from loopback by default', async () => {
    const dashboard = make();
    dashboard({
      type: 'breaker-created',
      policy: 'circuit-breaker',
      name: 'payments',
      operation: undefined,
      key: undefined,
      state: 'closed',
    });
    const { url } = await serve(dashboard);
    const response = await fetch(`${url}/bulwark`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).toMatch(
      /<td data-k="name">payments<\/td>.*<td data-k="state" data-tone="ok">closed<\/td>/,
    );
    expect(html).toContain('<script src="/bulwark/assets/uPlot.iife.min.js" defer></script>');
    expect(await (await fetch(`${url}/other`)).text()).toBe('the app');
  });

  it('refuses a request a proxy forwarded from loopback when no authorize hook is given', async () => {
    const { url } = await serve(make());
    for (const path of ['/bulwark', '/bulwark/events', '/bulwark/assets/dashboard.js']) {
      const answer = await viaProxy(url, path);
      expect(answer.status).toBe(403);
      expect(answer.body).toBe('Forbidden\n');
    }
  });

  it('takes, without authorize, only loopback addresses that no proxy forwarded (isLocalRequest)', () => {
    const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
      isLocalRequest({ socket: { remoteAddress }, headers } as unknown as IncomingMessage);
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(from(address)).toBe(true);
    }
    for (const address of ['10.0.0.5', '192.0.2.2', '::ffff:10.0.0.5', 'fd00::2', '::', '']) {
      expect(from(address)).toBe(false);
    }
    for (const header of ['forwarded', 'x-forwarded-for', 'x-real-ip']) {
      expect(from('127.0.0.1', { [header]: '203.0.113.9' })).toBe(false);
    }
  });

  it('asks authorize for every request, page, stream and files, and gives a refusal no data', async () => {
    const asked: string[] = [];
    const dashboard = make({
      authorize: ({ request }) => {
        asked.push(request.url ?? '');
        return request.headers.authorization === 'Bearer let-me-in';
      },
    });
    dashboard({
      type: 'call',
      policy: 'pipeline',
      name: undefined,
      operation: 'secret.operation',
      outcome: 'success',
      durationMs: 1,
      error: undefined,
    });
    const { url } = await serve(dashboard);
    for (const path of ['/bulwark', '/bulwark/events', '/bulwark/assets/dashboard.js']) {
      const refused = await fetch(url + path);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toBe('Forbidden\n');
    }
    const allowed = await fetch(`${url}/bulwark`, {
      headers: { authorization: 'Bearer let-me-in' },
    });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('secret.operation');
    expect(asked).toEqual([
      '/bulwark',
      '/bulwark/events',
      '/bulwark/assets/dashboard.js',
      '/bulwark',
    ]);
  });

  it('lets no one in when authorize throws or rejects', async () => {
    const { url: throwing } = await serve(
      make({
        authorize: () => {
          throw new Error('session store down');
        },
      }),
    );
    const { url: rejecting } = await serve(
      make({ authorize: () => Promise.reject(new Error('x')) }),
    );
    expect((await fetch(`${throwing}/bulwark`)).status).toBe(403);
    expect((await fetch(`${rejecting}/bulwark`)).status).toBe(403);
  });

  it('answers only GET and HEAD, and 404 for files it does not have', async () => {
    const { url } = await serve(make());
    const post = await fetch(`${url}/bulwark`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const { host } = new URL(url);
    const dotted = await rawRequest(
      url,
      `GET /bulwark/assets/../../package.json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    expect(dotted.status).toBe(404);
    expect((await fetch(`${url}/bulwark/assets/%2e%2e%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${url}/bulwark/nothing`)).status).toBe(404);
    const head = await fetch(`${url}/bulwark`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('serves uPlot and its own script from the installed files', async () => {
    const { url } = await serve(make());
    const uplot = await fetch(`${url}/bulwark/assets/uPlot.iife.min.js`);
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await uplot.text()).toContain('uPlot');
    const script = await fetch(`${url}/bulwark/assets/dashboard.js`);
    expect(await script.text()).toContain("new EventSource(base + '/events')");
  });

  it('streams one full frame on connect, then one update per tick, the same bytes for every viewer', async () => {
    const clock = new FakeClock();
    const dashboard = make({ clock });
    const { url } = await serve(dashboard);
    const first = await openStream(`${url}/bulwark/events`);
    const second = await openStream(`${url}/bulwark/events`);
    expect(first.head).toContain('content-type: text/event-stream');
    await first.until((text) => text.includes('event: full'));
    await second.until((text) => text.includes('event: full'));
    expect(dashboard.viewers).toBe(2);
    const before = [first.text().length, second.text().length];
    await clock.advance(1_000);
    const a = await first.until((text) => text.length > before[0]! && text.endsWith('\n\n'));
    const b = await second.until((text) => text.length > before[1]! && text.endsWith('\n\n'));
    const updateA = a.slice(before[0]);
    expect(updateA).toMatch(/^data: \{"boot":"[0-9a-f-]+","tick":1,/);
    expect(updateA).toBe(b.slice(before[1]));
  });

  it('drops a viewer that stops reading instead of buffering for it', async () => {
    const clock = new FakeClock();
    const dashboard = make({ clock, maxBufferedBytes: 1024, maxOperations: 1_000 });
    // Enough rows that each tick's frame is a few hundred kilobytes.
    for (let i = 0; i < 600; i++) {
      dashboard({
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: `operation-${i}`,
        outcome: 'success',
        durationMs: 1,
        error: undefined,
      });
    }
    const { url } = await serve(dashboard);
    const stalled = await openStream(`${url}/bulwark/events`, { pause: true });
    expect(dashboard.viewers).toBe(1);
    // The kernel's socket buffers take the first frames; then the response's own buffer grows.
    for (let i = 0; i < 500 && dashboard.viewers > 0; i++) await clock.advance(1_000);
    expect(dashboard.viewers).toBe(0);
    // Read again, the client finds its stream ended by the server.
    stalled.resume();
    await stalled.closed;
  });

  it('refuses viewers past maxViewers with a 503 and Retry-After', async () => {
    const dashboard = make({ maxViewers: 1 });
    const { url } = await serve(dashboard);
    const first = await openStream(`${url}/bulwark/events`);
    await first.until((text) => text.includes('event: full'));
    const second = await fetch(`${url}/bulwark/events`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
  });
});

describe('mounted in an application', () => {
  it('is Express middleware: mounted before bulwark(), its streams never hold a shedding slot', async () => {
    const dashboard = make();
    const registry = new Registry();
    const app = express();
    app.use(dashboard.handle);
    const middleware = bulwark({
      shedding: { limit: 1 },
      metrics: { registry },
      // The same listener takes the idempotency gate's events.
      idempotency: { identity: 'shared', listener: dashboard },
    });
    cleanups.push(() => middleware.close());
    app.use(middleware);
    app.get('/work', (_req, res) => {
      res.send('done');
    });
    const served = await listen(app);
    cleanups.push(() => served.close());
    const viewers = await Promise.all(
      [0, 1, 2].map(() => openStream(`${served.url}/bulwark/events`)),
    );
    await Promise.all(viewers.map((v) => v.until((t) => t.includes('event: full'))));
    expect(dashboard.viewers).toBe(3);
    const work = await fetch(`${served.url}/work`);
    expect(work.status).toBe(200);
    expect(await work.text()).toBe('done');
  });

  it('shows the server’s requests in flight, shed and rate-limited answers as its /metrics registry counts them', async () => {
    const clock = new FakeClock();
    const dashboard = make({ clock });
    const registry = new Registry();
    const app = express();
    app.use(dashboard.handle);
    const middleware = bulwark({
      shedding: { limit: 1 },
      metrics: { registry },
      rateLimit: {
        limiter: { limit: 2, windowMs: 60_000 },
        identity: 'shared',
        paths: ['/limited'],
      },
    });
    cleanups.push(() => middleware.close());
    app.use(middleware);
    dashboard.observeServer({ registry });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async (_req, res) => {
      entered();
      await held;
      res.send('done');
    });
    app.get('/limited', (_req, res) => {
      res.send('ok');
    });
    const served = await listen(app);
    cleanups.push(() => served.close());

    const limited = [];
    for (let i = 0; i < 3; i++) limited.push((await fetch(`${served.url}/limited`)).status);
    expect(limited).toEqual([200, 200, 429]);
    const slow = fetch(`${served.url}/slow`);
    // Closed with the server if an assertion fails before it is released.
    slow.catch(() => undefined);
    await inside;
    // Its one slot taken: further requests are shed (the rate limit runs first, on its paths).
    expect((await fetch(`${served.url}/slow`)).status).toBe(503);
    expect((await fetch(`${served.url}/slow`)).status).toBe(503);

    const figure = (name: string, key: 'now' | 'rate') =>
      dashboard
        .snapshot()
        .tables.find((t) => t.id === 'server')
        ?.rows.find((r) => r.cells.name?.text === name)?.cells[key]?.text;
    await clock.advance(1_000);
    await expect.poll(() => figure('requests in flight', 'now')).toBe('1 / 1');
    expect(figure('shed (503)', 'now')).toBe('2');
    expect(figure('rate-limited (429)', 'now')).toBe('1');
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^bulwark_http_server_shed_total\{reason="limit"\} 2$/m);
    expect(metrics).toMatch(/^bulwark_http_server_rate_limited_total(\{[^}]*\})? 1$/m);

    release();
    expect((await slow).status).toBe(200);
    expect((await fetch(`${served.url}/limited`)).status).toBe(429);
    await clock.advance(1_000);
    await expect.poll(() => figure('requests in flight', 'now')).toBe('0 / 1');
    // Per second over the last tick: no new shed request, one more 429.
    expect(figure('shed (503)', 'rate')).toBe('0');
    expect(figure('rate-limited (429)', 'rate')).toBe('1.0');
  });

  it('is served by Fastify from an onRequest hook registered before the plugin', async () => {
    const dashboard = make();
    const app = Fastify();
    app.addHook('onRequest', (request, reply, done) => {
      if (dashboard.handle(request.raw, reply.raw)) reply.hijack();
      else done();
    });
    await app.register(bulwarkPlugin, { shedding: { limit: 1 } });
    app.get('/work', () => 'done');
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const viewer = await openStream(`${base}/bulwark/events`);
    await viewer.until((t) => t.includes('event: full'));
    const page = await fetch(`${base}/bulwark`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Bulwark</h1>');
    expect(await (await fetch(`${base}/work`)).text()).toBe('done');
    viewer.close();
  });
});

interface Stream {
  readonly head: string;
  text(): string;
  /** Resolves with the body so far once `test` holds; fails after a deadline. */
  until(test: (body: string) => boolean, timeoutMs?: number): Promise<string>;
  close(): void;
  resume(): void;
  readonly closed: Promise<void>;
}

/** An event stream read over a raw socket, so a test can stop reading it. */
function openStream(url: string, options: { pause?: boolean } = {}): Promise<Stream> {
  const { hostname, port, pathname, host } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let raw = '';
    let headEnd = -1;
    const waiters: Array<() => void> = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    // The server may reset a connection it drops: that is a close too.
    socket.on('error', () => undefined);
    cleanups.push(() => socket.destroy());
    socket.once('error', (error) => {
      if (headEnd === -1) reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
      if (headEnd === -1) {
        headEnd = raw.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        if (options.pause === true) socket.pause();
        resolve(stream);
      }
      for (const w of waiters.splice(0)) w();
    });
    const body = () => (headEnd === -1 ? '' : decodeChunked(raw.slice(headEnd + 4)));
    const stream: Stream = {
      get head() {
        return raw.slice(0, headEnd).toLowerCase();
      },
      text: body,
      until: (test, timeoutMs = 5_000) =>
        new Promise((done, fail) => {
          const deadline = setTimeout(
            () => fail(new Error(`stream: no match in ${timeoutMs} ms`)),
            timeoutMs,
          );
          const check = () => {
            const b = body();
            if (test(b)) {
              clearTimeout(deadline);
              done(b);
            } else {
              waiters.push(check);
            }
          };
          check();
        }),
      close: () => socket.destroy(),
      resume: () => socket.resume(),
      closed,
    };
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

/** The body of a chunked response read so far (complete chunks only). */
function decodeChunked(data: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return out;
    const size = parseInt(data.slice(at, lineEnd), 16);
    if (Number.isNaN(size) || size === 0) return out;
    const start = lineEnd + 2;
    // Sizes count bytes; these frames are ASCII or UTF-8, so compare in bytes.
    const rest = Buffer.from(data.slice(start), 'utf8');
    if (rest.length < size + 2) return out;
    out += rest.subarray(0, size).toString('utf8');
    at = start + rest.subarray(0, size).toString('utf8').length + 2;
  }
}
