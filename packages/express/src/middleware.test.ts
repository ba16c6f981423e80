import { request as httpRequest } from 'node:http';
import { currentContext } from '@bulwark/correlation';
import { healthRegistry } from '@bulwark/health';
import express, { type Express } from 'express';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';
import { bulwark } from './middleware.js';
import { type Listening, type RequestWatch, listen, watchRequests } from '@bulwark/testing';

// The behaviour both adapters share runs in the adapter contract (contract.test.ts); these
// tests pin what is Express's own: req.bulwark, mounted sub-apps, bare Node requests, body
// parsers mounted after the middleware, req.route, and the middleware's own API.

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
});

describe('metrics', () => {
  // Route labels of routers and plain routes run in the adapter contract; a mounted sub-app is
  // Express's own.
  it('labels a failed request in a mounted sub-app by its full route template', async () => {
    const registry = new Registry();
    const app = appWith(bulwark({ metrics: { registry } }));
    const v1 = express();
    v1.get('/carts/:id', () => {
      throw new Error('boom');
    });
    app.use('/v1', v1);
    app.use(bulwarkErrorHandler());
    const { url, watch } = await serveWatched(app);
    expect((await fetch(`${url}/v1/carts/5`)).status).toBe(500);
    await watch.closed(1);
    const text = await registry.metrics();
    expect(text).toContain(
      'bulwark_http_server_request_duration_seconds_count{method="GET",route="/v1/carts/:id",status_code="500"} 1',
    );
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
