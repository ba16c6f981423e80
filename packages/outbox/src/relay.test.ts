import type { PGlite } from '@electric-sql/pglite';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, latch } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from './adapters/pglite.js';
import type { OutboxDatabase } from './database.js';
import { PublishRejectedError, TransportUnavailableError } from './errors.js';
import type { OutboxMessage } from './message.js';
import { type OutboxOptions, createOutbox } from './outbox.js';
import type { RelayOptions } from './relay.js';
import {
  PGLITE_START_TIMEOUT_MS,
  RecordingTransport,
  freshPglite,
  uniqueTable,
  waitFor,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

async function setUp(options: Partial<OutboxOptions> = {}) {
  const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable(), ...options });
  await outbox.migrate();
  const enqueue = (...messages: Array<{ key?: string; payload: unknown; topic?: string }>) =>
    db.transaction((tx) =>
      outbox.enqueue(
        tx,
        messages.map((m) => ({ topic: 't', ...m })),
      ),
    );
  return { outbox, enqueue };
}

const payloadOf = (message: OutboxMessage): unknown => JSON.parse(message.payloadJson);

async function rowsOf(table: string) {
  const { rows } = await db.query<{
    attempts: number;
    last_error: string | null;
    available_ms: number;
    published: boolean;
  }>(
    `SELECT attempts, last_error, (extract(epoch FROM available_at) * 1000)::float8 AS available_ms,
       published_at IS NOT NULL AS published FROM ${table} ORDER BY seq`,
  );
  return rows;
}

describe('a relay batch', () => {
  it('publishes at most one row per key, the earliest, and every key in parallel', async () => {
    const { outbox, enqueue } = await setUp();
    await enqueue(
      { key: 'a', payload: 'a1' },
      { key: 'a', payload: 'a2' },
      { key: 'b', payload: 'b1' },
      { payload: 'no key 1' },
      { payload: 'no key 2' },
    );
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport });
    expect(await relay.runOnce()).toEqual({
      claimed: 4,
      published: 4,
      retried: 0,
      unavailable: 0,
      deadLettered: 0,
    });
    expect(transport.payloads()).toEqual(['a1', 'b1', 'no key 1', 'no key 2']);
    await relay.runOnce();
    expect(transport.payloads()).toEqual(['a1', 'b1', 'no key 1', 'no key 2', 'a2']);
    expect((await relay.runOnce()).claimed).toBe(0);
    expect(await rowsOf(outbox.table)).toEqual([]);
  });

  it('claims at most batchSize rows', async () => {
    const { outbox, enqueue } = await setUp();
    await enqueue(...Array.from({ length: 5 }, (_, i) => ({ payload: i })));
    const transport = new RecordingTransport();
    expect((await outbox.relay({ transport, batchSize: 2 }).runOnce()).claimed).toBe(2);
    expect(transport.payloads()).toEqual([0, 1]);
  });

  it('claims by walking the pending rows in order, even on a table the planner has no statistics for', async () => {
    // A backlog on a table never analysed: the planner's guess of "few pending rows" would test
    // every row against the per-key condition and sort them all. The relay's own statements
    // before its claim are replayed here, and the claim explained after them.
    const table = uniqueTable();
    const outbox = createOutbox({ database: pgliteDatabase(db), table });
    await outbox.migrate();
    await db.transaction((tx) =>
      outbox.enqueue(
        tx,
        Array.from({ length: 3_000 }, (_, i) => ({ topic: 't', key: `k${i % 100}`, payload: i })),
      ),
    );
    const statements: string[] = [];
    const recording: OutboxDatabase = {
      ...pgliteDatabase(db),
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: (text: string, params?: unknown[]) => {
              statements.push(text);
              return tx.query(text, params);
            },
          }),
        ),
    };
    const claimed = createOutbox({ database: recording, table }).relay({
      transport: new RecordingTransport(),
      batchSize: 10,
    });
    expect((await claimed.runOnce()).claimed).toBe(10);
    const claim = statements.findIndex((text) => text.includes('FOR UPDATE OF o SKIP LOCKED'));
    expect(claim).toBeGreaterThanOrEqual(0);
    const plan = await db.transaction(async (tx) => {
      for (const text of statements.slice(0, claim)) await tx.query(text);
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statements[claim]!}`, [
        new Date().toISOString(),
        10,
      ]);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using "?\w+_pending"? on/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('hands the transport the message as enqueued, with its attempt number', async () => {
    const { outbox, enqueue } = await setUp();
    const [id] = await enqueue({ key: 'k', payload: { a: 1 }, topic: 'orders' });
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    const [message] = transport.published;
    expect(message).toEqual({
      id,
      topic: 'orders',
      key: 'k',
      payloadJson: '{"a":1}',
      headers: {},
      attempt: 1,
      enqueuedAt: expect.any(Number) as number,
    });
    expect(Math.abs(message!.enqueuedAt - Date.now())).toBeLessThan(60_000);
  });

  it('waits out the backoff after a failure, holding back the rows of its key meanwhile', async () => {
    const clock = new FakeClock({ date: Date.now() });
    const { outbox, enqueue } = await setUp();
    await enqueue({ key: 'k', payload: 1 }, { key: 'k', payload: 2 }, { key: 'other', payload: 3 });
    let fail = true;
    const transport = new RecordingTransport((message) => {
      if (fail && payloadOf(message) === 1) throw new Error('broker said no');
    });
    const relay = outbox.relay({ transport, clock, backoff: constantBackoff(5_000) });
    expect(await relay.runOnce()).toMatchObject({ claimed: 2, published: 1, retried: 1 });
    const [first] = await rowsOf(outbox.table);
    expect(first).toMatchObject({ attempts: 1, last_error: 'Error: broker said no' });
    expect(first!.available_ms).toBe(clock.dateNow() + 5_000);

    fail = false;
    await clock.advance(4_999);
    expect((await relay.runOnce()).claimed).toBe(0);
    await clock.advance(1);
    await relay.runOnce();
    await relay.runOnce();
    expect(transport.payloads()).toEqual([3, 1, 2]);
    expect(transport.published.map((m) => m.attempt)).toEqual([1, 2, 1]);
  });

  it('dead-letters a poison message after maxAttempts while the other keys keep flowing', async () => {
    const { outbox, enqueue } = await setUp();
    const [poison] = await enqueue(
      { key: 'k', payload: 'poison' },
      { key: 'k', payload: 'behind the poison' },
    );
    await enqueue(...Array.from({ length: 3 }, (_, i) => ({ key: `other-${i}`, payload: i })));
    let poisonous = true;
    const transport = new RecordingTransport((message) => {
      if (poisonous && payloadOf(message) === 'poison') throw new TypeError('cannot serialise');
    });
    const relay = outbox.relay({ transport, maxAttempts: 3, backoff: constantBackoff(0) });
    const batches = [await relay.runOnce(), await relay.runOnce(), await relay.runOnce()];
    expect(batches.map((b) => b.deadLettered)).toEqual([0, 0, 1]);
    expect(transport.payloads()).toEqual([0, 1, 2]);

    const [letter] = await outbox.deadLetters.list();
    expect(letter).toMatchObject({
      id: poison,
      topic: 't',
      key: 'k',
      payloadJson: '"poison"',
      attempts: 3,
      lastError: 'TypeError: cannot serialise',
    });
    await relay.runOnce();
    expect(transport.payloads()).toEqual([0, 1, 2, 'behind the poison']);

    poisonous = false;
    expect(await outbox.deadLetters.replay([poison!])).toEqual([poison]);
    await relay.runOnce();
    expect(transport.published.at(-1)).toMatchObject({ id: poison, attempt: 1 });
    expect(await outbox.deadLetters.list()).toEqual([]);
  });

  it('dead-letters at once a message the broker rejects for good', async () => {
    const { outbox, enqueue } = await setUp();
    await enqueue({ payload: 1 });
    const transport = new RecordingTransport(() => {
      throw new PublishRejectedError('recording', 'the receiver answered 422', 422);
    });
    expect(await outbox.relay({ transport }).runOnce()).toMatchObject({ deadLettered: 1 });
    expect(await outbox.deadLetters.list()).toEqual([
      expect.objectContaining({
        attempts: 1,
        lastError:
          'PublishRejectedError [BULWARK_OUTBOX_PUBLISH_REJECTED]: recording transport rejected the message: the receiver answered 422',
      }),
    ]);
  });

  it('counts no attempt while the broker is unavailable, however long, and tries again soon', async () => {
    const clock = new FakeClock({ date: Date.now() });
    const { outbox, enqueue } = await setUp();
    await enqueue({ key: 'k', payload: 1 });
    const transport = new RecordingTransport(() => {
      throw new TransportUnavailableError('recording', 'connection refused');
    });
    const relay = outbox.relay({ transport, clock, maxAttempts: 1, pollIntervalMs: 500 });
    for (let i = 0; i < 5; i++) {
      expect(await relay.runOnce()).toMatchObject({ claimed: 1, unavailable: 1, retried: 1 });
      const [row] = await rowsOf(outbox.table);
      expect(row!.attempts).toBe(0);
      expect(row!.available_ms - clock.dateNow()).toBeGreaterThanOrEqual(100);
      expect(row!.available_ms - clock.dateNow()).toBeLessThanOrEqual(500);
      await clock.advance(500);
    }
    expect(await outbox.deadLetters.list()).toEqual([]);
  });

  it('counts a publish that outlives publishTimeoutMs as failed, and aborts its signal', async () => {
    const clock = new FakeClock({ date: Date.now() });
    const { outbox, enqueue } = await setUp();
    await enqueue({ payload: 1 });
    const transport = new RecordingTransport(() => new Promise(() => undefined));
    const relay = outbox.relay({ transport, clock, publishTimeoutMs: 1_000 });
    const batch = relay.runOnce();
    await waitFor(() => transport.attempts.length === 1, 'the publish');
    await clock.advance(1_000);
    expect(await batch).toMatchObject({ claimed: 1, retried: 1 });
    expect(transport.contexts[0]!.signal.aborted).toBe(true);
    expect((await rowsOf(outbox.table))[0]).toMatchObject({
      attempts: 1,
      last_error: 'TimeoutError [BULWARK_TIMEOUT]: operation timed out after 1000 ms',
    });
  });

  it('takes per-message outcomes from publishBatch(), and fails the batch when they do not add up', async () => {
    const { outbox, enqueue } = await setUp();
    await enqueue({ payload: 1 }, { payload: 2 });
    const outcomes: unknown[][] = [
      [undefined, new Error('second failed')],
      [undefined, undefined],
    ];
    const transport = {
      name: 'batching',
      publish: () => Promise.reject(new Error('not used')),
      publishBatch: () => Promise.resolve(outcomes.shift()!),
    };
    const relay = outbox.relay({ transport, backoff: constantBackoff(0) });
    expect(await relay.runOnce()).toMatchObject({ published: 1, retried: 1 });
    expect(await relay.runOnce()).toMatchObject({ published: 0, retried: 1 });
    expect((await rowsOf(outbox.table))[0]!.last_error).toBe(
      "TypeError: batching transport's publishBatch() returned an array for 1 messages",
    );
  });

  it('marks published rows and keeps them with keepPublishedMs, never publishing them again', async () => {
    const { outbox, enqueue } = await setUp();
    await enqueue({ key: 'k', payload: 1 }, { key: 'k', payload: 2 });
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, keepPublishedMs: Infinity });
    await relay.runOnce();
    await relay.runOnce();
    expect((await relay.runOnce()).claimed).toBe(0);
    expect(transport.payloads()).toEqual([1, 2]);
    expect(await rowsOf(outbox.table)).toEqual([
      expect.objectContaining({ published: true, attempts: 1 }),
      expect.objectContaining({ published: true, attempts: 1 }),
    ]);
  });
});

describe('a running relay', () => {
  it('wakes on the NOTIFY of a commit, long before its poll interval', async () => {
    const { outbox, enqueue } = await setUp();
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, pollIntervalMs: 3_600_000 });
    await relay.start();
    try {
      await enqueue({ payload: 'ping' });
      await waitFor(() => transport.published.length === 1, 'the publish');
      expect(transport.payloads()).toEqual(['ping']);
    } finally {
      await relay.stop();
    }
  });

  it('polls when told not to listen', async () => {
    const clock = new FakeClock({ date: Date.now() });
    const { outbox, enqueue } = await setUp();
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, listen: false, pollIntervalMs: 10_000, clock });
    await relay.start();
    try {
      await waitFor(() => clock.pendingTimers === 1, 'the relay to sleep');
      await enqueue({ payload: 'ping' });
      await clock.advance(10_000);
      await waitFor(() => transport.published.length === 1, 'the publish');
    } finally {
      await relay.stop();
    }
  });

  it('keeps going after the database fails, telling onError', async () => {
    const { outbox: real, enqueue } = await setUp();
    let failures = 2;
    const flaky: OutboxDatabase = {
      ...pgliteDatabase(db),
      transaction: (fn) => {
        if (failures-- > 0) return Promise.reject(new Error('connection terminated'));
        return pgliteDatabase(db).transaction(fn);
      },
    };
    const outbox = createOutbox({ database: flaky, table: real.table });
    await enqueue({ payload: 1 });
    const errors: unknown[] = [];
    const transport = new RecordingTransport();
    const relay = outbox.relay({
      transport,
      pollIntervalMs: 50,
      onError: ({ error }) => errors.push(error),
    });
    await relay.start();
    try {
      await waitFor(() => transport.published.length === 1, 'the publish');
      expect(errors).toEqual([
        new Error('connection terminated'),
        new Error('connection terminated'),
      ]);
    } finally {
      await relay.stop();
    }
  });

  it('stops after the batch in flight, and start() again resumes', async () => {
    const { outbox, enqueue } = await setUp();
    const gate = latch();
    const transport = new RecordingTransport(() => gate.promise);
    const relay = outbox.relay({ transport });
    await enqueue({ payload: 1 });
    await relay.start();
    await waitFor(() => transport.attempts.length === 1, 'the publish');
    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    gate.open();
    await stopping;
    expect(relay.running).toBe(false);
    expect(transport.published).toHaveLength(1);
    await enqueue({ payload: 2 });
    await relay.start();
    try {
      await waitFor(() => transport.published.length === 2, 'the second publish');
    } finally {
      await relay.stop();
    }
  });
});

describe('relay metrics', () => {
  it('counts published, failed and dead-lettered messages, batch durations and the lag', async () => {
    const registry = new Registry();
    const { outbox, enqueue } = await setUp({ metrics: { registry } });
    await enqueue(
      { key: 'k', payload: 'poison', topic: 'orders' },
      { payload: 'fine', topic: 'orders' },
    );
    await enqueue({ key: 'late', payload: 'waits' });
    const transport = new RecordingTransport((message) => {
      if (payloadOf(message) === 'poison') throw new Error('no');
    });
    const relay = outbox.relay({
      transport,
      maxAttempts: 2,
      backoff: constantBackoff(0),
      batchSize: 2,
    });
    await relay.runOnce();
    await relay.runOnce();
    const text = await registry.metrics();
    const name = outbox.table;
    expect(text).toContain(`bulwark_outbox_published_total{outbox="${name}",topic="orders"} 1`);
    expect(text).toContain(
      `bulwark_outbox_publish_failures_total{outbox="${name}",topic="orders",reason="error"} 2`,
    );
    expect(text).toContain(`bulwark_outbox_dead_lettered_total{outbox="${name}",topic="orders"} 1`);
    expect(text).toContain(`bulwark_outbox_relay_batch_duration_seconds_count{outbox="${name}"} 2`);
    expect(text).toContain(`bulwark_outbox_publish_delay_seconds_count{outbox="${name}"} 2`);
  });

  it('exports the age of the oldest unpublished row as the lag, measured by a running relay', async () => {
    const registry = new Registry();
    const { outbox, enqueue } = await setUp({ metrics: { registry, prefix: 'lag_' } });
    await enqueue({ payload: 'stuck' });
    const failing = new RecordingTransport(() => {
      throw new Error('no');
    });
    await outbox.relay({ transport: failing, backoff: constantBackoff(3_600_000) }).runOnce();
    // A minute on, the row still waits out its backoff: the relay claims nothing, and measures.
    const clock = new FakeClock({ date: Date.now() + 60_000 });
    const relay = outbox.relay({ transport: new RecordingTransport(), clock });
    const lag = async () =>
      Number(
        /lag_outbox_lag_seconds\{outbox="[^"]+"\} ([\d.e+-]+)/.exec(await registry.metrics())?.[1],
      );
    expect(await lag()).toBeNaN(); // no series before a relay runs
    await relay.start();
    try {
      await waitFor(async () => (await lag()) > 0, 'the lag');
      expect(await lag()).toBeGreaterThan(59);
      expect(await lag()).toBeLessThan(600);
    } finally {
      await relay.stop();
    }
  });

  it('refuses a registry that already has a metric of the same name', () => {
    const registry = new Registry();
    createOutbox({ database: pgliteDatabase(db), metrics: { registry, prefix: 'a_' } });
    // Same registry and prefix: the same families, shared.
    createOutbox({ database: pgliteDatabase(db), metrics: { registry, prefix: 'a_' } });
    registry.registerMetric({ name: 'b_outbox_lag_seconds', get: () => ({}) } as never);
    expect(() =>
      createOutbox({ database: pgliteDatabase(db), metrics: { registry, prefix: 'b_' } }),
    ).toThrow('a metric named b_outbox_lag_seconds is already registered in this registry');
  });
});

describe('relay() options', () => {
  const transport = new RecordingTransport();
  it.each<[Partial<RelayOptions>, ErrorConstructor, string]>([
    [{ transport: undefined }, TypeError, 'expected transport to be a Transport'],
    [
      { batchSize: 0 },
      RangeError,
      'expected batchSize to be an integer between 1 and 10000, got 0',
    ],
    [{ pollIntervalMs: -1 }, RangeError, 'expected pollIntervalMs to be an integer'],
    [{ maxAttempts: 0 }, RangeError, 'expected maxAttempts to be an integer between 1 and 1000'],
    [{ backoff: 5 as never }, TypeError, 'expected backoff to be a function, got 5'],
    [{ keepPublishedMs: -1 }, RangeError, 'expected keepPublishedMs to be an integer'],
    [{ listen: 'yes' as never }, TypeError, 'expected listen to be a boolean'],
    [{ clock: {} as never }, TypeError, 'expected clock to be a Clock'],
    [
      { batchsize: 5 } as never,
      TypeError,
      'unknown option "batchsize" for relay(); did you mean "batchSize"?',
    ],
  ])('rejects %j', async (options, Kind, message) => {
    const { outbox } = await setUp();
    expect(() => outbox.relay({ transport, ...options })).toThrow(Kind);
    expect(() => outbox.relay({ transport, ...options })).toThrow(message);
  });
});
