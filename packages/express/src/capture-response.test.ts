import { type IdempotencyEvent, redisStore } from '@bulwark/idempotency';
import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';
import type { IdempotencyOptions } from '@bulwark/server';
import { bulwark } from './middleware.js';
import {
  type Listening,
  type TestRedis,
  latch,
  listen,
  rawRequest,
  startRedis,
  unreachableRedis,
  whenSettled,
} from '@bulwark/testing';

const open: Listening[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
  for (const close of closers.splice(0)) await close();
});

interface OrderApp {
  readonly url: string;
  /** How many times the handler ran. */
  runs(): number;
  readonly release: () => void;
}

/** An order service: POST /orders creates an order, optionally held until `release()`. */
async function orderApp(
  idempotency: Partial<IdempotencyOptions<express.Request>> = {},
  options: { hold?: boolean; maxHeaderSize?: number } = {},
): Promise<OrderApp> {
  const held = latch();
  if (options.hold !== true) held.open();
  let runs = 0;
  const middleware = bulwark({ idempotency: { identity: 'shared', ...idempotency } });
  closers.push(() => middleware.close());
  const app: Express = express();
  app.use(express.json());
  app.use(middleware);
  app.post('/orders', async (req, res) => {
    runs++;
    const id = runs;
    await held.promise;
    res.status(201).location(`/orders/${id}`).setHeader('set-cookie', 'session=1');
    res.json({ id, item: (req.body as { item?: string }).item });
  });
  app.get('/orders', (_req, res) => {
    runs++;
    res.json({ runs });
  });
  app.use(bulwarkErrorHandler());
  const listening = await listen(app, { maxHeaderSize: options.maxHeaderSize });
  open.push(listening);
  return { url: listening.url, runs: () => runs, release: held.open };
}

function post(
  url: string,
  key: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${url}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe('Idempotency-Key with the memory store', () => {
  it('runs a POST retried 5 times at once with one key once; every caller gets its answer or a 409', async () => {
    const app = await orderApp({}, { hold: true });
    const calls = Array.from({ length: 5 }, () => post(app.url, '"order-1"', { item: 'book' }));
    // Four duplicates find the key in progress and are turned away at once.
    await whenSettled(calls, 4);
    app.release();
    const answers = await Promise.all(calls);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    const conflict = answers.find((r) => r.status === 409)!;
    expect(conflict.headers.get('content-type')).toBe('application/problem+json');
    expect(conflict.headers.get('retry-after')).toBe('1');
    const created = answers.find((r) => r.status === 201)!;
    const original = await created.json();
    expect(original).toEqual({ id: 1, item: 'book' });
    // A retry after the first has finished gets the very same answer, replayed.
    const replay = await post(app.url, '"order-1"', { item: 'book' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(original);
    expect(app.runs()).toBe(1);
  });

  it('replays the stored headers but not cookies, with the retry’s own correlation ID', async () => {
    const app = await orderApp();
    const first = await post(app.url, 'k-headers', { item: 'pen' }, { 'x-request-id': 'first' });
    expect(first.headers.get('location')).toBe('/orders/1');
    const replay = await post(app.url, 'k-headers', { item: 'pen' }, { 'x-request-id': 'retry' });
    expect(replay.headers.get('location')).toBe('/orders/1');
    expect(replay.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(replay.headers.get('set-cookie')).toBeNull();
    expect(replay.headers.get('x-request-id')).toBe('retry');
    expect(app.runs()).toBe(1);
  });

  it('answers 422 to the same key with another payload', async () => {
    const app = await orderApp();
    expect((await post(app.url, 'k-1', { item: 'book' })).status).toBe(201);
    const mismatch = await post(app.url, 'k-1', { item: 'lamp' });
    expect(mismatch.status).toBe(422);
    expect(mismatch.headers.get('content-type')).toBe('application/problem+json');
    expect(await mismatch.json()).toMatchObject({
      status: 422,
      type: 'urn:bulwark:idempotency:key-reused',
    });
    expect(app.runs()).toBe(1);
  });

  it('matches a payload by content, not by key order', async () => {
    const app = await orderApp();
    const body = (a: unknown, b: unknown) => `{"a":${JSON.stringify(a)},"b":${JSON.stringify(b)}}`;
    await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-order' },
      body: body(1, 2),
    });
    const reordered = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-order' },
      body: '{"b":2,"a":1}',
    });
    expect(reordered.status).toBe(201);
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
  });

  it('never shows one caller another caller’s response for the same key', async () => {
    const app = await orderApp({ identity: ({ request }) => request.get('x-user') });
    const alice = await post(app.url, 'shared-key', { item: 'book' }, { 'x-user': 'alice' });
    const bob = await post(app.url, 'shared-key', { item: 'book' }, { 'x-user': 'bob' });
    expect(await alice.json()).toEqual({ id: 1, item: 'book' });
    expect(await bob.json()).toEqual({ id: 2, item: 'book' });
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    const aliceAgain = await post(app.url, 'shared-key', { item: 'book' }, { 'x-user': 'alice' });
    expect(await aliceAgain.json()).toEqual({ id: 1, item: 'book' });
    expect(app.runs()).toBe(2);
  });

  it('lets GET through with or without a key', async () => {
    const app = await orderApp();
    await fetch(`${app.url}/orders`, { headers: { 'idempotency-key': 'g' } });
    await fetch(`${app.url}/orders`, { headers: { 'idempotency-key': 'g' } });
    expect(app.runs()).toBe(2);
  });

  it('runs a POST without a key unprotected, or refuses it with 400 when keys are required', async () => {
    const optional = await orderApp();
    await post(optional.url, undefined, { item: 'a' });
    await post(optional.url, undefined, { item: 'a' });
    expect(optional.runs()).toBe(2);
    const required = await orderApp({ required: true });
    const missing = await post(required.url, undefined, { item: 'a' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ type: 'urn:bulwark:idempotency:key-missing' });
    expect(required.runs()).toBe(0);
  });

  it('stores a response written in several chunks whole', async () => {
    const middleware = bulwark({ idempotency: { identity: 'shared' } });
    closers.push(() => middleware.close());
    let runs = 0;
    const app = express();
    app.use(express.json());
    app.use(middleware);
    app.post('/stream', (_req, res) => {
      runs++;
      res.setHeader('content-type', 'text/plain');
      res.write('one,');
      res.write(Buffer.from('two,'));
      res.end('three', 'utf8');
    });
    const listening = await listen(app);
    open.push(listening);
    const send = () =>
      fetch(`${listening.url}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 's' },
        body: '{}',
      });
    expect(await (await send()).text()).toBe('one,two,three');
    const replay = await send();
    expect(await replay.text()).toBe('one,two,three');
    expect(replay.headers.get('content-type')).toBe('text/plain');
    expect(runs).toBe(1);
  });
});

describe('Idempotency-Key when a request does not complete', () => {
  /** An app whose routes fail, hang or answer large, with completion events to wait on. */
  async function failingApp(idempotency: Partial<IdempotencyOptions<express.Request>> = {}) {
    const events: IdempotencyEvent[] = [];
    let onEvent: (() => void) | undefined;
    const runs = { fail: 0, hang: 0, big: 0 };
    const hang = latch();
    const middleware = bulwark({
      idempotency: {
        identity: 'shared',
        listener: (event) => {
          events.push(event);
          onEvent?.();
        },
        ...idempotency,
      },
    });
    closers.push(() => middleware.close());
    const app = express();
    app.use(express.json());
    app.use(middleware);
    app.post('/fail', (_req, res) => {
      if (++runs.fail === 1) throw new Error('database went away');
      res.status(201).json({ ok: true });
    });
    app.post('/hang', async (_req, res) => {
      runs.hang++;
      await hang.promise;
      res.status(201).json({ late: true });
    });
    app.post('/big', (_req, res) => {
      runs.big++;
      res.status(201).type('text/plain').send('x'.repeat(2_048));
    });
    const listening = await listen(app);
    open.push(listening);
    /** Resolves once a completion event matching `outcome` has been seen. */
    const completion = (outcome: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (events.some((e) => e.type === 'idempotency-completion' && e.outcome === outcome)) {
            onEvent = undefined;
            resolve();
          }
        };
        onEvent = check;
        check();
      });
    const send = (path: string, signal?: AbortSignal) =>
      fetch(`${listening.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
        body: '{}',
        signal,
      });
    return { runs, hang, events, completion, send };
  }

  it('frees the key when the handler throws, so the retry runs instead of replaying the 500', async () => {
    const app = await failingApp();
    expect((await app.send('/fail')).status).toBe(500);
    const retry = await app.send('/fail');
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await app.send('/fail');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(app.runs.fail).toBe(2);
  });

  it('frees the key when the client leaves before the answer, so its retry is not refused', async () => {
    const app = await failingApp();
    const controller = new AbortController();
    const first = app.send('/hang', controller.signal);
    const conflict = await app.send('/hang');
    expect(conflict.status).toBe(409);
    const released = app.completion('released');
    controller.abort();
    await expect(first).rejects.toThrow();
    await released;
    app.hang.open();
    const retry = await app.send('/hang');
    expect(retry.status).toBe(201);
    expect(app.runs.hang).toBe(2);
  });

  it('sends a response larger than maxBodyBytes in full but does not store it', async () => {
    const app = await failingApp({ maxBodyBytes: 1_024 });
    const first = await app.send('/big');
    expect((await first.text()).length).toBe(2_048);
    await app.completion('too-large');
    const again = await app.send('/big');
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect((await again.text()).length).toBe(2_048);
    expect(app.runs.big).toBe(2);
  });

  it('insists on being told who the caller is', () => {
    expect(() => bulwark({ idempotency: {} as never })).toThrow(
      new TypeError(
        "expected idempotency.identity: a function returning who is calling (e.g. ({ request }) => request.user.id), or 'shared' to put every caller in one namespace",
      ),
    );
  });
});

describe('Idempotency-Key against hostile input', () => {
  it('refuses a 100 KB key with 400, without echoing it', async () => {
    const app = await orderApp({}, { maxHeaderSize: 256 * 1024 });
    const key = 'k'.repeat(100 * 1024);
    const res = await post(app.url, key, { item: 'book' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain('kkkkkkkk');
    expect(JSON.parse(text)).toMatchObject({ type: 'urn:bulwark:idempotency:key-invalid' });
    expect(app.runs()).toBe(0);
  });

  it('refuses keys with control characters, before the handler runs', async () => {
    const app = await orderApp();
    const body = '{"item":"book"}';
    const raw = (key: string) =>
      rawRequest(
        app.url,
        `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nIdempotency-Key: ${key}\r\n\r\n${body}`,
      );
    // Node's parser refuses most control characters itself, before any middleware.
    expect((await raw('abc\x01def')).status).toBe(400);
    expect((await raw('abc\x7fdef')).status).toBe(400);
    // A tab inside the value and non-ASCII bytes get through Node: the key check refuses them.
    for (const key of ['abc\tdef', 'caf\xe9']) {
      const res = await raw(key);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({
        type: 'urn:bulwark:idempotency:key-invalid',
        detail: 'The Idempotency-Key header contains characters outside printable ASCII.',
      });
    }
    expect(app.runs()).toBe(0);
  });

  it('refuses a repeated Idempotency-Key rather than pick one', async () => {
    const app = await orderApp();
    const body = '{"item":"book"}';
    const res = await rawRequest(
      app.url,
      `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n\r\n${body}`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      detail: 'The request carries more than one Idempotency-Key header.',
    });
    expect(app.runs()).toBe(0);
  });

  it('refuses a body that does not parse without claiming the key', async () => {
    const app = await orderApp();
    const broken = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-broken' },
      body: '{"item": "bo',
    });
    expect(broken.status).toBe(400);
    expect(app.runs()).toBe(0);
    const fixed = await post(app.url, 'k-broken', { item: 'book' });
    expect(fixed.status).toBe(201);
    expect(app.runs()).toBe(1);
  });

  it('answers 415 to a keyed body no parser read, rather than replay on a blind match', async () => {
    const app = await orderApp();
    const res = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'idempotency-key': 'k-text' },
      body: 'book',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ type: 'urn:bulwark:idempotency:body-unparsed' });
    expect(app.runs()).toBe(0);
  });
});

describe('Idempotency-Key with the Redis store', () => {
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
    const first = await orderApp({
      store: redisStore({ client: await client(), prefix: 'restart:' }),
    });
    const original = await post(first.url, 'k-restart', { item: 'book' });
    expect(original.status).toBe(201);
    const body = await original.json();
    // The first app goes away entirely: server, middleware and its Redis connection.
    await Promise.all(open.splice(0).map((l) => l.close()));
    for (const close of closers.splice(0)) await close();

    const second = await orderApp({
      store: redisStore({ client: await client(), prefix: 'restart:' }),
    });
    const replay = await post(second.url, 'k-restart', { item: 'book' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(body);
    expect(second.runs()).toBe(0);
  });

  it('runs concurrent duplicates once across two app instances sharing Redis', async () => {
    const a = await orderApp(
      { store: redisStore({ client: await client(), prefix: 'fleet:' }) },
      { hold: true },
    );
    const b = await orderApp(
      { store: redisStore({ client: await client(), prefix: 'fleet:' }) },
      { hold: true },
    );
    const calls = [a, b, a, b, a].map((app) => post(app.url, 'k-fleet', { item: 'book' }));
    await whenSettled(calls, 4);
    a.release();
    b.release();
    const statuses = (await Promise.all(calls)).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    expect(a.runs() + b.runs()).toBe(1);
  });

  it('answers 503 and runs nothing when the store cannot be reached', async () => {
    const dead = new Redis(await unreachableRedis());
    closers.push(() => dead.disconnect());
    const app = await orderApp({ store: redisStore({ client: dead, timeoutMs: 200 }) });
    const res = await post(app.url, 'k-dead', { item: 'book' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(app.runs()).toBe(0);
  });
});
