// Inbound rate limiting under load: Express with Bulwark's `rateLimit` against express-rate-limit,
// Fastify with it against @fastify/rate-limit, each with a memory store and a Redis store, and
// the bare framework as the floor. Every server variant (rate-limit-inbound-apps.mjs) runs in its
// own process on core 0; autocannon drives it over loopback with 100 connections from the other
// cores (as server-stack.mjs does). Variants alternate, three rounds, and the table shows the
// median. Every limiter keys on the client address and allows far more than a run spends, so
// the figures are the cost of a granted permit and its headers; a variant that refused anything,
// or sent no rate-limit header, is reported as such.
//
//   node benchmarks/src/rate-limit-inbound.mjs [seconds per run, default 10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  PINNED,
  fmt,
  limitRun,
  machine,
  measure,
  startRedis,
  startServer,
  summary,
} from './load.mjs';
import { progress } from './progress.mjs';

const SECONDS = Number(process.argv[2] ?? 10);
const WARMUP_SECONDS = Math.min(2, SECONDS);
const CONNECTIONS = 100;
const ROUNDS = 3;
const APPS = join(import.meta.dirname, 'rate-limit-inbound-apps.mjs');
const finish = limitRun(20 * 60_000);

const FRAMEWORKS = {
  express: { peer: 'erl', peerName: 'express-rate-limit' },
  fastify: { peer: 'frl', peerName: '@fastify/rate-limit' },
};
const variants = Object.entries(FRAMEWORKS).flatMap(([framework, { peer }]) => [
  `${framework}-bare`,
  ...['memory', 'redis'].flatMap((store) => [
    `${framework}-bulwark-${store}`,
    `${framework}-${peer}-${store}`,
  ]),
]);

/** The rate-limit header a variant answers with, so a limiter that is not on shows. */
async function limitHeader(variant, env) {
  const server = await startServer(APPS, variant, env);
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    await res.arrayBuffer();
    return res.headers.get('ratelimit-policy') ?? res.headers.get('x-ratelimit-limit') ?? undefined;
  } finally {
    server.stop();
  }
}

const redis = await startRedis();
const env = { REDIS_PORT: String(redis.port) };
const headers = new Map();
const runs = new Map();
try {
  for (const variant of variants) headers.set(variant, await limitHeader(variant, env));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const row = await measure(APPS, variant, {
        env,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        connections: CONNECTIONS,
      });
      runs.set(variant, [...(runs.get(variant) ?? []), row]);
      progress(`round ${round + 1}/${ROUNDS}, ${variant}: ${fmt(row.reqPerSec)} req/s`);
    }
  }
} finally {
  redis.stop();
}

const rows = [...runs.values()].map(summary);
const byName = new Map(rows.map((r) => [r.variant, r]));
for (const row of rows) {
  const framework = row.variant.split('-')[0];
  row.vsBare = row.reqPerSec / byName.get(`${framework}-bare`).reqPerSec;
  row.header = headers.get(row.variant) ?? null;
}
// Bulwark against the peer, per framework and store: the goal is >= 1.
const versusPeer = Object.entries(FRAMEWORKS).flatMap(([framework, { peer, peerName }]) =>
  ['memory', 'redis'].map((store) => ({
    framework,
    store,
    peer: peerName,
    ratio:
      byName.get(`${framework}-bulwark-${store}`).reqPerSec /
      byName.get(`${framework}-${peer}-${store}`).reqPerSec,
  })),
);

console.log(
  `\n### Inbound rate limit: ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds\n`,
);
console.log(
  PINNED
    ? 'server on core 0, autocannon (and Redis) on the other cores'
    : 'unpinned: server and autocannon share the cores (taskset missing or one core)',
);
console.log();
console.log(
  [
    '| variant | req/s | runs | vs bare | p99 ms | server CPU µs/req | non-2xx | rate-limit header |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${fmt(r.reqPerSec)} | ${r.runs.join(', ')} | ${fmt(r.vsBare, 2)}x | ${fmt(r.p99Ms, 1)} | ${fmt(r.cpuMicrosPerReq, 1)} | ${r.non2xx} | ${r.header ?? 'none: not limiting'} |`,
    ),
  ].join('\n'),
);
console.log(
  [
    '\n| framework | store | Bulwark / peer (req/s) |',
    '|---|---|---|',
    ...versusPeer.map((v) => `| ${v.framework} | ${v.store} | ${fmt(v.ratio, 2)}x vs ${v.peer} |`),
  ].join('\n'),
);

const path = join(import.meta.dirname, '..', 'results', 'rate-limit-inbound.json');
mkdirSync(dirname(path), { recursive: true });
writeFileSync(
  path,
  JSON.stringify(
    {
      title: 'inbound rate limit',
      machine: machine(),
      pinned: PINNED,
      seconds: SECONDS,
      rows,
      versusPeer,
    },
    null,
    2,
  ),
);
console.log('(written to benchmarks/results/rate-limit-inbound.json)');
finish();
