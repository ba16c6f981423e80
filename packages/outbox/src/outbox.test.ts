import { readFileSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { FakeClock } from '@bulwark/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from './adapters/pglite.js';
import { createInbox } from './inbox.js';
import { MAX_MESSAGES_PER_ENQUEUE, createOutbox } from './outbox.js';
import {
  PGLITE_START_TIMEOUT_MS,
  RecordingTransport,
  freshPglite,
  uniqueTable,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

async function outboxOnTable(options: { maxPayloadBytes?: number; maxKeyLength?: number } = {}) {
  const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable(), ...options });
  await outbox.migrate();
  return outbox;
}

async function count(table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

describe('enqueue()', () => {
  it('writes the message in the caller’s transaction, for a relay to publish after the commit', async () => {
    const outbox = await outboxOnTable();
    const id = await db.transaction(async (tx) => {
      await tx.query('CREATE TABLE IF NOT EXISTS orders (id text)');
      await tx.query(`INSERT INTO orders VALUES ('o-1')`);
      return outbox.enqueue(tx, { topic: 'orders', key: 'o-1', payload: { total: 42 } });
    });
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    expect(transport.published).toEqual([
      expect.objectContaining({ id, topic: 'orders', key: 'o-1', payloadJson: '{"total":42}' }),
    ]);
  });

  it('leaves nothing to publish when the transaction rolls back', async () => {
    const outbox = await outboxOnTable();
    await expect(
      db.transaction(async (tx) => {
        await outbox.enqueue(tx, { topic: 'orders', payload: 1 });
        throw new Error('the business change failed');
      }),
    ).rejects.toThrow('the business change failed');
    const transport = new RecordingTransport();
    expect((await outbox.relay({ transport }).runOnce()).claimed).toBe(0);
    expect(await count(outbox.table)).toBe(0);
  });

  it('writes several messages in one statement and returns their ids in order', async () => {
    const outbox = await outboxOnTable();
    const ids = await db.transaction((tx) =>
      outbox.enqueue(tx, [
        { topic: 't', key: 'b', payload: 1 },
        { topic: 't', key: 'a', payload: 2 },
        { topic: 't', key: 'b', payload: 3 },
      ]),
    );
    const { rows } = await db.query<{ id: string }>(
      `SELECT id::text AS id FROM ${outbox.table} ORDER BY seq`,
    );
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
  });

  it('writes nothing at all when one message of several is bad', async () => {
    const outbox = await outboxOnTable();
    await expect(
      db.transaction((tx) =>
        outbox.enqueue(tx, [
          { topic: 't', payload: 1 },
          { topic: 't', payload: Number.NaN },
        ]),
      ),
    ).rejects.toThrow('payload is NaN, which JSON cannot represent');
    expect(await count(outbox.table)).toBe(0);
  });

  it('keeps the payload’s JSON text byte for byte, and the headers', async () => {
    const outbox = await outboxOnTable();
    const payload = { b: 1, a: 'é\u0000', n: [1.5e300, -0] };
    await db.transaction((tx) =>
      outbox.enqueue(tx, { topic: 't', payload, headers: { 'x-tenant': 'acme' } }),
    );
    const transport = new RecordingTransport();
    await outbox.relay({ transport }).runOnce();
    expect(transport.published[0]!.payloadJson).toBe(JSON.stringify(payload));
    expect(transport.published[0]!.headers).toEqual({ 'x-tenant': 'acme' });
  });

  it('stamps ids from its clock (UUIDv7)', async () => {
    const clock = new FakeClock({ date: Date.UTC(2030, 5, 1) });
    const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable(), clock });
    await outbox.migrate();
    const id = await db.transaction((tx) => outbox.enqueue(tx, { topic: 't', payload: null }));
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(Date.UTC(2030, 5, 1));
    expect(id[14]).toBe('7');
  });

  it('refuses the database itself: a statement outside a transaction would commit alone', async () => {
    const outbox = await outboxOnTable();
    await expect(outbox.enqueue(db, { topic: 't', payload: 1 })).rejects.toThrow(
      'expected tx to be a transaction: give the tx of db.transaction((tx) => ...), not the PGlite database',
    );
    await expect(outbox.enqueue({} as never, { topic: 't', payload: 1 })).rejects.toThrow(
      'expected tx to be a pg client, a postgres transaction, a PGlite transaction',
    );
  });

  it(`refuses more than ${MAX_MESSAGES_PER_ENQUEUE} messages in one call`, async () => {
    const outbox = await outboxOnTable();
    const messages = Array.from({ length: MAX_MESSAGES_PER_ENQUEUE + 1 }, () => ({
      topic: 't',
      payload: 1,
    }));
    await expect(db.transaction((tx) => outbox.enqueue(tx, messages))).rejects.toThrow(RangeError);
  });

  it('applies the configured payload and key limits', async () => {
    const outbox = await outboxOnTable({ maxPayloadBytes: 10, maxKeyLength: 3 });
    await expect(
      db.transaction((tx) => outbox.enqueue(tx, { topic: 't', payload: 'x'.repeat(9) })),
    ).rejects.toThrow('expected payload to be at most 10 bytes as JSON, got 11');
    await expect(
      db.transaction((tx) => outbox.enqueue(tx, { topic: 't', key: 'abcd', payload: 1 })),
    ).rejects.toThrow('expected key to be at most 3 characters, got 4 characters');
    expect(await count(outbox.table)).toBe(0);
  });
});

describe('migrate() and the shipped SQL', () => {
  it('creates the tables once and can run again', async () => {
    const outbox = await outboxOnTable();
    await outbox.migrate();
    expect(await count(outbox.table)).toBe(0);
    expect(await count(`${outbox.table}_dead_letters`)).toBe(0);
  });

  it('creates a schema-qualified table in that schema', async () => {
    await db.exec('CREATE SCHEMA IF NOT EXISTS app');
    const table = `app.${uniqueTable()}`;
    const outbox = createOutbox({ database: pgliteDatabase(db), table });
    await outbox.migrate();
    await db.transaction((tx) => outbox.enqueue(tx, { topic: 't', payload: 1 }));
    expect(await count(table)).toBe(1);
  });

  it.each([
    ['sql/outbox.sql', () => createOutbox({ database: pgliteDatabase(db) }).schemaSql()],
    ['sql/inbox.sql', () => createInbox({ database: pgliteDatabase(db), name: 'x' }).schemaSql()],
  ])('ships %s as exactly what migrate() runs for the default names', (file, schemaSql) => {
    const shipped = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('--'))
      .join('\n');
    expect(shipped).toBe(schemaSql());
  });
});

describe('createOutbox() options', () => {
  const database = { transaction: () => Promise.resolve(), query: () => Promise.resolve() };
  it.each([
    [{}, TypeError, 'expected database to be an OutboxDatabase'],
    [{ database, table: 'Outbox' }, RangeError, 'expected table to be a lowercase SQL name'],
    [{ database, table: 'a;drop' }, RangeError, 'expected table to be a lowercase SQL name'],
    [{ database, table: 'x'.repeat(41) }, RangeError, 'at most 40 characters'],
    [{ database, table: 'a.b.c' }, RangeError, 'optionally schema-qualified'],
    [{ database, maxPayloadBytes: 0 }, RangeError, 'expected maxPayloadBytes to be an integer'],
    [{ database, maxKeyLength: 1.5 }, RangeError, 'expected maxKeyLength to be an integer'],
    [
      { database, tabel: 'x' },
      TypeError,
      'unknown option "tabel" for createOutbox(); did you mean "table"?',
    ],
    [
      { database, metrics: { registry: {} } },
      TypeError,
      'expected metrics.registry to be a prom-client Registry',
    ],
  ])('rejects %j', (options, Kind, message) => {
    expect(() => createOutbox(options as never)).toThrow(Kind);
    expect(() => createOutbox(options as never)).toThrow(message);
  });
});
