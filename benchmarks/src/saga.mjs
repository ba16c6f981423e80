// @bulwark/saga's own cost: sagas of three steps whose actions do nothing, so what is measured is
// the orchestrator's state writes (the saga row, then a write before and after each step) and
// its bookkeeping. Run on PGlite (in this process) and on a real PostgreSQL on this machine
// (started by @bulwark/testing, pg with a pool of 16), with 32 sagas in flight at a time.
// Every statement that is not a SELECT is counted, to report state writes per saga and per step.
//
// Goal: >= 500 three-step sagas/s on real PostgreSQL on 2 cores, at most 2 state writes per step.
// Not measured yet: steps that call loopback HTTP services (the third run).
//
//   node --expose-gc benchmarks/src/saga.mjs [--quick]   (--quick: a few dozen sagas, to check it runs)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { pgDatabase, pgliteDatabase } from '@bulwark/outbox';
import { createOrchestrator, defineSaga } from '@bulwark/saga';
import { startPostgres } from '@bulwark/testing';
import { machine } from './harness.mjs';

const quick = process.argv.includes('--quick');
const TOTAL = quick ? 40 : 5_000;
const WARMUP = quick ? 8 : 200;
const IN_FLIGHT = 32;

const noop = () => null;
const saga = defineSaga({
  name: 'bench',
  steps: [
    { name: 'reserve', action: noop, compensate: noop },
    { name: 'charge', action: noop, compensate: noop },
    { name: 'ship', action: noop, compensate: noop },
  ],
});

/** The database, counting the statements that write. */
function counting(database) {
  const counted = {
    writes: 0,
    transaction: (fn) => database.transaction(fn),
    query(text, params) {
      if (!/^\s*SELECT/.test(text)) counted.writes++;
      return database.query(text, params);
    },
  };
  return counted;
}

let tables = 0;
async function run(name, database) {
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
  const start = performance.now();
  await drive(TOTAL);
  const seconds = (performance.now() - start) / 1000;
  return {
    name,
    sagas: TOTAL,
    perSecond: TOTAL / seconds,
    writesPerSaga: counted.writes / TOTAL,
    writesPerStep: (counted.writes - TOTAL) / (TOTAL * 3),
  };
}

const rows = [];
const lite = new PGlite();
const postgres = await startPostgres();
const pool = new pg.Pool({ connectionString: postgres.url, max: 16 });
pool.on('error', () => undefined);
try {
  rows.push(await run('PGlite (in process)', pgliteDatabase(lite)));
  rows.push(await run('PostgreSQL (pg, pool of 16)', pgDatabase(pool)));
} finally {
  await lite.close();
  await pool.end();
  await postgres.close();
}

const fmt = (n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
console.log(
  `\n### saga orchestrator, three no-op steps (${TOTAL} sagas, ${IN_FLIGHT} in flight)\n`,
);
console.log(
  [
    '| database | sagas/s | state writes per saga | per step (besides the saga row) |',
    '|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.perSecond)} | ${fmt(r.writesPerSaga, 2)} | ${fmt(r.writesPerStep, 2)} |`,
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
