/**
 * The orchestrator on a real PostgreSQL, through pg and porsager's postgres: the claim race
 * between instances, the lease hand-over after one dies, and both adapters' statements.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeClock, type TestPostgres, startPostgres } from '@bulwark/testing';
import { pgDatabase, postgresDatabase } from '@bulwark/outbox';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaLeaseLostError } from './errors.js';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import { deferred, uniqueTable, waitFor } from './test-helpers.js';

let server: TestPostgres;
const pools: pg.Pool[] = [];
let sql: postgres.Sql;
beforeAll(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 5, onnotice: () => undefined });
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await sql.end();
  await server.close();
});

function pool(): pg.Pool {
  const created = new pg.Pool({ connectionString: server.url, max: 5 });
  created.on('error', () => undefined);
  pools.push(created);
  return created;
}

describe('on a real PostgreSQL', () => {
  it('completes and compensates through both pg and postgres', async () => {
    const table = uniqueTable();
    const saga = defineSaga<{ fail: boolean }>({ name: 'order' })
      .step({ name: 'reserve', action: () => ({ id: 'r' }), compensate: () => undefined })
      .step({
        name: 'charge',
        action: (data) => {
          if (data.input.fail) throw new Error('declined');
          return 10;
        },
        compensate: () => undefined,
        retry: { maxAttempts: 1 },
      });
    for (const database of [pgDatabase(pool()), postgresDatabase(sql)]) {
      const orchestrator = createOrchestrator({ database, sagas: [saga], table });
      await orchestrator.migrate();
      await expect(orchestrator.run(saga, { fail: false })).resolves.toMatchObject({
        status: 'completed',
        data: { reserve: { id: 'r' }, charge: 10 },
      });
      const failed = await orchestrator.run(saga, { fail: true });
      expect(failed).toMatchObject({ status: 'compensated', error: 'Error: declined' });
      expect((await orchestrator.get(failed.id))?.steps.map((step) => step.status)).toEqual([
        'compensated',
        'compensated',
      ]);
    }
  });

  it('hands a dead instance’s sagas to the survivors once the lease lapses, each saga to one of them', async () => {
    const table = uniqueTable();
    const clock = new FakeClock();
    const sagas = 30;
    let firstAlive = true;
    const hang = deferred();
    const inFlight = new Map<string, number>();
    let maxInFlight = 0;
    const calls = new Map<string, number[]>();
    const track = async (
      key: string,
      sagaId: string,
      attempt: number,
      work: () => Promise<void>,
    ) => {
      calls.set(key, [...(calls.get(key) ?? []), attempt]);
      // The dead instance's attempts died with it; only the survivors' are counted.
      if (firstAlive) return work();
      const now = (inFlight.get(sagaId) ?? 0) + 1;
      inFlight.set(sagaId, now);
      maxInFlight = Math.max(maxInFlight, now);
      try {
        await work();
      } finally {
        inFlight.set(sagaId, (inFlight.get(sagaId) ?? 1) - 1);
      }
    };
    const saga = defineSaga<{ n: number }>({ name: 'pair' })
      .step({
        name: 'one',
        action: (data, context) =>
          track(context.idempotencyKey, context.sagaId, context.attempt, () =>
            // On the first instance, step one never finishes: it dies with it.
            firstAlive ? hang.promise : new Promise((resolve) => setImmediate(resolve)),
          ).then(() => data.input.n),
        compensate: () => undefined,
      })
      .step({
        name: 'two',
        action: (data, context) =>
          track(
            context.idempotencyKey,
            context.sagaId,
            context.attempt,
            () => new Promise((resolve) => setImmediate(resolve)),
          ).then(() => data.one * 2),
        compensate: () => undefined,
      });
    const options = { sagas: [saga], table, clock, leaseMs: 3_000 };
    const firstPool = pool();
    const reported: unknown[] = [];
    const first = createOrchestrator({
      ...options,
      database: pgDatabase(firstPool),
      instanceId: 'first',
      onError: ({ error }) => reported.push(error),
    });
    await first.migrate();
    const runs = Array.from({ length: sagas }, (_, n) =>
      first.run(saga, { n }, { id: `s-${n}` }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    await waitFor(() => calls.size === sagas, 'every saga on the first instance');

    const a = createOrchestrator({ ...options, database: pgDatabase(pool()), instanceId: 'a' });
    const b = createOrchestrator({ ...options, database: postgresDatabase(sql), instanceId: 'b' });
    // The first instance holds every lease: nothing to take yet.
    expect(await Promise.all([a.claim(), b.claim()])).toEqual([0, 0]);

    // It dies: its database is gone, and with it every renewal.
    firstAlive = false;
    await firstPool.end();
    await clock.advance(1_000);
    await clock.advance(1_000);
    // It told of the failed renewals, and let go of its sagas before their leases could lapse.
    expect(reported.map(String)).toEqual([
      'Error: Cannot use a pool after calling end on the pool',
      'Error: Cannot use a pool after calling end on the pool',
    ]);
    for (const run of runs) expect(isSagaLeaseLostError(await run)).toBe(true);
    expect(await Promise.all([a.claim(), b.claim()])).toEqual([0, 0]);

    await clock.advance(1_001);
    let claimed = 0;
    while (claimed < sagas) {
      const [fromA, fromB] = await Promise.all([a.claim(), b.claim()]);
      claimed += fromA + fromB;
    }
    expect(claimed).toBe(sagas);
    const states = async () =>
      Promise.all(Array.from({ length: sagas }, (_, n) => a.get(`s-${n}`)));
    await waitFor(
      async () => (await states()).every((state) => state?.status === 'completed'),
      'every saga completed',
      30_000,
    );
    const done = await states();
    for (const state of done) expect(['a', 'b']).toContain(state?.leaseOwner);
    // Each saga ran on one instance at a time: step one once on the dead instance and once after
    // it; step two once.
    expect(maxInFlight).toBe(1);
    for (let n = 0; n < sagas; n++) {
      expect(calls.get(`s-${n}:one:action`)).toEqual([1, 2]);
      expect(calls.get(`s-${n}:two:action`)).toEqual([1]);
      expect(done[n]).toMatchObject({
        steps: [{ output: n }, { output: n * 2 }],
      });
    }
  });
});

describe('the bulwark-saga command against a real PostgreSQL', () => {
  it('migrates, then lists and resolves a dead saga through pg, started as package.json names it', async () => {
    // The command npx runs is package.json's bin entry: start it from there.
    const manifest = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { bin: Record<string, string> };
    const bin = fileURLToPath(new URL(`../${manifest.bin['bulwark-saga']}`, import.meta.url));
    const table = uniqueTable();
    const env = { ...process.env, BULWARK_SAGA_DATABASE_URL: server.url };
    const run = promisify(execFile);
    expect((await run(process.execPath, [bin, 'migrate', '--table', table], { env })).stdout).toBe(
      `the tables of ${table} exist\n`,
    );
    const saga = defineSaga({ name: 'order', compensationRetry: { maxAttempts: 1 } })
      .step({
        name: 'reserve',
        action: () => 'r',
        compensate: () => {
          throw new Error('stock service gone');
        },
      })
      .step({
        name: 'charge',
        action: () => {
          throw new Error('declined');
        },
        compensate: () => undefined,
        retry: { maxAttempts: 1 },
      });
    const orchestrator = createOrchestrator({ database: pgDatabase(pool()), sagas: [saga], table });
    await orchestrator.run(saga, null, { id: 'cli-1' });
    const listed = await run(process.execPath, [bin, 'dead', 'list', '--json', '--table', table], {
      env,
    });
    expect(JSON.parse(listed.stdout)).toMatchObject({ id: 'cli-1', status: 'dead' });
    const resolved = await run(
      process.execPath,
      [bin, 'dead', 'resolve', '--id', 'cli-1', '--table', table],
      { env },
    );
    expect(resolved.stdout).toBe('cli-1\n1 saga(s) resolved\n');
    expect((await orchestrator.get('cli-1'))?.status).toBe('resolved');
  });
});
