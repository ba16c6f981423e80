// @bulwark/saga's own cost: sagas of three steps whose actions do nothing, so what is measured is
// the orchestrator's state writes (the saga row with the first step's start, then each step's
// completion with the next one's start) and its bookkeeping. Run on PGlite (in this process) and on a real PostgreSQL on this machine
// (started by @bulwark/testing, pg with a pool of 16), with 32 sagas in flight at a time.
// Every statement that is not a SELECT is counted, to report state writes per saga and per step,
// and every statement, to report round trips per saga (the steps do not publish, so no saga
// write runs in a transaction of several statements).
// A third run gives each step a POST to a loopback service (http-server.mjs, in a process of its
// own) through @bulwark/http-client, carrying the step's idempotency key: a saga as applications
// write it, on real PostgreSQL.
//
// Goal: >= 500 three-step sagas/s on real PostgreSQL on 2 cores, at most 2 state writes per step.
//
//   node --expose-gc benchmarks/src/saga.mjs [--quick]   (--quick: a few dozen sagas, to check it runs)
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createHttpClient } from '@bulwark/http-client';
import { pgDatabase, pgliteDatabase } from '@bulwark/outbox';
import { createOrchestrator, defineSaga } from '@bulwark/saga';
import { startPostgres } from '@bulwark/testing';
import { formatNumber, machine } from './harness.mjs';

const quick = process.argv.includes('--quick');
const TOTAL = quick ? 40 : 5_000;
const WARMUP = quick ? 8 : 200;
const IN_FLIGHT = 32;

const STEP_NAMES = ['reserve', 'charge', 'ship'];
const noop = () => null;
const noopSaga = defineSaga({
  name: 'bench',
  steps: STEP_NAMES.map((name) => ({ name, action: noop, compensate: noop })),
});

/** A saga whose every step POSTs to `origin` with its idempotency key, and returns the answer. */
function httpSaga(http, origin) {
  const post = (data, ctx) =>
    http.post(
      `${origin}/${ctx.step}`,
      { saga: ctx.sagaId },
      { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal },
    );
  return defineSaga({
    name: 'bench-http',
    steps: STEP_NAMES.map((name) => ({ name, action: post, compensate: post })),
  });
}

/** The database, counting the statements, and those that write. */
function counting(database) {
  const counted = {
    writes: 0,
    statements: 0,
    transaction: (fn) => database.transaction(fn),
    query(text, params) {
      counted.statements++;
      if (!/^\s*SELECT/.test(text)) counted.writes++;
      return database.query(text, params);
    },
  };
  return counted;
}

let tables = 0;
async function run(name, database, saga = noopSaga) {
  const counted = counting(database);
  const orchestrator = createOrchestrator({
    database: counted,
    sagas: [saga],
    table: `bench_saga_${++tables}`,
  });
  await orchestrator.migrate();
  const drive = async (count) => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const outcome = await orchestrator.run(saga, null);
        if (outcome.status !== 'completed') throw new Error(`saga ended ${outcome.status}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };
  await drive(WARMUP);
  counted.writes = 0;
  counted.statements = 0;
  const start = performance.now();
  await drive(TOTAL);
  const seconds = (performance.now() - start) / 1000;
  return {
    name,
    sagas: TOTAL,
    perSecond: TOTAL / seconds,
    writesPerSaga: counted.writes / TOTAL,
    // The saga's row is written with its first step's start: no write is the saga's alone.
    writesPerStep: counted.writes / (TOTAL * 3),
    roundTripsPerSaga: counted.statements / TOTAL,
  };
}

const rows = [];
const lite = new PGlite();
const postgres = await startPostgres();
const pool = new pg.Pool({ connectionString: postgres.url, max: 16 });
pool.on('error', () => undefined);
const server = fork(fileURLToPath(new URL('./http-server.mjs', import.meta.url)), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise((resolve, reject) => {
  server.once('message', resolve);
  server.once('error', reject);
});
const http = createHttpClient({ timeoutMs: 5_000 });
try {
  rows.push(await run('PGlite (in process)', pgliteDatabase(lite)));
  rows.push(await run('PostgreSQL (pg, pool of 16)', pgDatabase(pool)));
  rows.push(
    await run(
      'PostgreSQL, each step a loopback HTTP POST',
      pgDatabase(pool),
      httpSaga(http, `http://127.0.0.1:${port}`),
    ),
  );
} finally {
  await http.close();
  server.disconnect();
  await lite.close();
  await pool.end();
  await postgres.close();
}

const fmt = formatNumber;
console.log(`\n### saga orchestrator, three steps (${TOTAL} sagas, ${IN_FLIGHT} in flight)\n`);
console.log(
  [
    '| run | sagas/s | state writes per saga | per step (the saga row included) | round trips per saga |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.perSecond)} | ${fmt(r.writesPerSaga, 2)} | ${fmt(r.writesPerStep, 2)} | ${fmt(r.roundTripsPerSaga, 2)} |`,
    ),
  ].join('\n'),
);
const path = join(import.meta.dirname, '..', 'results', 'saga.json');
mkdirSync(dirname(path), { recursive: true });
writeFileSync(
  path,
  JSON.stringify({ title: 'saga orchestrator', machine: machine(), quick, rows }, null, 2),
);
console.log('(written to benchmarks/results/saga.json)');
