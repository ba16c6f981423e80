// Throughput of Bulwark's Express middleware and Fastify plugin against the bare frameworks:
// each server variant (server-apps.mjs) runs in its own process and autocannon drives it over
// loopback with 100 connections, the server pinned to core 0 and autocannon to the others. Bare
// and Bulwark variants alternate, three times, so a noisy neighbour slows both alike; the table
// shows the median of the rounds. Then the replay path of a
// keyed POST, with the memory and Redis stores, against a plain POST handler. Last, bare and
// Bulwark run side by side, 50 connections each at the same time on the same core, so both see
// the same machine: on a shared machine that ratio is steadier than one taken from runs made a
// minute apart.
// `*-hook` variants (one hook that sets a constant header) measure the floor any plugin pays;
// `*-als` variants (that hook running the request in AsyncLocalStorage) the floor of any request
// context that survives awaits; `*-peer` variants the request-ID + prom-client histogram pair of
// hooks an app would write by hand, which the stack is also compared with.
//
//   node benchmarks/src/server-stack.mjs [seconds per run, default 10]
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import autocannon from 'autocannon';

const SECONDS = Number(process.argv[2] ?? 10);
const WARMUP_SECONDS = 2;
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
const RUN_LIMIT_MS = 20 * 60_000;

const children = new Set();
const stopAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', stopAll);
const deadline = setTimeout(() => {
  console.error('benchmark took too long: stopping');
  stopAll();
  process.exit(1);
}, RUN_LIMIT_MS);
deadline.unref();

/**
 * On two cores or more, each server runs on core 0 and this process (autocannon, and Redis,
 * which inherits its affinity) on the others. Unpinned, the scheduler moves the server and the
 * load generator around the same cores, and how much CPU the server gets, not what it costs,
 * decides the figure. Pinned, the server's core is the bottleneck: bare and Bulwark variants
 * get the same core each, and side by side two servers share one core evenly. Falls back to
 * unpinned where taskset (util-linux) is missing.
 */
function pinToLoadCores() {
  const cores = os.availableParallelism();
  if (cores < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', `1-${cores - 1}`, String(process.pid)], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}
const PINNED = pinToLoadCores();

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (reply) => {
      socket.destroy();
      resolve(reply.startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.add(child);
  for (let i = 0; i < 250 && !(await ping(port)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!(await ping(port))) throw new Error('redis-server did not start');
  return {
    port,
    stop: () => {
      child.kill('SIGTERM');
      children.delete(child);
    },
  };
}

async function startServer(variant, env) {
  const child = fork(APPS, [variant], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
    // fork() runs `execPath ...execArgv APPS variant`: taskset then execs Node on core 0.
    execPath: PINNED ? 'taskset' : process.execPath,
    execArgv: PINNED ? ['-c', '0', process.execPath] : [],
  });
  children.add(child);
  const port = await new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.port));
    child.once('exit', (code) =>
      reject(new Error(`${variant} exited with ${code} before listening`)),
    );
  });
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve(message.cpuMicros));
      child.send('cpu');
    });
  return {
    port,
    cpu,
    stop: () => {
      child.kill('SIGTERM');
      children.delete(child);
    },
  };
}

function load(port, request, seconds) {
  return autocannon({
    url: `http://127.0.0.1:${port}${request.path ?? '/'}`,
    connections: CONNECTIONS,
    duration: seconds,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
  });
}

async function measure(variant, request = {}, env = {}) {
  const server = await startServer(variant, env);
  try {
    await load(server.port, request, WARMUP_SECONDS);
    const cpuBefore = await server.cpu();
    const result = await load(server.port, request, SECONDS);
    const cpuAfter = await server.cpu();
    const ok = result['2xx'];
    return {
      variant,
      reqPerSec: result.requests.average,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx + result.errors + result.timeouts,
      cpuMicrosPerReq: ok > 0 ? (cpuAfter - cpuBefore) / result.requests.total : Number.NaN,
    };
  } finally {
    server.stop();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summary(rows) {
  const of = (key) => median(rows.map((r) => r[key]));
  return {
    variant: rows[0].variant,
    reqPerSec: of('reqPerSec'),
    p99Ms: of('p99Ms'),
    non2xx: rows.reduce((s, r) => s + r.non2xx, 0),
    cpuMicrosPerReq: of('cpuMicrosPerReq'),
    runs: rows.map((r) => Math.round(r.reqPerSec)),
  };
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
    'fastify-bare',
    'fastify-hook',
    'fastify-als',
    'fastify-peer',
    'fastify-stack',
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
  const a = await startServer(bare);
  const b = await startServer(stack);
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
    return { pair: `${stack} / ${bare}`, ratio: median(ratios), ratios };
  } finally {
    a.stop();
    b.stop();
  }
}
// The hook pairs measure the floor: what one trivial hook costs on this machine, which no
// plugin can go below; the ALS pairs the floor of any request context that survives awaits,
// taken side by side as well because it decides whether the 90% goal can be met at all; the
// last two compare Bulwark's stack with the hook floor directly.
const pairs = [
  await paired('express-bare', 'express-stack'),
  await paired('fastify-bare', 'fastify-stack'),
  await paired('express-bare', 'express-hook'),
  await paired('fastify-bare', 'fastify-hook'),
  await paired('express-bare', 'express-als'),
  await paired('fastify-bare', 'fastify-als'),
  await paired('express-hook', 'express-stack'),
  await paired('fastify-hook', 'fastify-stack'),
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

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
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
  '\nbaselines: *-stack, *-hook, *-als and *-peer vs *-bare (GET /), *-replay-* vs *-post (POST /orders without Bulwark); *-hook is one trivial hook that sets a header, *-als the same hook running the request in AsyncLocalStorage.run(), *-peer a hand-written request-ID + prom-client histogram pair',
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

const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  date: new Date().toISOString(),
};
const path = join(import.meta.dirname, '..', 'results', 'server-stack.json');
mkdirSync(dirname(path), { recursive: true });
writeFileSync(
  path,
  JSON.stringify(
    { title: 'server stack', machine, pinned: PINNED, seconds: SECONDS, rows, versusPeer, pairs },
    null,
    2,
  ),
);
console.log('(written to benchmarks/results/server-stack.json)');
clearTimeout(deadline);
stopAll();
