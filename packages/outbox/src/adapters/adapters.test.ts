/**
 * The same outbox through each driver, against a real PostgreSQL: pg's Pool and porsager's
 * postgres. (PGlite's adapter runs under most other test files.)
 */
import { type TestPostgres, latch, startPostgres } from '@bulwark/testing';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxDatabase } from '../database.js';
import { createOutbox } from '../outbox.js';
import type { Queryable } from '../sql-client.js';
import { RecordingTransport, uniqueTable, waitFor } from '../test-helpers.js';
import { pgDatabase } from './pg.js';
import { postgresDatabase } from './postgres.js';

let server: TestPostgres;
let pool: pg.Pool;
let sql: postgres.Sql;
beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 10 });
  // A connection error of a pooled client is reported here too; the tests below cause some.
  pool.on('error', () => undefined);
  sql = postgres(server.url, { max: 10, onnotice: () => undefined });
});
afterAll(async () => {
  await pool.end();
  await sql.end();
  await server.close();
});

interface Driver {
  name: string;
  database: () => OutboxDatabase;
  /** Runs `fn` in a transaction of the driver's own, as an application would. */
  transaction: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>;
}

const drivers: Driver[] = [
  {
    name: 'pg',
    database: () => pgDatabase(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
  },
  {
    name: 'postgres',
    database: () => postgresDatabase(sql),
    transaction: (fn) => sql.begin((tx) => fn(tx)) as never,
  },
];

describe.each(drivers)('through $name', (driver) => {
  async function setUp() {
    const outbox = createOutbox({ database: driver.database(), table: uniqueTable() });
    await outbox.migrate();
    return outbox;
  }

  it('enqueues in the application’s transaction and publishes after the commit, nothing after a rollback', async () => {
    const outbox = await setUp();
    const id = await driver.transaction((tx) =>
      outbox.enqueue(tx, { topic: 'orders', key: 'o-1', payload: { n: 1 } }),
    );
    await expect(
      driver.transaction(async (tx) => {
        await outbox.enqueue(tx, { topic: 'orders', key: 'o-2', payload: { n: 2 } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    expect(transport.published.map((m) => [m.id, m.payloadJson])).toEqual([[id, '{"n":1}']]);
  });

  it('refuses the pool (or top-level sql): a statement there commits on its own', async () => {
    const outbox = await setUp();
    const pooled = driver.name === 'pg' ? pool : sql;
    await expect(outbox.enqueue(pooled as never, { topic: 't', payload: 1 })).rejects.toThrow(
      'expected tx to be a transaction',
    );
  });

  it('wakes a running relay with the NOTIFY of the commit', async () => {
    const outbox = await setUp();
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, pollIntervalMs: 3_600_000 });
    await relay.start();
    try {
      await driver.transaction((tx) => outbox.enqueue(tx, { topic: 't', payload: 'ping' }));
      await waitFor(() => transport.published.length === 1, 'the publish');
    } finally {
      await relay.stop();
    }
  });

  it('makes a second transaction enqueueing the same key wait for the first: seq order is commit order', async () => {
    const outbox = await setUp();
    const firstHolds = latch();
    const firstMayCommit = latch();
    const first = driver.transaction(async (tx) => {
      await outbox.enqueue(tx, { topic: 't', key: 'k', payload: 'first' });
      firstHolds.open();
      await firstMayCommit.promise;
    });
    await firstHolds.promise;
    let secondEnqueued = false;
    const second = driver.transaction(async (tx) => {
      await outbox.enqueue(tx, { topic: 't', key: 'k', payload: 'second' });
      secondEnqueued = true;
    });
    // Another key does not wait.
    await driver.transaction((tx) =>
      outbox.enqueue(tx, { topic: 't', key: 'other', payload: 'x' }),
    );
    expect(secondEnqueued).toBe(false);
    firstMayCommit.open();
    await Promise.all([first, second]);

    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport });
    await relay.runOnce();
    await relay.runOnce();
    expect(transport.payloads().filter((p) => p !== 'x')).toEqual(['first', 'second']);
  });

  it('lets a later transaction on the key through when the earlier one rolls back', async () => {
    const outbox = await setUp();
    const firstHolds = latch();
    const firstMayEnd = latch();
    const first = driver.transaction(async (tx) => {
      await outbox.enqueue(tx, { topic: 't', key: 'k', payload: 'first' });
      firstHolds.open();
      await firstMayEnd.promise;
      throw new Error('rolled back');
    });
    await firstHolds.promise;
    const second = driver.transaction((tx) =>
      outbox.enqueue(tx, { topic: 't', key: 'k', payload: 'second' }),
    );
    firstMayEnd.open();
    await expect(first).rejects.toThrow('rolled back');
    await second;
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    expect(transport.payloads()).toEqual(['second']);
  });

  it('lists, replays and drops dead letters', async () => {
    const outbox = await setUp();
    const ids = await driver.transaction((tx) =>
      outbox.enqueue(tx, [
        { topic: 'a', payload: 1 },
        { topic: 'b', payload: 2 },
      ]),
    );
    const failing = new RecordingTransport(() => {
      throw new Error('down');
    });
    await outbox.relay({ transport: failing, maxAttempts: 1 }).runOnce();
    expect((await outbox.deadLetters.list()).map((letter) => letter.id)).toEqual(ids);
    expect(await outbox.deadLetters.drop([ids[1]!])).toEqual([ids[1]]);
    expect(await outbox.deadLetters.replay(ids)).toEqual([ids[0]]);
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    expect(transport.published.map((m) => m.id)).toEqual([ids[0]]);
  });
});

describe('pgDatabase', () => {
  it('listens again after its listening connection is cut, and polls meanwhile', async () => {
    const outbox = createOutbox({ database: pgDatabase(pool), table: uniqueTable() });
    await outbox.migrate();
    const transport = new RecordingTransport();
    const errors: unknown[] = [];
    const relay = outbox.relay({
      transport,
      pollIntervalMs: 200,
      onError: ({ error }) => errors.push(error),
    });
    await relay.start();
    const listeners = async () =>
      (
        await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
        )
      ).rows;
    try {
      await waitFor(async () => (await listeners()).length === 1, 'the relay to listen');
      const [listener] = await listeners();
      await pool.query('SELECT pg_terminate_backend($1)', [listener!.pid]);
      await waitFor(() => errors.length > 0, 'the relay to notice');
      await waitFor(async () => {
        const now = await listeners();
        return now.length === 1 && now[0]!.pid !== listener!.pid;
      }, 'the relay to listen again');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await outbox.enqueue(client, { topic: 't', payload: 'after the cut' });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await waitFor(() => transport.published.length === 1, 'the publish');
    } finally {
      await relay.stop();
    }
  });
});
