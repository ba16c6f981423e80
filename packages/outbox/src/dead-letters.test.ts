import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDatabase } from './adapters/pglite.js';
import { createOutbox } from './outbox.js';
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

/** An outbox whose messages all went to the dead letters. */
async function deadOutbox(messages: Array<{ topic: string; key?: string; payload: unknown }>) {
  const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable() });
  await outbox.migrate();
  const ids = await db.transaction((tx) => outbox.enqueue(tx, messages));
  const failing = new RecordingTransport(() => {
    throw new Error('down');
  });
  const relay = outbox.relay({ transport: failing, maxAttempts: 1 });
  while ((await relay.runOnce()).claimed > 0);
  return { outbox, ids };
}

describe('dead letters', () => {
  it('lists in enqueue order, by topic, a page at a time', async () => {
    const { outbox, ids } = await deadOutbox([
      { topic: 'a', payload: 1 },
      { topic: 'b', key: 'k', payload: 2 },
      { topic: 'a', payload: 3 },
    ]);
    const all = await outbox.deadLetters.list();
    expect(all.map((letter) => letter.id)).toEqual(ids);
    expect(all[1]).toMatchObject({
      topic: 'b',
      key: 'k',
      payloadJson: '2',
      headers: {},
      attempts: 1,
      lastError: 'Error: down',
    });
    expect(all[1]!.deadAt.getTime()).toBeGreaterThanOrEqual(all[1]!.enqueuedAt.getTime());
    expect((await outbox.deadLetters.list({ topic: 'a' })).map((l) => l.id)).toEqual([
      ids[0],
      ids[2],
    ]);
    const first = await outbox.deadLetters.list({ limit: 2 });
    const next = await outbox.deadLetters.list({ limit: 2, after: first.at(-1)!.id });
    expect([...first, ...next].map((l) => l.id)).toEqual(ids);
  });

  it('replays every dead letter of a topic, behind what was enqueued for its key since', async () => {
    const { outbox, ids } = await deadOutbox([
      { topic: 'a', key: 'k', payload: 'dead' },
      { topic: 'b', payload: 'other topic' },
    ]);
    await db.transaction((tx) => outbox.enqueue(tx, { topic: 'a', key: 'k', payload: 'newer' }));
    expect(await outbox.deadLetters.replayAll({ topic: 'a' })).toEqual([ids[0]]);
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport });
    while ((await relay.runOnce()).claimed > 0);
    expect(transport.payloads()).toEqual(['newer', 'dead']);
    expect((await outbox.deadLetters.list()).map((l) => l.id)).toEqual([ids[1]]);
  });

  it('drops for good, all of them or some, and says which it found', async () => {
    const { outbox, ids } = await deadOutbox([
      { topic: 'a', payload: 1 },
      { topic: 'a', payload: 2 },
      { topic: 'b', payload: 3 },
    ]);
    const unknown = '0190f5a8-0000-7000-8000-000000000000';
    expect(await outbox.deadLetters.drop([ids[0]!, unknown])).toEqual([ids[0]]);
    expect(await outbox.deadLetters.dropAll({ topic: 'b' })).toEqual([ids[2]]);
    expect(await outbox.deadLetters.dropAll()).toEqual([ids[1]]);
    expect(await outbox.deadLetters.list()).toEqual([]);
  });

  it('refuses ids that are not message ids and filters it does not know', async () => {
    const { outbox } = await deadOutbox([]);
    await expect(outbox.deadLetters.replay(["x' OR 1=1 --"])).rejects.toThrow(
      'expected every id to be a message id (a UUID), got',
    );
    await expect(outbox.deadLetters.drop('all' as never)).rejects.toThrow(TypeError);
    await expect(outbox.deadLetters.replayAll({ topik: 'a' } as never)).rejects.toThrow(
      'unknown option "topik"',
    );
    await expect(outbox.deadLetters.list({ limit: 0 })).rejects.toThrow(RangeError);
    await expect(outbox.deadLetters.list({ after: 'nope' })).rejects.toThrow(TypeError);
  });
});
