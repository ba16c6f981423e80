// @bulwark/outbox end to end, against a real PostgreSQL and redis-server on this machine (both
// started by @bulwark/testing, each in its own process): messages enqueued in transactions, a
// relay publishing them to a Redis Stream with the Redis Streams transport, and a consumer group
// processing them with an inbox in PostgreSQL. Every message carries the time it was enqueued,
// so the consumer measures enqueue-to-consume latency and the transport enqueue-to-publish.
//
// 1. Throughput: N messages enqueued as fast as four writers can (transactions of 100, over
//    1,000 keys), with the relay's batchSize 1, 100 and 500: messages per second from the first
//    enqueue to the last consumed, and the latencies.
// 2. Paced: 1,000 messages per second (10 every 10 ms), batchSize 100, LISTEN/NOTIFY on: the
//    enqueue-to-publish p99 (goal: under 50 ms).
// 3. The floor: the same throughput run with a naive relay that polls every 100 ms and publishes
//    one row at a time (XADD, then DELETE, one by one). Goal: Bulwark >= 10x its messages/s.
//
// Goals: >= 5,000 messages/s end to end on 2 cores; p99 enqueue-to-publish < 50 ms at 1,000/s.
//
//   node --expose-gc benchmarks/src/outbox.mjs [--quick]   (--quick: a few hundred messages, to check it runs)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  createInbox,
  createOutbox,
  pgDatabase,
  redisStreamsConsumer,
  redisStreamsTransport,
} from '@bulwark/outbox';
import { startPostgres, startRedis } from '@bulwark/testing';
import { formatNumber, machine, progress } from './harness.mjs';

const quick = process.argv.includes('--quick');
const TOTAL = quick ? 300 : 20_000;
const PACED_SECONDS = quick ? 1 : 10;
const KEYS = 1_000;
const WRITERS = 4;
const PER_TRANSACTION = 100;

const postgres = await startPostgres();
const redisServer = await startRedis();
const pool = new pg.Pool({ connectionString: postgres.url, max: 16 });
// The server's shutdown at the end reaches clients still closing as an error: expected there.
pool.on('error', () => undefined);
const redis = new Redis(redisServer.port, '127.0.0.1');
const database = pgDatabase(pool);

function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

let runs = 0;
/** A fresh outbox table, stream and inbox per run, so no run sees another's rows. */
async function setup() {
  const n = ++runs;
  const outbox = createOutbox({ database, table: `bench_outbox_${n}` });
  await outbox.migrate();
  const inbox = createInbox({ database, name: 'bench', table: `bench_inbox_${n}` });
  await inbox.migrate();
  const consumed = [];
  const consumer = redisStreamsConsumer({
    client: redis,
    topics: [`bench-${n}`],
    group: 'bench',
    inbox,
    batchSize: 500,
    blockMs: 200,
    async handler(message) {
      consumed.push(performance.now() - message.payload.t);
    },
  });
  await consumer.start();
  return { outbox, topic: `bench-${n}`, table: `bench_outbox_${n}`, consumer, consumed };
}

/** The Redis Streams transport, timing enqueue-to-publish of every message it publishes. */
function timedTransport(published) {
  const inner = redisStreamsTransport({ client: redis });
  const stamp = (messages) => {
    const now = performance.now();
    for (const m of messages) published.push(now - JSON.parse(m.payloadJson).t);
  };
  return {
    name: 'timed-redis-streams',
    async publish(message, context) {
      await inner.publish(message, context);
      stamp([message]);
    },
    async publishBatch(messages, context) {
      const outcomes = await inner.publishBatch(messages, context);
      stamp(messages.filter((_, i) => outcomes[i] === undefined));
      return outcomes;
    },
  };
}

async function enqueueMany(outbox, topic, count, offset = 0) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const messages = [];
    for (let i = 0; i < count; i++) {
      const n = offset + i;
      messages.push({ topic, key: `k${n % KEYS}`, payload: { n, t: performance.now() } });
    }
    await outbox.enqueue(client, messages);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/** Enqueues `total` messages from WRITERS concurrent writers, in transactions of 100. */
async function enqueueAll(outbox, topic, total) {
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < total) {
        const offset = next;
        const count = Math.min(PER_TRANSACTION, total - offset);
        next += count;
        await enqueueMany(outbox, topic, count, offset);
      }
    }),
  );
}

async function until(check, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The floor: every 100 ms, claim up to 100 rows and publish them one at a time, each XADD
 * awaited and each row deleted by its own statement, as a first outbox often does.
 */
function naiveRelay(table, prefix = 'outbox:') {
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(
          `SELECT seq, id, topic, key, payload FROM ${table} ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED`,
        );
        for (const row of rows) {
          const fields = ['id', row.id, 'topic', row.topic, 'payload', row.payload];
          if (row.key !== null) fields.push('key', row.key);
          await redis.xadd(`${prefix}${row.topic}`, '*', ...fields);
          await client.query(`DELETE FROM ${table} WHERE seq = $1`, [row.seq]);
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function throughputRun(name, batchSize) {
  const { outbox, topic, table, consumer, consumed } = await setup();
  const published = [];
  const relay =
    batchSize === undefined
      ? naiveRelay(table)
      : outbox.relay({ transport: timedTransport(published), batchSize });
  if (batchSize !== undefined) await relay.start();
  const start = performance.now();
  await enqueueAll(outbox, topic, TOTAL);
  await until(() => consumed.length >= TOTAL, `${name}: ${TOTAL} consumed`);
  const seconds = (performance.now() - start) / 1000;
  await relay.stop();
  await consumer.stop();
  return {
    name,
    messages: consumed.length,
    perSecond: consumed.length / seconds,
    consumeP50Ms: percentile(consumed, 50),
    consumeP99Ms: percentile(consumed, 99),
    publishP50Ms: percentile(published, 50),
    publishP99Ms: percentile(published, 99),
  };
}

async function pacedRun() {
  const { outbox, topic, consumer, consumed } = await setup();
  const published = [];
  const relay = outbox.relay({ transport: timedTransport(published), batchSize: 100 });
  await relay.start();
  const ticks = PACED_SECONDS * 100;
  const start = performance.now();
  const writes = [];
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    writes.push(enqueueMany(outbox, topic, 10, tick * 10));
  }
  await Promise.all(writes);
  await until(() => consumed.length >= ticks * 10, 'the paced messages consumed');
  await relay.stop();
  await consumer.stop();
  return {
    name: 'bulwark, 1,000/s paced, batchSize 100',
    messages: consumed.length,
    perSecond: consumed.length / ((performance.now() - start) / 1000),
    consumeP50Ms: percentile(consumed, 50),
    consumeP99Ms: percentile(consumed, 99),
    publishP50Ms: percentile(published, 50),
    publishP99Ms: percentile(published, 99),
  };
}

const rows = [];
/** Runs one case and says on stderr that it is done, since each takes up to a minute. */
async function step(run) {
  const row = await run();
  progress(`${row.name}: ${Math.round(row.perSecond ?? 0)} msg/s`);
  rows.push(row);
}
try {
  for (const batchSize of [1, 100, 500]) {
    await step(() => throughputRun(`bulwark, batchSize ${batchSize}`, batchSize));
  }
  await step(() => throughputRun('naive: poll 100 ms, one by one', undefined));
  await step(pacedRun);
} finally {
  redis.disconnect();
  await pool.end();
  await postgres.close();
  await redisServer.stop();
}

const fmt = formatNumber;
const naive = rows.find((r) => r.name.startsWith('naive'));
console.log(`\n### outbox end to end (${TOTAL} messages per throughput run)\n`);
console.log(
  [
    '| run | msg/s | vs naive | enqueue→consume p50 / p99 ms | enqueue→publish p50 / p99 ms |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.perSecond)} | ${fmt(r.perSecond / naive.perSecond, 1)}x | ${fmt(r.consumeP50Ms, 1)} / ${fmt(r.consumeP99Ms, 1)} | ${fmt(r.publishP50Ms, 1)} / ${fmt(r.publishP99Ms, 1)} |`,
    ),
  ].join('\n'),
);
const path = join(import.meta.dirname, '..', 'results', 'outbox.json');
mkdirSync(dirname(path), { recursive: true });
writeFileSync(
  path,
  JSON.stringify({ title: 'outbox end to end', machine: machine(), quick, rows }, null, 2),
);
console.log('(written to benchmarks/results/outbox.json)');
