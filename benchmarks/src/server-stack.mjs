// Throughput of Bulwark's Express middleware and Fastify plugin against the bare frameworks:
// each server variant (server-apps.mjs) runs in its own process and autocannon drives it over
// loopback with 100 connections, the server pinned to core 0 and autocannon to the others. Bare
// and Bulwark variants alternate, three times, so a noisy neighbour slows both alike; the table
// shows the median of the rounds. Then the replay path of a
// keyed POST, with the memory and Redis stores, against a plain POST handler. Last, bare and
// Bulwark run side by side, 50 connections each at the same time on the same core, so both see
// the same machine: on a shared machine that ratio is steadier than one taken from runs made a
// minute apart.
// `*-ratelimit` variants are the whole stack plus an inbound rate limit (memory store, per client
// address, a limit no run reaches), against `*-stack`: what the limit costs on top.
// `*-hook` variants (one hook that sets a constant header) measure the floor any plugin pays;
// `*-als` variants (that hook running the request in AsyncLocalStorage) the floor of any request
// context that survives awaits; `*-peer` variants the request-ID + prom-client histogram pair of
// hooks an app would write by hand, which the stack is also compared with.
//
//   node benchmarks/src/server-stack.mjs [seconds per run, default 10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import autocannon from 'autocannon';
import {
  PINNED,
  fmt,
  limitRun,
  machine,
  measure as measureVariant,
  median,
  startRedis,
  startServer,
  summary,
} from './load.mjs';
import { progress } from './progress.mjs';

const SECONDS = Number(process.argv[2] ?? 10);
const WARMUP_SECONDS = Math.min(2, SECONDS);
const CONNECTIONS = 100;
const ROUNDS = 3;
const PAIRED_ROUNDS = 3;
const APPS = join(import.meta.dirname, 'server-apps.mjs');
const POST = {
  method: 'POST',
  path: '/orders',
  headers: { 'content-type': 'application/json', 'idempotency-key': '"bench-order-1"' },
  body: JSON.stringify({ item: 'book' }),
};
// A hard stop for the whole run, so a hung server or client cannot hold the machine.
const finish = limitRun(20 * 60_000);

/** One run of `variant`, said on stderr as it ends: the whole benchmark takes minutes. */
async function measure(variant, request = {}, env = {}) {
  const row = await measureVariant(APPS, variant, {
    request,
    env,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
  });
  progress(`${variant}: ${fmt(row.reqPerSec)} req/s`);
  return row;
}

const runs = new Map();
const record = (row) => runs.set(row.variant, [...(runs.get(row.variant) ?? []), row]);

// Hello world: bare and Bulwark alternate, so drift in the machine's load hits both.
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of [
    'express-bare',
    'express-hook',
    'express-als',
    'express-peer',
    'express-stack',
    'express-ratelimit',
    'fastify-bare',
    'fastify-hook',
    'fastify-als',
    'fastify-peer',
    'fastify-stack',
    'fastify-ratelimit',
  ]) {
    record(await measure(variant));
  }
}
// A keyed POST replayed from the store, against a plain POST handler.
const redis = await startRedis();
try {
  for (const variant of [
    'express-post',
    'express-replay-memory',
    'express-replay-redis',
    'fastify-post',
    'fastify-replay-memory',
    'fastify-replay-redis',
  ]) {
    record(await measure(variant, POST, { REDIS_PORT: String(redis.port) }));
  }
} finally {
  redis.stop();
}

// Side by side: both servers under load at once, each by its own autocannon instance.
async function paired(bare, stack) {
  const a = await startServer(APPS, bare);
  const b = await startServer(APPS, stack);
  try {
    const half = CONNECTIONS / 2;
    const both = (seconds) =>
      Promise.all([
        autocannon({ url: `http://127.0.0.1:${a.port}/`, connections: half, duration: seconds }),
        autocannon({ url: `http://127.0.0.1:${b.port}/`, connections: half, duration: seconds }),
      ]);
    await both(WARMUP_SECONDS);
    const ratios = [];
    for (let round = 0; round < PAIRED_ROUNDS; round++) {
      const [ra, rb] = await both(SECONDS);
      ratios.push(rb.requests.average / ra.requests.average);
    }
    progress(`${stack} / ${bare}: ${ratios.map((r) => fmt(r, 2)).join(', ')}`);
    return { pair: `${stack} / ${bare}`, ratio: median(ratios), ratios };
  } finally {
    a.stop();
    b.stop();
  }
}
// The hook pairs measure the floor: what one trivial hook costs on this machine, which no
// plugin can go below; the ALS pairs the floor of any request context that survives awaits,
// taken side by side as well because it decides whether the 90% goal can be met at all; the
// next two compare Bulwark's stack with the hook floor directly; the last two give the cost of
// the inbound rate limit on top of the stack.
const pairs = [
  await paired('express-bare', 'express-stack'),
  await paired('fastify-bare', 'fastify-stack'),
  await paired('express-bare', 'express-hook'),
  await paired('fastify-bare', 'fastify-hook'),
  await paired('express-bare', 'express-als'),
  await paired('fastify-bare', 'fastify-als'),
  await paired('express-hook', 'express-stack'),
  await paired('fastify-hook', 'fastify-stack'),
  await paired('express-stack', 'express-ratelimit'),
  await paired('fastify-stack', 'fastify-ratelimit'),
];

const rows = [...runs.values()].map(summary);
const byName = new Map(rows.map((r) => [r.variant, r]));
const BASELINE = {
  'express-hook': 'express-bare',
  'fastify-hook': 'fastify-bare',
  'express-als': 'express-bare',
  'fastify-als': 'fastify-bare',
  'express-peer': 'express-bare',
  'fastify-peer': 'fastify-bare',
  'express-stack': 'express-bare',
  'fastify-stack': 'fastify-bare',
  'express-ratelimit': 'express-stack',
  'fastify-ratelimit': 'fastify-stack',
  'express-replay-memory': 'express-post',
  'express-replay-redis': 'express-post',
  'fastify-replay-memory': 'fastify-post',
  'fastify-replay-redis': 'fastify-post',
};
for (const row of rows) {
  const base = byName.get(BASELINE[row.variant] ?? row.variant);
  row.ratio = row.reqPerSec / base.reqPerSec;
}
// The stack against the hand-written pair, per framework.
const versusPeer = Object.fromEntries(
  ['express', 'fastify'].map((framework) => [
    framework,
    byName.get(`${framework}-stack`).reqPerSec / byName.get(`${framework}-peer`).reqPerSec,
  ]),
);

const header = '| variant | req/s | runs | vs baseline | p99 ms | server CPU µs/req | non-2xx |';
const lines = rows.map(
  (r) =>
    `| ${r.variant} | ${fmt(r.reqPerSec)} | ${r.runs.join(', ')} | ${fmt(r.ratio, 2)}x | ${fmt(r.p99Ms, 1)} | ${fmt(r.cpuMicrosPerReq, 1)} | ${r.non2xx} |`,
);
console.log(`\n### Server stack: ${CONNECTIONS} connections, ${SECONDS} s per run\n`);
console.log(
  PINNED
    ? 'server on core 0, autocannon (and Redis) on the other cores'
    : 'unpinned: server and autocannon share the cores (taskset missing or one core)',
);
console.log();
console.log([header, '|---|---|---|---|---|---|---|', ...lines].join('\n'));
console.log(
  '\nbaselines: *-stack, *-hook, *-als and *-peer vs *-bare (GET /), *-ratelimit vs *-stack, *-replay-* vs *-post (POST /orders without Bulwark); *-hook is one trivial hook that sets a header, *-als the same hook running the request in AsyncLocalStorage.run(), *-peer a hand-written request-ID + prom-client histogram pair, *-ratelimit the stack with an inbound rate limit per client address that never refuses',
);
console.log(
  `\nstack vs peer (req/s): Express ${fmt(versusPeer.express, 2)}x, Fastify ${fmt(versusPeer.fastify, 2)}x`,
);
console.log(`\n### Side by side: ${CONNECTIONS / 2} connections each, ${SECONDS} s per round\n`);
console.log(
  [
    '| pair | throughput ratio (median) | rounds |',
    '|---|---|---|',
    ...pairs.map(
      (p) => `| ${p.pair} | ${fmt(p.ratio, 2)}x | ${p.ratios.map((r) => fmt(r, 2)).join(', ')} |`,
    ),
  ].join('\n'),
);

const path = join(import.meta.dirname, '..', 'results', 'server-stack.json');
mkdirSync(dirname(path), { recursive: true });
writeFileSync(
  path,
  JSON.stringify(
    {
      title: 'server stack',
      machine: machine(),
      pinned: PINNED,
      seconds: SECONDS,
      rows,
      versusPeer,
      pairs,
    },
    null,
    2,
  ),
);
console.log('(written to benchmarks/results/server-stack.json)');
finish();
