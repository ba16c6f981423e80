/** Steps that publish through the outbox, in the transaction that records their success. */
import type { PGlite } from '@electric-sql/pglite';
import { type OutboxMessage, createOutbox } from '@bulwark/outbox';
import { FakeClock } from '@bulwark/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isSagaLeaseLostError } from './errors.js';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  deferred,
  pgliteDatabase,
  startPglite,
  uniqueTable,
  waitFor,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

async function setUp() {
  const outbox = createOutbox({ database: pgliteDatabase(db), table: uniqueTable('outbox') });
  await outbox.migrate();
  const published: OutboxMessage[] = [];
  const relay = outbox.relay({
    transport: {
      name: 'recording',
      publish: (message) => {
        published.push(message);
        return Promise.resolve();
      },
    },
  });
  const drain = async (): Promise<unknown[]> => {
    while ((await relay.runOnce()).claimed > 0);
    return published.map((message) => JSON.parse(message.payloadJson) as unknown);
  };
  return { outbox, drain };
}

it('publishes what a step queued once its success is recorded, and nothing from a failed attempt', async () => {
  const { outbox, drain } = await setUp();
  let attempts = 0;
  const saga = defineSaga<{ order: number }>({ name: 'order' }).step({
    name: 'reserve',
    action: (data, ctx) => {
      ctx.publish({
        topic: 'stock.reserved',
        key: `order-${data.input.order}`,
        payload: { attempt: ++attempts },
      });
      if (attempts === 1) throw new Error('stock service 503');
      ctx.publish([{ topic: 'stock.audit', payload: { attempt: attempts } }]);
      return 'r-1';
    },
    compensate: () => undefined,
    retry: { backoff: () => 0 },
  });
  const orchestrator = createOrchestrator({
    database: pgliteDatabase(db),
    outbox,
    sagas: [saga],
    table: uniqueTable(),
  });
  await orchestrator.migrate();
  await expect(orchestrator.run(saga, { order: 7 })).resolves.toMatchObject({
    status: 'completed',
  });
  expect(await drain()).toEqual([{ attempt: 2 }, { attempt: 2 }]);
});

it('enqueues nothing when the instance lost the lease before recording the success', async () => {
  const { outbox, drain } = await setUp();
  const table = uniqueTable();
  const release = deferred();
  let first = true;
  const saga = defineSaga({ name: 'order' }).step({
    name: 'reserve',
    action: async (_data, ctx) => {
      const mine = first;
      first = false;
      ctx.publish({ topic: 'stock.reserved', payload: { from: mine ? 'first' : 'second' } });
      if (mine) await release.promise;
      return 'r';
    },
    compensate: () => undefined,
  });
  const base = Date.UTC(2026, 0, 1);
  const options = { database: pgliteDatabase(db), outbox, sagas: [saga], table, leaseMs: 1_000 };
  const slow = createOrchestrator({
    ...options,
    instanceId: 'a',
    clock: new FakeClock({ date: base }),
  });
  await slow.migrate();
  const slowRun = slow.run(saga, null, { id: 'o-1' }).catch((error: unknown) => error);
  await waitFor(() => !first, 'the first attempt');
  const other = createOrchestrator({
    ...options,
    instanceId: 'b',
    clock: new FakeClock({ date: base + 5_000 }),
  });
  expect(await other.claim()).toBe(1);
  await waitFor(async () => (await other.get('o-1'))?.status === 'completed', 'the saga on b');
  release.resolve();
  expect(isSagaLeaseLostError(await slowRun)).toBe(true);
  expect(await drain()).toEqual([{ from: 'second' }]);
});

it('refuses publish() without an outbox, failing the step with a message that says what to do', async () => {
  const saga = defineSaga({ name: 'order' }).step({
    name: 'reserve',
    action: (_data, ctx) => ctx.publish({ topic: 't', payload: 1 }),
    compensate: () => undefined,
    retry: { maxAttempts: 1 },
  });
  const orchestrator = createOrchestrator({
    database: pgliteDatabase(db),
    sagas: [saga],
    table: uniqueTable(),
  });
  await orchestrator.migrate();
  await expect(orchestrator.run(saga, null)).resolves.toMatchObject({
    status: 'compensated',
    error:
      'TypeError: publish() needs an outbox: give createOrchestrator({ outbox }) one on the same database',
  });
});
