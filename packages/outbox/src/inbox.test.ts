import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from './adapters/pglite.js';
import { MAX_MESSAGE_ID_LENGTH, createInbox } from './inbox.js';
import { PGLITE_START_TIMEOUT_MS, freshPglite, uniqueTable } from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

async function setUp(name = 'billing', table = uniqueTable('inbox')) {
  const inbox = createInbox({ database: pgliteDatabase(db), name, table });
  await inbox.migrate();
  return inbox;
}

describe('an inbox', () => {
  it('says true the first time a message is recorded, and false after', async () => {
    const inbox = await setUp();
    expect(await db.transaction((tx) => inbox.markProcessed(tx, 'm-1'))).toBe(true);
    expect(await db.transaction((tx) => inbox.markProcessed(tx, 'm-1'))).toBe(false);
    expect(await db.transaction((tx) => inbox.markProcessed(tx, 'm-2'))).toBe(true);
  });

  it('forgets a record whose transaction rolled back, so the message is processed again', async () => {
    const inbox = await setUp();
    await expect(
      db.transaction(async (tx) => {
        await inbox.markProcessed(tx, 'm-1');
        throw new Error('the handler failed');
      }),
    ).rejects.toThrow('the handler failed');
    expect(await db.transaction((tx) => inbox.markProcessed(tx, 'm-1'))).toBe(true);
  });

  it('records several ids at once, each only once, and keeps consumers apart', async () => {
    const table = uniqueTable('inbox');
    const billing = await setUp('billing', table);
    const shipping = await setUp('shipping', table);
    await db.transaction((tx) => billing.markProcessed(tx, 'b'));
    const fresh = await db.transaction((tx) => billing.markProcessedMany(tx, ['a', 'b', 'a', 'c']));
    expect([...fresh].sort()).toEqual(['a', 'c']);
    expect(await db.transaction((tx) => shipping.markProcessedMany(tx, ['a', 'b']))).toEqual(
      new Set(['a', 'b']),
    );
  });

  it('refuses ids that are empty, too long or not printable ASCII, before writing anything', async () => {
    const inbox = await setUp();
    for (const id of ['', 'x'.repeat(MAX_MESSAGE_ID_LENGTH + 1), 'a b', 'é', 'a\n']) {
      await expect(db.transaction((tx) => inbox.markProcessedMany(tx, ['ok', id]))).rejects.toThrow(
        TypeError,
      );
    }
    expect(await db.transaction((tx) => inbox.markProcessed(tx, 'ok'))).toBe(true);
  });

  it('prunes records older than asked, and only its own', async () => {
    const table = uniqueTable('inbox');
    const billing = await setUp('billing', table);
    const shipping = await setUp('shipping', table);
    await db.transaction((tx) => billing.markProcessed(tx, 'old'));
    await db.transaction((tx) => shipping.markProcessed(tx, 'old'));
    await db.query(`UPDATE ${table} SET processed_at = now() - interval '2 days'`);
    await db.transaction((tx) => billing.markProcessed(tx, 'new'));
    expect(await billing.prune({ olderThanMs: 86_400_000 })).toBe(1);
    expect(await db.transaction((tx) => billing.markProcessed(tx, 'old'))).toBe(true);
    expect(await db.transaction((tx) => billing.markProcessed(tx, 'new'))).toBe(false);
    expect(await db.transaction((tx) => shipping.markProcessed(tx, 'old'))).toBe(false);
  });

  it.each([
    [{ name: 'x' }, 'expected database to be an OutboxDatabase'],
    [{ database: pgliteDatabase({} as never) }, 'expected name to be a non-empty string'],
    [
      { database: pgliteDatabase({} as never), name: 'x', table: 'X' },
      'expected table to be a lowercase SQL name',
    ],
    [{ database: pgliteDatabase({} as never), name: 'x', tabel: 'x' }, 'unknown option "tabel"'],
  ])('rejects the options %j', (options, text) => {
    expect(() => createInbox(options as never)).toThrow(text);
  });
});
