import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idempotency } from './idempotency.js';
import { redisStore } from './stores/redis.js';
import { type HandlerResult, type TestApp, send, startApp } from './test-app.js';
import { type TestRedis, startRedis } from '@bulwark/testing';

const apps: TestApp[] = [];
const clients: Redis[] = [];

async function connectClient(port: number): Promise<Redis> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const client of clients.splice(0)) client.disconnect();
});

function created(run: number): HandlerResult {
  return {
    status: 201,
    headers: { 'content-type': 'application/json', location: `/orders/${run}` },
    body: JSON.stringify({ id: run }),
  };
}

async function appOn(
  client: Redis,
  handler = async ({ run }: { run: number }) => created(run),
): Promise<TestApp> {
  const app = await startApp({ idem: idempotency({ store: redisStore({ client }) }), handler });
  apps.push(app);
  return app;
}

describe('idempotency over HTTP with Redis', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('runs a POST retried 5 times concurrently with one key once: one answer, the rest 409', async () => {
    const client = await connectClient(server.port);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const app = await appOn(client, async ({ run }) => {
      await gate;
      return created(run);
    });
    const answers = Promise.all(
      Array.from({ length: 5 }, () => send(app.url, { key: '"redis-order-1"' })),
    );
    while (app.decisions.length < 5) await new Promise((resolve) => setImmediate(resolve));
    open();
    const results = await answers;
    expect(app.runs).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const replay = await send(app.url, { key: '"redis-order-1"' });
    expect(replay.body).toBe(results.find((r) => r.status === 201)!.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('shares claims between two app instances on one Redis', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const handler = async ({ run }: { run: number }): Promise<HandlerResult> => {
      await gate;
      return created(run);
    };
    const a = await appOn(await connectClient(server.port), handler);
    const b = await appOn(await connectClient(server.port), handler);
    const answers = Promise.all([
      send(a.url, { key: '"fleet"' }),
      send(b.url, { key: '"fleet"' }),
      send(a.url, { key: '"fleet"' }),
      send(b.url, { key: '"fleet"' }),
      send(a.url, { key: '"fleet"' }),
    ]);
    while (a.decisions.length + b.decisions.length < 5) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    open();
    const results = await answers;
    expect(a.runs + b.runs).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('answers 422 to a mismatched payload and keeps callers apart', async () => {
    const app = await appOn(await connectClient(server.port), async ({ run }) => ({
      status: 201,
      body: `order ${run}`,
    }));
    expect((await send(app.url, { key: '"k2"', user: 'alice' })).body).toBe('order 1');
    expect((await send(app.url, { key: '"k2"', user: 'alice', body: '{"x":1}' })).status).toBe(422);
    expect((await send(app.url, { key: '"k2"', user: 'bob' })).body).toBe('order 2');
    expect((await send(app.url, { key: '"k2"', user: 'alice' })).body).toBe('order 1');
  });

  it('replays a record after the app restarts with a new client on the same Redis', async () => {
    const first = await appOn(await connectClient(server.port));
    const original = await send(first.url, { key: '"survives"', user: 'carol' });
    expect(original.status).toBe(201);
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    for (const client of clients.splice(0)) await client.quit();

    const restarted = await appOn(await connectClient(server.port));
    const replay = await send(restarted.url, { key: '"survives"', user: 'carol' });
    expect(replay.status).toBe(201);
    expect(replay.body).toBe(original.body);
    expect(replay.headers.get('location')).toBe(original.headers.get('location'));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(restarted.runs).toBe(0);
  });
});

describe('idempotency over HTTP during a Redis outage', () => {
  it('answers 503 to keyed requests instead of running them, and serves keyless ones', async () => {
    const server = await startRedis();
    try {
      const client = await connectClient(server.port);
      const app = await appOn(client);
      expect((await send(app.url, { key: '"before"' })).status).toBe(201);

      const down = new Promise((resolve) => client.once('close', resolve));
      await server.stop();
      await down;

      const answer = await send(app.url, { key: '"during"' });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(answer.body)).toMatchObject({ status: 503 });
      // A replay needs the store too: a known key is not run again either.
      expect((await send(app.url, { key: '"before"' })).status).toBe(503);
      expect(app.runs).toBe(1);
      // Requests without a key are not this package's business and still run.
      expect((await send(app.url)).status).toBe(201);
    } finally {
      await server.stop();
    }
  });
});
