// The servers `server-stack.mjs` puts under load, one variant per process, chosen by argv[2].
// Each listens on a free loopback port, sends the port to its parent over IPC, and answers
// `cpu` messages with its own CPU time so the runner can report CPU per request.
//
//   express-bare | express-hook | express-als | express-peer | express-stack   GET / (hello world)
//   fastify-bare | fastify-hook | fastify-als | fastify-peer | fastify-stack
//
// `*-hook` is the floor of any plugin: one middleware or onRequest hook that sets one response
// header to a constant and does nothing else. `*-als` is the floor of any request context that
// survives awaits: the same hook, running the rest of the request in AsyncLocalStorage.run().
// `*-peer` is what the issue compares against, written the way an app usually writes it: a
// request-ID hook (the inbound x-request-id or crypto.randomUUID(), echoed) and a prom-client
// histogram of durations by method, route and status, observed when the response finishes.
//   express-ratelimit | fastify-ratelimit    GET /: the stack plus an inbound rate limit per client
//                                            address, memory store, a limit no run reaches
//   express-post | express-replay-memory | express-replay-redis        POST /orders
//   fastify-post | fastify-replay-memory | fastify-replay-redis
//
// The Redis variants read the server's port from REDIS_PORT.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import express from 'express';
import Fastify from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { bulwark, bulwarkErrorHandler } from '@bulwark/express';
import { bulwarkPlugin } from '@bulwark/fastify';
import { memoryStore, redisStore } from '@bulwark/idempotency';

const variant = process.argv[2] ?? '';
const [framework, kind, storeName] = variant.split('-');

const HELLO = { hello: 'world' };
/** As long as the correlation IDs Bulwark makes (a UUID). */
const FIXED_ID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const storage = new AsyncLocalStorage();
const FIXED_CONTEXT = { correlationId: FIXED_ID };
let orders = 0;

function store() {
  if (storeName === 'redis') {
    const client = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
    return redisStore({ client });
  }
  return memoryStore();
}

/**
 * Bulwark's whole stack: correlation, deadline, health, metrics, shedding, and idempotency; the
 * `ratelimit` variants add a rate limit per client address.
 */
function stackOptions() {
  return {
    metrics: { registry: new Registry() },
    // High enough never to refuse under 100 connections: the benchmark measures the admission cost.
    shedding: { limit: 10_000, maxEventLoopDelayMs: 1_000 },
    idempotency: { store: store(), identity: ({ request }) => request.headers['x-api-client'] },
    ...(kind === 'ratelimit'
      ? {
          rateLimit: {
            // Ten million a second: never reached, so every request pays for a granted permit.
            limiter: { limit: 10_000_000, windowMs: 1_000 },
            identity: ({ request }) => request.ip,
          },
        }
      : {}),
  };
}

/** The peer's histogram: prom-client's default buckets, the labels most apps use. */
function peerHistogram() {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status_code'],
    registers: [new Registry()],
  });
}

/** An inbound x-request-id of sane length and charset, or a new UUID. */
function peerRequestId(header) {
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
}

async function expressApp() {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (kind === 'bare' || kind === 'hook' || kind === 'als') {
    if (kind === 'hook') {
      app.use((_req, res, next) => {
        res.setHeader('x-request-id', FIXED_ID);
        next();
      });
    } else if (kind === 'als') {
      app.use((_req, res, next) => {
        res.setHeader('x-request-id', FIXED_ID);
        storage.run(FIXED_CONTEXT, next);
      });
    }
    app.get('/', (_req, res) => res.json(HELLO));
    return app.listen(0, '127.0.0.1');
  }
  if (kind === 'peer') {
    const histogram = peerHistogram();
    app.use((req, res, next) => {
      res.setHeader('x-request-id', peerRequestId(req.headers['x-request-id']));
      const end = histogram.startTimer();
      res.on('finish', () =>
        end({ method: req.method, route: req.route?.path ?? '', status_code: res.statusCode }),
      );
      next();
    });
    app.get('/', (_req, res) => res.json(HELLO));
    return app.listen(0, '127.0.0.1');
  }
  // Idempotency fingerprints the parsed body: the parser goes first. GET needs none.
  if (kind !== 'stack' && kind !== 'ratelimit') app.use(express.json());
  if (kind !== 'post') app.use(bulwark(stackOptions()));
  app.get('/', (_req, res) => res.json(HELLO));
  app.post('/orders', (req, res) => res.status(201).json({ id: ++orders, item: req.body.item }));
  app.use(bulwarkErrorHandler());
  return app.listen(0, '127.0.0.1');
}

async function fastifyApp() {
  const app = Fastify({ logger: false });
  if (kind === 'hook') {
    app.addHook('onRequest', (_request, reply, next) => {
      reply.header('x-request-id', FIXED_ID);
      next();
    });
  } else if (kind === 'als') {
    app.addHook('onRequest', (_request, reply, next) => {
      reply.header('x-request-id', FIXED_ID);
      storage.run(FIXED_CONTEXT, next);
    });
  } else if (kind === 'peer') {
    const histogram = peerHistogram();
    app.addHook('onRequest', (request, reply, next) => {
      reply.header('x-request-id', peerRequestId(request.headers['x-request-id']));
      next();
    });
    app.addHook('onResponse', (request, reply, next) => {
      histogram.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? '',
          status_code: reply.statusCode,
        },
        reply.elapsedTime / 1000,
      );
      next();
    });
  } else if (kind !== 'bare' && kind !== 'post') {
    await app.register(bulwarkPlugin, stackOptions());
  }
  app.get('/', async () => HELLO);
  app.post('/orders', async (request, reply) => {
    reply.code(201);
    return { id: ++orders, item: request.body.item };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

const server =
  framework === 'express'
    ? await expressApp()
    : framework === 'fastify'
      ? await fastifyApp()
      : undefined;
if (server === undefined) throw new Error(`unknown variant ${JSON.stringify(variant)}`);
if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));

process.on('message', (message) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ cpuMicros: user + system });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ port: server.address().port });
