import type { PGlite } from '@electric-sql/pglite';
import { type TestRedis, startRedis, unreachableRedis } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from '../adapters/pglite.js';
import { isTransportUnavailableError } from '../errors.js';
import type { OutboxMessage } from '../message.js';
import { createOutbox } from '../outbox.js';
import { PGLITE_START_TIMEOUT_MS, freshPglite, uniqueTable, waitFor } from '../test-helpers.js';
import { redisStreamsTransport } from './redis-streams.js';

let server: TestRedis;
let redis: Redis;
let db: PGlite;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis({ port: server.port, host: '127.0.0.1' });
  // While the server is stopped, ioredis reports each failed reconnect: expected here.
  redis.on('error', () => undefined);
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  redis.disconnect();
  await server.stop();
  await db.close();
});
afterEach(async () => {
  await waitFor(() => redis.status === 'ready', 'the client to reconnect');
  await redis.flushall();
});

const context = { signal: new AbortController().signal };

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: '0190f5a8-0000-7000-8000-000000000001',
    topic: 'orders',
    key: 'o-1',
    payloadJson: '{"total":42}',
    headers: { 'x-tenant': 'acme' },
    attempt: 1,
    enqueuedAt: 1_767_225_600_000,
    ...overrides,
  };
}

async function entries(stream: string): Promise<Array<Record<string, string>>> {
  const raw = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return raw.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return record;
  });
}

describe('redisStreamsTransport', () => {
  it('adds each message to the stream of its topic, with the documented fields', async () => {
    const transport = redisStreamsTransport({ client: redis });
    const outcomes = await transport.publishBatch!(
      [message(), message({ id: 'other', key: undefined, headers: {}, topic: 'refunds' })],
      context,
    );
    expect(outcomes).toEqual([undefined, undefined]);
    expect(await entries('outbox:orders')).toEqual([
      {
        id: '0190f5a8-0000-7000-8000-000000000001',
        topic: 'orders',
        key: 'o-1',
        payload: '{"total":42}',
        headers: '{"x-tenant":"acme"}',
        enqueued_at: '1767225600000',
      },
    ]);
    expect(await entries('outbox:refunds')).toEqual([
      { id: 'other', topic: 'refunds', payload: '{"total":42}', enqueued_at: '1767225600000' },
    ]);
  });

  it('writes under its prefix, and trims to about maxLen entries', async () => {
    // One entry per stream node, so that approximate trimming trims to the entry.
    await redis.config('SET', 'stream-node-max-entries', '1');
    try {
      const transport = redisStreamsTransport({ client: redis, prefix: 'app:', maxLen: 3 });
      for (let i = 0; i < 10; i++) await transport.publish(message({ id: `m${i}` }), context);
      const kept = await entries('app:orders');
      expect(kept.length).toBeLessThan(10);
      expect(kept.at(-1)!.id).toBe('m9');
    } finally {
      await redis.config('SET', 'stream-node-max-entries', '100');
    }
  });

  it('fails every message as unavailable, at once, while the client cannot reach Redis', async () => {
    const offline = new Redis(await unreachableRedis());
    try {
      const transport = redisStreamsTransport({ client: offline });
      const outcomes = await transport.publishBatch!([message(), message()], context);
      expect(outcomes.every(isTransportUnavailableError)).toBe(true);
      await expect(transport.publish(message(), context)).rejects.toThrow(
        'redis-streams transport unavailable: the client is wait',
      );
    } finally {
      offline.disconnect();
    }
  });

  it('reports a command error as a plain failure: the message may be at fault', async () => {
    await redis.set('outbox:orders', 'not a stream');
    const transport = redisStreamsTransport({ client: redis });
    const [outcome] = await transport.publishBatch!([message()], context);
    expect(isTransportUnavailableError(outcome)).toBe(false);
    expect((outcome as Error).message).toMatch(/^WRONGTYPE/);
  });

  it('gives up as unavailable when the relay’s signal aborts first', async () => {
    const controller = new AbortController();
    server.pause();
    try {
      const transport = redisStreamsTransport({ client: redis });
      const pending = transport.publishBatch!([message()], { signal: controller.signal });
      controller.abort(new Error('publish timeout'));
      const [outcome] = await pending;
      expect(isTransportUnavailableError(outcome)).toBe(true);
    } finally {
      server.resume();
    }
  });

  // The connection can drop after the client said it was ready and the batch went out: ioredis
  // then holds the commands for its reconnects and, past maxRetriesPerRequest, fails them with
  // its own MaxRetriesPerRequestError, whose message names no connection. Redis's trouble still.
  it('fails a batch as unavailable when the connection drops under it and ioredis gives up', async () => {
    const client = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await waitFor(() => client.status === 'ready', 'the client to connect');
      const transport = redisStreamsTransport({ client });
      const pending = transport.publishBatch!([message(), message({ id: 'm2' })], context);
      client.stream.destroy();
      const outcomes = await pending;
      expect(outcomes.map((o) => (o as Error).name)).toEqual([
        'TransportUnavailableError',
        'TransportUnavailableError',
      ]);
      expect(String((outcomes[0] as Error).message)).toMatch(/max retries per request/);
    } finally {
      client.disconnect();
    }
  });

  const fake = { pipeline: (): unknown => undefined };
  it.each([
    [{}, TypeError, 'expected client to be an ioredis client'],
    [{ client: {} }, TypeError, 'expected client to be an ioredis client'],
    [{ client: fake, maxLen: 0 }, RangeError, 'expected maxLen'],
    [{ client: fake, prefx: '' }, TypeError, 'unknown option "prefx"'],
  ])('rejects the options %j', (options, Kind, text) => {
    expect(() => redisStreamsTransport(options as never)).toThrow(Kind);
    expect(() => redisStreamsTransport(options as never)).toThrow(text);
  });
});

describe('a relay publishing to Redis while Redis is down', () => {
  it('keeps every row unpublished and uncounted, then publishes each once when Redis is back', async () => {
    const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable() });
    await outbox.migrate();
    const ids = await db.transaction((tx) =>
      outbox.enqueue(
        tx,
        Array.from({ length: 20 }, (_, i) => ({ topic: 'orders', key: `k${i % 4}`, payload: i })),
      ),
    );
    await server.stop();
    let stopped = true;
    const outcomes: unknown[] = [];
    const transport = redisStreamsTransport({ client: redis });
    const relay = outbox.relay({
      transport: {
        name: transport.name,
        publish: (m, c) => transport.publish(m, c),
        publishBatch: async (messages, c) => {
          const result = await transport.publishBatch!(messages, c);
          outcomes.push(...result);
          return result;
        },
      },
      pollIntervalMs: 100,
      maxAttempts: 1,
    });
    await relay.start();
    try {
      // The relay backs off between attempts while the broker is down, and ioredis retries its
      // connection in between: on a loaded machine two rounds take longer than waitFor's default.
      await waitFor(
        () => outcomes.length >= 8,
        'a few attempts against the stopped server',
        60_000,
      );
      expect(outcomes.every(isTransportUnavailableError)).toBe(true);
      const { rows } = await db.query<{ n: number; attempts: number }>(
        `SELECT count(*)::int AS n, max(attempts) AS attempts FROM ${outbox.table} WHERE published_at IS NULL`,
      );
      expect(rows[0]).toEqual({ n: 20, attempts: 0 });
      expect(await outbox.deadLetters.list()).toEqual([]);

      await server.start();
      stopped = false;
      await waitFor(
        async () => {
          const { rows: left } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${outbox.table}`,
          );
          return left[0]!.n === 0;
        },
        'the outbox to drain',
        60_000,
      );
      const published = await entries('outbox:orders');
      expect(published.map((entry) => entry.id).sort()).toEqual([...ids].sort());
      for (let k = 0; k < 4; k++) {
        const order = published.filter((e) => e.key === `k${k}`).map((e) => Number(e.payload));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    } finally {
      await relay.stop();
      if (stopped) await server.start();
    }
  }, 150_000);
});
