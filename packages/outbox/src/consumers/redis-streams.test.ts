import type { PGlite, Transaction } from '@electric-sql/pglite';
import { type TestRedis, startRedis } from '@bulwark/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from '../adapters/pglite.js';
import { createInbox } from '../inbox.js';
import type { OutboxMessage } from '../message.js';
import { PGLITE_START_TIMEOUT_MS, freshPglite, uniqueTable, waitFor } from '../test-helpers.js';
import { redisStreamsTransport } from '../transports/redis-streams.js';
import {
  type ConsumedMessage,
  type RedisStreamsConsumer,
  redisStreamsConsumer,
} from './redis-streams.js';

let server: TestRedis;
let redis: Redis;
let db: PGlite;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis({ port: server.port, host: '127.0.0.1' });
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  redis.disconnect();
  await server.stop();
  await db.close();
});

const running: RedisStreamsConsumer[] = [];
afterEach(async () => {
  for (const consumer of running.splice(0)) await consumer.stop();
  await redis.flushall();
});

let topicCount = 0;
const uniqueTopic = (): string => `topic${++topicCount}`;
const context = { signal: new AbortController().signal };

function message(topic: string, n: number, overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: `0190f5a8-0000-7000-8000-${String(n).padStart(12, '0')}`,
    topic,
    key: `k${n % 3}`,
    payloadJson: JSON.stringify({ n }),
    headers: {},
    attempt: 1,
    enqueuedAt: Date.now(),
    ...overrides,
  };
}

async function publish(topic: string, ...ns: number[]): Promise<void> {
  const transport = redisStreamsTransport({ client: redis });
  for (const n of ns) await transport.publish(message(topic, n), context);
}

/** The fields of the first entry of a dead-letter stream. */
async function deadLetterFields(stream: string): Promise<string[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return entries[0]![1];
}

async function pending(topic: string, group: string): Promise<number> {
  const summary = (await redis.xpending(`outbox:${topic}`, group)) as [number, ...unknown[]];
  return summary[0];
}

function start<Tx>(options: Parameters<typeof redisStreamsConsumer<Tx>>[0]): RedisStreamsConsumer {
  const consumer = redisStreamsConsumer(options);
  running.push(consumer);
  return consumer;
}

describe('redisStreamsConsumer', () => {
  it('hands each message to the handler in stream order, and acknowledges it', async () => {
    const topic = uniqueTopic();
    await publish(topic, 1, 2, 3);
    const seen: ConsumedMessage[] = [];
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      handler: (m) => {
        seen.push(m);
        return Promise.resolve();
      },
    });
    await consumer.start();
    await waitFor(() => seen.length === 3, 'three messages');
    expect(seen.map((m) => m.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(seen[0]).toMatchObject({
      id: '0190f5a8-0000-7000-8000-000000000001',
      topic,
      key: 'k1',
      payloadJson: '{"n":1}',
      headers: {},
      stream: `outbox:${topic}`,
      deliveries: 1,
    });
    await waitFor(async () => (await pending(topic, 'g')) === 0, 'the acknowledgements');
  });

  it('retries a message whose handler failed once it has been pending claimIdleMs', async () => {
    const topic = uniqueTopic();
    await publish(topic, 1);
    const deliveries: number[] = [];
    const errors: unknown[] = [];
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      claimIdleMs: 100,
      handler: (m) => {
        deliveries.push(m.deliveries);
        return deliveries.length === 1 ? Promise.reject(new Error('flaky')) : Promise.resolve();
      },
      onError: ({ error, message: m }) => errors.push([error, m?.id]),
    });
    await consumer.start();
    await waitFor(() => deliveries.length === 2, 'the retry');
    expect(deliveries).toEqual([1, 2]);
    expect(errors).toEqual([[new Error('flaky'), '0190f5a8-0000-7000-8000-000000000001']]);
    await waitFor(async () => (await pending(topic, 'g')) === 0, 'the acknowledgement');
  });

  it('takes over a message a dead consumer read and never acknowledged', async () => {
    const topic = uniqueTopic();
    await publish(topic, 1);
    await redis.xgroup('CREATE', `outbox:${topic}`, 'g', '0');
    // A consumer that read the message and died before acknowledging it.
    await redis.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 10, 'STREAMS', `outbox:${topic}`, '>');
    const registry = new Registry();
    const seen: ConsumedMessage[] = [];
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      consumer: 'alive',
      claimIdleMs: 100,
      metrics: { registry },
      handler: (m) => {
        seen.push(m);
        return Promise.resolve();
      },
    });
    await consumer.start();
    await waitFor(() => seen.length === 1, 'the takeover');
    expect(seen[0]!.deliveries).toBe(2);
    await waitFor(async () => (await pending(topic, 'g')) === 0, 'the acknowledgement');
    const text = await registry.metrics();
    expect(text).toContain(
      `bulwark_outbox_consumer_redeliveries_total{stream="outbox:${topic}",group="g"} 1`,
    );
    expect(text).toContain(
      `bulwark_outbox_consumer_messages_total{stream="outbox:${topic}",group="g",outcome="processed"} 1`,
    );
  });

  it('moves a message delivered more than maxDeliveries times to the dead-letter stream', async () => {
    const topic = uniqueTopic();
    await publish(topic, 1, 2);
    const seen: number[] = [];
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      claimIdleMs: 50,
      maxDeliveries: 2,
      onError: () => undefined,
      handler: (m) => {
        seen.push((m.payload as { n: number }).n);
        return (m.payload as { n: number }).n === 1
          ? Promise.reject(new Error('poison'))
          : Promise.resolve();
      },
    });
    await consumer.start();
    await waitFor(async () => (await redis.xlen(`outbox:${topic}:dead`)) === 1, 'the dead letter');
    expect(seen.filter((n) => n === 1)).toHaveLength(2);
    expect(seen).toContain(2);
    const fields = await deadLetterFields(`outbox:${topic}:dead`);
    expect(fields).toEqual(
      expect.arrayContaining([
        'id',
        '0190f5a8-0000-7000-8000-000000000001',
        'payload',
        '{"n":1}',
        'dead_reason',
        'delivered 3 times, more than maxDeliveries (2)',
        'dead_group',
        'g',
      ]),
    );
    await waitFor(async () => (await pending(topic, 'g')) === 0, 'the acknowledgement');
  });

  it.each([
    [['topic', 'x', 'payload', '{}'], 'malformed entry: no usable id field'],
    [
      ['id', 'a b', 'topic', 'x', 'payload', '{}'],
      'malformed entry: the id is not printable ASCII',
    ],
    [['id', 'i'.repeat(201), 'topic', 'x', 'payload', '{}'], 'malformed entry: no usable id field'],
    [['id', 'i', 'topic', 'x\n', 'payload', '{}'], 'malformed entry: no usable topic field'],
    [['id', 'i', 'topic', 'x', 'payload', '{'], 'malformed entry: the payload is not JSON'],
    [['id', 'i', 'topic', 'x'], 'malformed entry: no payload field'],
    [
      ['id', 'i', 'topic', 'x', 'payload', '1', 'headers', '{"a":1}'],
      'malformed entry: the headers are not an object of strings',
    ],
  ])(
    'dead-letters an entry it cannot read (%j) without calling the handler',
    async (fields, reason) => {
      const topic = uniqueTopic();
      await redis.xadd(`outbox:${topic}`, '*', ...fields);
      let called = false;
      const consumer = start({
        client: redis,
        topics: [topic],
        group: 'g',
        handler: () => {
          called = true;
          return Promise.resolve();
        },
      });
      await consumer.start();
      await waitFor(
        async () => (await redis.xlen(`outbox:${topic}:dead`)) === 1,
        'the dead letter',
      );
      const dead = await deadLetterFields(`outbox:${topic}:dead`);
      expect(dead).toEqual(expect.arrayContaining(['dead_reason', reason]));
      expect(called).toBe(false);
    },
  );

  it('reads only new entries when its group starts at $', async () => {
    const topic = uniqueTopic();
    await publish(topic, 1);
    const seen: unknown[] = [];
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      startId: '$',
      handler: (m) => {
        seen.push(m.payload);
        return Promise.resolve();
      },
    });
    await consumer.start();
    await publish(topic, 2);
    await waitFor(() => seen.length === 1, 'the new message');
    expect(seen).toEqual([{ n: 2 }]);
  });

  it('stops at once, in the middle of a long blocking read', async () => {
    const topic = uniqueTopic();
    const consumer = redisStreamsConsumer({
      client: redis,
      topics: [topic],
      group: 'g',
      blockMs: 30_000,
      claimIdleMs: 120_000,
      handler: () => Promise.resolve(),
    });
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await consumer.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('redisStreamsConsumer with an inbox', () => {
  async function setUp() {
    const effects = uniqueTable('effects');
    await db.exec(`CREATE TABLE ${effects} (message_id text, n int)`);
    const inbox = createInbox({
      database: pgliteDatabase(db),
      name: 'billing',
      table: uniqueTable('inbox'),
    });
    await inbox.migrate();
    const count = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${effects}`)).rows[0]!.n;
    const effect = (tx: Transaction, m: ConsumedMessage) =>
      tx.query(`INSERT INTO ${effects} VALUES ($1, $2)`, [m.id, (m.payload as { n: number }).n]);
    return { inbox, count, effect, effects };
  }

  it('applies the effect of a message published twice once', async () => {
    const topic = uniqueTopic();
    const { inbox, count, effect } = await setUp();
    await publish(topic, 1, 2, 1);
    const registry = new Registry();
    let handled = 0;
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      inbox,
      metrics: { registry, prefix: 'inbox_' },
      handler: async (m, { tx }) => {
        handled++;
        await effect(tx, m);
      },
    });
    await consumer.start();
    await waitFor(async () => (await pending(topic, 'g')) === 0 && handled >= 2, 'the batch');
    expect(await count()).toBe(2);
    expect(handled).toBe(2);
    expect(await registry.metrics()).toContain(
      `inbox_outbox_consumer_messages_total{stream="outbox:${topic}",group="g",outcome="duplicate"} 1`,
    );
  });

  it('rolls back the effects of a failed handler, processes the rest of its batch, and retries it alone', async () => {
    const topic = uniqueTopic();
    const { inbox, count, effect, effects } = await setUp();
    await publish(topic, 1, 2, 3);
    let failN2 = true;
    const consumer = start({
      client: redis,
      topics: [topic],
      group: 'g',
      inbox,
      claimIdleMs: 100,
      onError: () => undefined,
      handler: async (m, { tx }) => {
        await effect(tx, m);
        if ((m.payload as { n: number }).n === 2 && failN2) {
          failN2 = false;
          throw new Error('fails once');
        }
      },
    });
    await consumer.start();
    await waitFor(
      async () => (await count()) === 3 && (await pending(topic, 'g')) === 0,
      'all three',
    );
    const { rows } = await db.query<{ n: number }>(`SELECT n FROM ${effects} ORDER BY n`);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3]);
  });
});

describe('redisStreamsConsumer() options', () => {
  const handler = () => Promise.resolve();
  it('rejects a client that is not an ioredis client', () => {
    expect(() =>
      redisStreamsConsumer({ client: {} as never, topics: ['t'], group: 'g', handler }),
    ).toThrow('expected client to be an ioredis client, got an object');
  });

  it.each([
    [{ topics: [] }, TypeError, 'expected topics to be a non-empty array'],
    [{ topics: ['bad topic'] }, RangeError, 'expected topic to be made of'],
    [{ group: 'g\n' }, RangeError, 'expected group without control characters'],
    [{ group: '' }, TypeError, 'expected group to be a non-empty string'],
    [{ handler: undefined }, TypeError, 'expected handler to be a function'],
    [{ maxDeliveries: 0 }, RangeError, 'expected maxDeliveries to be an integer'],
    [{ startId: '>' }, TypeError, 'expected startId to be one of "0", "$"'],
    [{ inbox: {} }, TypeError, 'expected inbox to be a createInbox() inbox'],
    [{ claimIdle: 5 }, TypeError, 'did you mean "claimIdleMs"?'],
  ])('rejects %j', (options, Kind, text) => {
    const build = () =>
      redisStreamsConsumer({
        client: redis,
        topics: ['t'],
        group: 'g',
        handler,
        ...options,
      } as never);
    expect(build).toThrow(Kind);
    expect(build).toThrow(text);
  });
});
