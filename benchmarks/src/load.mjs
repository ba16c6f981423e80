// What the HTTP server benchmarks share: servers in processes of their own, pinned away from the
// load generator, a redis-server on loopback, and autocannon runs measured with the server's own
// CPU time. Used by server-stack.mjs and rate-limit-inbound.mjs.
import { execFileSync, fork, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import autocannon from 'autocannon';

const children = new Set();
const stopAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', stopAll);

/** A hard stop for the whole run, so a hung server or client cannot hold the machine. */
export function limitRun(ms) {
  const deadline = setTimeout(() => {
    console.error('benchmark took too long: stopping');
    stopAll();
    process.exit(1);
  }, ms);
  deadline.unref();
  return () => {
    clearTimeout(deadline);
    stopAll();
  };
}

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
export const PINNED = pinToLoadCores();

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

export async function startRedis() {
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

/**
 * Runs `apps` (a module that listens, sends its port over IPC and answers `cpu` messages with
 * its CPU time) for one variant, on core 0 when pinned.
 */
export async function startServer(apps, variant, env = {}) {
  const child = fork(apps, [variant], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
    // fork() runs `execPath ...execArgv apps variant`: taskset then execs Node on core 0.
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

export function load(port, request, seconds, connections) {
  return autocannon({
    url: `http://127.0.0.1:${port}${request.path ?? '/'}`,
    connections,
    duration: seconds,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
  });
}

/** One variant under load: a warm-up, then a measured run with the server's CPU per request. */
export async function measure(apps, variant, options) {
  const { request = {}, env = {}, seconds, warmupSeconds, connections } = options;
  const server = await startServer(apps, variant, env);
  try {
    await load(server.port, request, warmupSeconds, connections);
    const cpuBefore = await server.cpu();
    const result = await load(server.port, request, seconds, connections);
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

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The medians of one variant's rounds. */
export function summary(rows) {
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

export const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function machine() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}
