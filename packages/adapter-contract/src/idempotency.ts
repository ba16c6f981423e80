import { type IdempotencyEvent, redisStore } from '@bulwark/idempotency';
import type { IdempotencyOptions } from '@bulwark/server';
import {
  type TestRedis,
  latch,
  rawRequest,
  startRedis,
  unreachableRedis,
  whenSettled,
} from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameworkRequest } from './adapter.js';
import { type Harness, problem } from './harness.js';

type Idempotency = Partial<IdempotencyOptions<FrameworkRequest>>;

interface OrderApp {
  readonly url: string;
  /** How many times a handler ran. */
  runs(): number;
  readonly release: () => void;
}

function post(url: string, key: string | undefined, body: unknown, headers = {}) {
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

/** A raw POST /orders with the given Idempotency-Key lines, as fetch() would refuse to send. */
function rawPost(url: string, keyLines: string): Promise<{ status: number; body: string }> {
  const body = '{"item":"book"}';
  return rawRequest(
    url,
    `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${keyLines}\r\n${body}`,
  );
}

export function idempotencyContract(h: Harness): void {
  /** An order service: POST /orders creates an order, optionally held until `release()`. */
  async function orderApp(
    idempotency: Idempotency = {},
    settings: { hold?: boolean; maxHeaderSize?: number } = {},
  ): Promise<OrderApp> {
    const held = latch();
    if (settings.hold !== true) held.open();
    let runs = 0;
    const app = await h.start(
      { idempotency: { identity: 'shared', ...idempotency } },
      {
        maxHeaderSize: settings.maxHeaderSize,
        routes: [
          {
            method: 'POST',
            path: '/orders',
            handler: async (request) => {
              const id = ++runs;
              await held.promise;
              return {
                status: 201,
                headers: { location: `/orders/${id}`, 'set-cookie': 'session=1' },
                body: { id, item: (request.body as { item?: string }).item },
              };
            },
          },
          { method: 'GET', path: '/orders', handler: () => ({ body: { runs: ++runs } }) },
        ],
      },
    );
    return { url: app.url, runs: () => runs, release: held.open };
  }

  describe('Idempotency-Key with the memory store', () => {
    it('runs a POST retried 5 times at once with one key once; every caller gets its answer or a 409', async () => {
      const app = await orderApp({}, { hold: true });
      const calls = Array.from({ length: 5 }, () => post(app.url, '"order-1"', { item: 'book' }));
      // Four duplicates find the key in progress and are turned away at once.
      await whenSettled(calls, 4);
      app.release();
      const answers = await Promise.all(calls);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
      const conflict = answers.find((r) => r.status === 409)!;
      expect(conflict.headers.get('content-type')).toBe('application/problem+json');
      expect(conflict.headers.get('retry-after')).toBe('1');
      const original = await answers.find((r) => r.status === 201)!.json();
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
      expect(replay.status).toBe(201);
      expect(replay.headers.get('location')).toBe('/orders/1');
      expect(replay.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(replay.headers.get('set-cookie')).toBeNull();
      expect(replay.headers.get('x-request-id')).toBe('retry');
      expect(await replay.json()).toEqual(await first.json());
      expect(app.runs()).toBe(1);
    });

    it('answers 422 to the same key with another payload', async () => {
      const app = await orderApp();
      expect((await post(app.url, 'k-1', { item: 'book' })).status).toBe(201);
      const mismatch = await post(app.url, 'k-1', { item: 'lamp' });
      expect(mismatch.status).toBe(422);
      expect(await problem(mismatch)).toMatchObject({
        status: 422,
        type: 'urn:bulwark:idempotency:key-reused',
      });
      expect(app.runs()).toBe(1);
    });

    it('matches a payload by content, not by key order', async () => {
      const app = await orderApp();
      const send = (body: string) =>
        fetch(`${app.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'k-order' },
          body,
        });
      expect((await send('{"a":1,"b":2}')).status).toBe(201);
      const reordered = await send('{"b":2,"a":1}');
      expect(reordered.status).toBe(201);
      expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    });

    it('never shows one caller another caller’s response for the same key', async () => {
      const app = await orderApp({
        identity: ({ request }) => request.headers['x-user'] as string | undefined,
      });
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
      await fetch(`${app.url}/orders`);
      expect(app.runs()).toBe(3);
    });

    it('runs a POST without a key unprotected, or refuses it with 400 when keys are required', async () => {
      const optional = await orderApp();
      await post(optional.url, undefined, { item: 'a' });
      await post(optional.url, undefined, { item: 'a' });
      expect(optional.runs()).toBe(2);
      const required = await orderApp({ required: true });
      const missing = await post(required.url, undefined, { item: 'a' });
      expect(missing.status).toBe(400);
      expect(await problem(missing)).toMatchObject({ type: 'urn:bulwark:idempotency:key-missing' });
      expect(required.runs()).toBe(0);
    });

    it('insists on being told who the caller is', async () => {
      await expect(h.start({ idempotency: {} as never })).rejects.toThrow(
        new TypeError(
          "expected idempotency.identity: a function returning who is calling (e.g. ({ request }) => request.user.id), or 'shared' to put every caller in one namespace",
        ),
      );
    });
  });

  describe('Idempotency-Key against hostile input', () => {
    it('refuses a 100 KB key with 400, without echoing it', async () => {
      const app = await orderApp({}, { maxHeaderSize: 256 * 1024 });
      const res = await post(app.url, 'k'.repeat(100 * 1024), { item: 'book' });
      expect(res.status).toBe(400);
      const text = await res.clone().text();
      expect(text).not.toContain('kkkkkkkk');
      expect(await problem(res)).toMatchObject({ type: 'urn:bulwark:idempotency:key-invalid' });
      expect(app.runs()).toBe(0);
    });

    it('refuses keys with control characters, before the handler runs', async () => {
      const app = await orderApp();
      // Node's parser refuses most control characters itself, before any adapter sees them.
      expect((await rawPost(app.url, 'Idempotency-Key: abc\x01def\r\n')).status).toBe(400);
      expect((await rawPost(app.url, 'Idempotency-Key: abc\x7fdef\r\n')).status).toBe(400);
      // A tab inside the value and non-ASCII bytes get through Node: the key check refuses them.
      for (const key of ['abc\tdef', 'caf\xe9']) {
        const res = await rawPost(app.url, `Idempotency-Key: ${key}\r\n`);
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
      const res = await rawPost(app.url, 'Idempotency-Key: a\r\nIdempotency-Key: b\r\n');
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
      expect((await post(app.url, 'k-broken', { item: 'book' })).status).toBe(201);
      expect(app.runs()).toBe(1);
    });
  });

  incompleteRequests(h);
  redisStoreContract(h, orderApp);
}

function incompleteRequests(h: Harness): void {
  /** An app whose routes fail, hang or answer large, with completion events to wait on. */
  async function failingApp(idempotency: Idempotency = {}) {
    const events: IdempotencyEvent[] = [];
    const waiting: Array<{ outcome: string; resolve: () => void }> = [];
    const runs = { fail: 0, hang: 0, big: 0 };
    const hang = latch();
    const app = await h.start(
      {
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
          ...idempotency,
        },
      },
      {
        routes: [
          {
            method: 'POST',
            path: '/fail',
            handler: () => {
              if (++runs.fail === 1) throw new Error('database went away');
              return { status: 201, body: { ok: true } };
            },
          },
          {
            method: 'POST',
            path: '/hang',
            handler: async () => {
              runs.hang++;
              await hang.promise;
              return { status: 201, body: { late: true } };
            },
          },
          {
            method: 'POST',
            path: '/big',
            handler: () => {
              runs.big++;
              return { status: 201, body: 'x'.repeat(2_048) };
            },
          },
        ],
      },
    );
    /** Resolves once a completion event with this outcome has been seen. */
    const completion = (outcome: string) =>
      events.some((e) => e.type === 'idempotency-completion' && e.outcome === outcome)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ outcome, resolve }));
    const send = (path: string, signal?: AbortSignal) =>
      fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
        body: '{}',
        signal,
      });
    return { runs, hang, completion, send };
  }

  describe('Idempotency-Key when a request does not complete', () => {
    it('frees the key when the handler throws, so the retry runs instead of replaying the 500', async () => {
      const app = await failingApp();
      expect((await app.send('/fail')).status).toBe(500);
      const retry = await app.send('/fail');
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect((await app.send('/fail')).headers.get('idempotent-replayed')).toBe('true');
      expect(app.runs.fail).toBe(2);
    });

    it('frees the key when the client leaves before the answer, so its retry is not refused', async () => {
      const app = await failingApp();
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
  });
}

function redisStoreContract(
  h: Harness,
  orderApp: (idempotency?: Idempotency, settings?: { hold?: boolean }) => Promise<OrderApp>,
): void {
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
      h.closers.push(() => c.disconnect());
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
      // The first app goes away entirely: server, Bulwark and its Redis connection.
      await h.closeApps();
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
      // Either instance replays the one stored answer.
      const replay = await post(b.url, 'k-fleet', { item: 'book' });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('answers 503 and runs nothing when the store cannot be reached', async () => {
      const dead = new Redis(await unreachableRedis());
      h.closers.push(() => dead.disconnect());
      const app = await orderApp({ store: redisStore({ client: dead, timeoutMs: 200 }) });
      const res = await post(app.url, 'k-dead', { item: 'book' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(app.runs()).toBe(0);
    });
  });
}
