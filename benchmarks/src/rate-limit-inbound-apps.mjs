// The servers `rate-limit-inbound.mjs` puts under load, one variant per process, chosen by
// argv[2] as `<framework>-<limiter>[-<store>]`. Each listens on a free loopback port, sends the
// port to its parent over IPC, and answers `cpu` messages with its own CPU time.
//
//   express-bare    express-bulwark-memory   express-erl-memory   express-bulwark-redis   express-erl-redis
//   fastify-bare    fastify-bulwark-memory   fastify-frl-memory   fastify-bulwark-redis   fastify-frl-redis
//
// `bulwark` is `bulwark({ rateLimit })` / `bulwarkPlugin` with only the rate limit on (no
// correlation, deadline or health routes), `erl` express-rate-limit (with rate-limit-redis for
// Redis), `frl` @fastify/rate-limit (with an ioredis client for Redis). Every limiter keys on the
// client address, sends its rate-limit headers, and allows far more than a run can spend, so
// every request pays for a granted permit and none is refused. The Redis variants read the
// server's port from REDIS_PORT.
import express from 'express';
import Fastify from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { RedisStore as ExpressRedisStore } from 'rate-limit-redis';
import { Redis } from 'ioredis';
import { bulwark } from '@bulwark/express';
import { bulwarkPlugin } from '@bulwark/fastify';
import { redisStore, tokenBucket } from '@bulwark/rate-limit';

const variant = process.argv[2] ?? '';
const [framework, limiter, storeName = 'memory'] = variant.split('-');

const HELLO = { hello: 'world' };
/** Far above what any run can spend in its window: every decision grants. */
const LIMIT = 10_000_000;
const WINDOW_MS = 60_000;

function redisClient() {
  return new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
}

/** Bulwark's rate limit alone: the parts on by default are turned off, to compare like with like. */
function bulwarkOptions() {
  const store = storeName === 'redis' ? redisStore({ client: redisClient() }) : undefined;
  return {
    correlation: false,
    deadline: false,
    health: false,
    rateLimit: {
      limiter: tokenBucket({ name: 'per-client', limit: LIMIT, windowMs: WINDOW_MS, store }),
      identity: ({ request }) => request.ip,
    },
  };
}

async function expressApp() {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (limiter === 'bulwark') app.use(bulwark(bulwarkOptions()));
  if (limiter === 'erl') {
    const client = storeName === 'redis' ? redisClient() : undefined;
    app.use(
      expressRateLimit({
        windowMs: WINDOW_MS,
        limit: LIMIT,
        // The IETF draft's RateLimit-Policy and RateLimit fields, as Bulwark sends.
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        store:
          client === undefined
            ? undefined
            : new ExpressRedisStore({ sendCommand: (...args) => client.call(...args) }),
      }),
    );
  }
  app.get('/', (_req, res) => res.json(HELLO));
  return app.listen(0, '127.0.0.1');
}

async function fastifyApp() {
  const app = Fastify({ logger: false });
  if (limiter === 'bulwark') await app.register(bulwarkPlugin, bulwarkOptions());
  if (limiter === 'frl') {
    await app.register(fastifyRateLimit, {
      max: LIMIT,
      timeWindow: WINDOW_MS,
      redis: storeName === 'redis' ? redisClient() : undefined,
    });
  }
  app.get('/', async () => HELLO);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

const known = ['bare', 'bulwark', 'erl', 'frl'];
const server =
  known.includes(limiter) && framework === 'express'
    ? await expressApp()
    : known.includes(limiter) && framework === 'fastify'
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
