import type { PGlite } from '@electric-sql/pglite';
import { FakeClock } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  pgliteDatabase,
  startPglite,
  uniqueTable,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

describe('metrics', () => {
  it('counts sagas started and finished by outcome, and times each attempt of a step', async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const saga = defineSaga<{ fail: boolean }>({ name: 'order' })
      .step({
        name: 'reserve',
        action: async () => {
          await clock.advance(20);
          return 'r';
        },
        compensate: () => undefined,
      })
      .step({
        name: 'charge',
        action: (data) => {
          if (data.input.fail) throw new Error('declined');
          return 'c';
        },
        compensate: () => undefined,
        retry: { maxAttempts: 1 },
      });
    const orchestrator = createOrchestrator({
      database: pgliteDatabase(db),
      sagas: [saga],
      table: uniqueTable(),
      clock,
      metrics: { registry, prefix: 'test_' },
    });
    await orchestrator.migrate();
    await orchestrator.run(saga, { fail: false });
    await orchestrator.run(saga, { fail: true });
    const text = await registry.metrics();
    expect(text).toContain('test_saga_started_total{saga="order"} 2');
    expect(text).toContain('test_saga_finished_total{saga="order",outcome="completed"} 1');
    expect(text).toContain('test_saga_finished_total{saga="order",outcome="compensated"} 1');
    expect(text).toContain(
      'test_saga_step_duration_seconds_count{saga="order",step="reserve",phase="action",outcome="ok"} 2',
    );
    expect(text).toContain(
      'test_saga_step_duration_seconds_sum{saga="order",step="reserve",phase="action",outcome="ok"} 0.04',
    );
    expect(text).toContain(
      'test_saga_step_duration_seconds_count{saga="order",step="charge",phase="action",outcome="error"} 1',
    );
    expect(text).toContain(
      'test_saga_step_duration_seconds_count{saga="order",step="charge",phase="compensate",outcome="ok"} 1',
    );
  });

  it('refuses a registry that is not one, and a prefix whose names another metric already holds', () => {
    const saga = defineSaga({
      name: 'o',
      steps: [{ name: 'a', action: () => 1, compensate: () => undefined }],
    });
    expect(() =>
      createOrchestrator({
        database: pgliteDatabase(db),
        sagas: [saga],
        metrics: { registry: {} as never },
      }),
    ).toThrow('expected metrics.registry to be a prom-client Registry, got an object');
    const registry = new Registry();
    registry.registerMetric(
      new (class {
        name = 'bulwark_saga_started_total';
        get = () => ({});
      })() as never,
    );
    expect(() =>
      createOrchestrator({ database: pgliteDatabase(db), sagas: [saga], metrics: { registry } }),
    ).toThrow('a metric named bulwark_saga_started_total is already registered in this registry');
  });
});
