import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { startRedis } from '@bulwark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from './express-api.js';
import { createGateway } from './fastify-gateway.js';
import { type InventoryReplica, startInventoryReplica } from './inventory-stub.js';
import { createSessionReader } from './redis-call.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function replicas(count: number): Promise<InventoryReplica[]> {
  const started: InventoryReplica[] = [];
  for (let i = 0; i < count; i++) {
    const replica = await startInventoryReplica();
    cleanups.push(() => replica.close());
    started.push(replica);
  }
  return started;
}

describe('the Express API example', () => {
  it('answers every product while one inventory replica answers 503, and serves readiness and metrics', async () => {
    const [sick, healthy] = await replicas(2);
    sick!.sick = true;
    const { app, close } = createApp([sick!.url, healthy!.url]);
    cleanups.push(close);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${base}/products/a-${i}`);
      statuses.push(res.status);
      expect(await res.json()).toEqual({ sku: `a-${i}`, available: true });
    }
    expect(statuses).toEqual(Array(10).fill(200));

    const ready = await fetch(`${base}/readyz`);
    await ready.arrayBuffer();
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('operation="inventory.getItem"');
  });

  it('answers 502, not a bare 500, when every replica fails', async () => {
    const [a, b] = await replicas(2);
    a!.sick = true;
    b!.sick = true;
    const { app, close } = createApp([a!.url, b!.url]);
    cleanups.push(close);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    });
    const res = await fetch(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/products/x`,
    );
    await res.arrayBuffer();
    expect(res.status).toBe(502);
  });
});

describe('the Fastify gateway example', () => {
  it('streams the inventory answer back with its status and content type', async () => {
    const [replica] = await replicas(1);
    const app = await createGateway([replica!.url]);
    cleanups.push(() => app.close());
    const res = await app.inject({ method: 'GET', url: '/inventory/items/b%2F7' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ sku: 'b/7', stock: 7 });
  });
});

describe('the Redis example', () => {
  it('reads a session, and answers null through its fallback while Redis is down', async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const redis = new Redis(server.port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await redis.connect();
    cleanups.push(() => redis.disconnect());
    await redis.set('session:42', 'alice');
    const read = createSessionReader(redis);
    expect(await read('42')).toBe('alice');

    await server.stop();
    expect(await read('42')).toBeNull();
  });
});
