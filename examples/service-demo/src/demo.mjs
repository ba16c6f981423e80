// Bulwark's front door: three replicas of an inventory service on 127.0.0.1 (one healthy, one with
// a slow tail, one that fails in bursts, then dies and comes back) and an Express orders front that
// calls them, once through plain fetch and once through @bulwark/service-client. Load goes
// through the front in five phases; the demo prints a line per phase and a table at the end, and
// exits by itself. DEMO_PHASE_MS sets each phase's length (default 2500). The front serves
// @bulwark/dashboard's live page at /bulwark while the demo runs (DEMO_HOLD=1 keeps it open at
// the end, until Ctrl+C).
import { createServer } from 'node:http';
import { clearInterval, setInterval } from 'node:timers';
import express from 'express';
import { Registry } from 'prom-client';
import { dashboardListener } from '@bulwark/dashboard';
import { bulwark, bulwarkErrorHandler } from '@bulwark/express';
import { createServiceClient } from '@bulwark/service-client';

const PHASE_MS = Number(process.env.DEMO_PHASE_MS ?? 2_500);
const CONCURRENCY = 16;
/** The slow replica's tail: one request in ten takes fifty times the usual. */
const BASE_MS = 2;
const TAIL_MS = 50 * BASE_MS * 3;

const PHASES = [
  { name: 'calm', modes: ['ok', 'ok', 'ok'], story: 'every replica healthy' },
  { name: 'tail', modes: ['ok', 'tail', 'ok'], story: 'replica b answers 10% of requests slowly' },
  { name: 'burst', modes: ['ok', 'tail', 'burst'], story: 'replica c fails in bursts' },
  { name: 'dead', modes: ['ok', 'tail', 'dead'], story: 'replica c is down' },
  { name: 'recovery', modes: ['ok', 'ok', 'ok'], story: 'replica c is back' },
];

// --- The inventory service's shared state: one reservation per order, whichever replica took it.
// An Idempotency-Key seen before replays its reservation; an order reserved twice is a duplicate.
const reservations = new Map(); // order -> times reserved
const keys = new Map(); // idempotency key -> order
let downstream = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function replica(name) {
  const self = { name, mode: 'ok', port: 0, server: undefined };
  const handle = async (req, res) => {
    downstream++;
    if (self.mode === 'burst' && Math.floor(performance.now() / 300) % 2 === 0) {
      return void res.writeHead(503, { 'content-type': 'text/plain' }).end('burst');
    }
    await sleep(self.mode === 'tail' && Math.random() < 0.1 ? TAIL_MS : BASE_MS);
    if (req.method === 'GET' && req.url.startsWith('/items/')) {
      const sku = decodeURIComponent(req.url.slice('/items/'.length));
      res.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'max-age=1, stale-if-error=30',
      });
      return void res.end(JSON.stringify({ sku, stock: 7, replica: name }));
    }
    if (req.method === 'POST' && req.url === '/reservations') {
      const { order } = JSON.parse(await readBody(req));
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || !keys.has(key)) {
        if (typeof key === 'string') keys.set(key, order);
        reservations.set(order, (reservations.get(order) ?? 0) + 1);
      }
      res.writeHead(201, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ order, replica: name }));
    }
    res.writeHead(404).end();
  };
  self.start = async () => {
    self.server = createServer((req, res) => void handle(req, res));
    await new Promise((resolve) => self.server.listen(self.port, '127.0.0.1', resolve));
    self.port = self.server.address().port;
  };
  self.stop = async () => {
    const closed = new Promise((resolve) => self.server.close(resolve));
    self.server.closeAllConnections();
    await closed;
    self.server = undefined;
  };
  self.setMode = async (mode) => {
    if (mode === 'dead' && self.server !== undefined) await self.stop();
    if (mode !== 'dead' && self.server === undefined) await self.start();
    self.mode = mode;
  };
  return self;
}

const replicas = [replica('a'), replica('b'), replica('c')];
for (const r of replicas) await r.start();
const urls = replicas.map((r) => `http://127.0.0.1:${r.port}`);

// --- The naive way: plain fetch, round robin, no timeout, no retry.
let next = 0;
async function naive(method, path, body) {
  const url = urls[next++ % urls.length] + path;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`inventory answered ${res.status}`);
  }
  return res.json();
}

// --- The Bulwark way: one service client, the standard pipeline, every default but two: the demo
// ejects for 1 s (not 30) so that recovery fits in a phase, and keys POSTs so they may be retried.
const counts = { retries: 0, hedgesWon: 0, ejections: 0, breakerOpens: 0, stale: 0 };
// The live page: the same events as the counts below, and the front's own metrics registry.
const dashboard = dashboardListener({ title: 'orders front' });
const inventory = createServiceClient({
  name: 'inventory',
  endpoints: urls,
  idempotencyKey: 'auto',
  outlierDetection: { baseEjectionMs: 1_000, maxEjectionMs: 2_000 },
  listener: (event) => {
    dashboard(event);
    if (event.type === 'retry-scheduled') counts.retries++;
    else if (event.type === 'hedge-won' && event.attempt > 1) counts.hedgesWon++;
    else if (event.type === 'endpoint-ejected') counts.ejections++;
    else if (event.type === 'breaker-state' && event.to === 'open') counts.breakerOpens++;
    else if (event.type === 'cache-stale-served' || event.type === 'fallback') counts.stale++;
  },
});
const getItem = inventory.operation({
  name: 'getItem',
  path: '/items/:sku',
  hedge: true,
  cache: true, // the replicas allow a second of freshness, and a stale answer while they fail
});
const reserve = inventory.operation({ name: 'reserve', method: 'POST', path: '/reservations' });
dashboard.observeBreakers(inventory.breakers); // the time until an open breaker's trial

// --- The orders front: one Express app, a route per way of calling inventory, and the dashboard
// mounted first, so its page and stream are never shed or counted as orders.
const registry = new Registry();
const app = express();
app.use(dashboard.handle);
app.use(express.json());
app.use(bulwark({ metrics: { registry } }));
dashboard.observeServer({ registry });
let orderId = 0;
app.post('/orders/naive', async (req, res) => {
  const order = `n-${++orderId}`;
  try {
    await naive('GET', `/items/${encodeURIComponent(req.body.sku)}`);
    await naive('POST', '/reservations', { order });
  } catch {
    return void res.status(502).json({ error: 'inventory failed' });
  }
  res.status(201).json({ order });
});
app.post('/orders/bulwark', async (req, res) => {
  const order = `b-${++orderId}`;
  await getItem({ params: { sku: req.body.sku } });
  await reserve({ body: { order } });
  res.status(201).json({ order });
});
app.use(bulwarkErrorHandler());
const front = await new Promise((resolve) => {
  const server = app.listen(0, '127.0.0.1', () => resolve(server));
});
const frontUrl = `http://127.0.0.1:${front.address().port}`;

// --- Load: CONCURRENCY callers, each placing orders one after another until the phase ends.
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function drive(way, phase) {
  const stats = { sent: 0, ok: 0, latencies: [] };
  const end = performance.now() + PHASE_MS;
  const live = process.stdout.isTTY;
  const line = () =>
    `${way.padEnd(7)} ${phase.name.padEnd(8)} ${String(stats.sent).padStart(6)} orders, ` +
    `${((100 * stats.ok) / Math.max(1, stats.sent)).toFixed(1).padStart(5)}% placed`;
  const ticker = live ? setInterval(() => process.stdout.write(`\r${line()}`), 200) : undefined;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        stats.sent++;
        try {
          const res = await fetch(`${frontUrl}/orders/${way}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ sku: `sku-${stats.sent % 50}` }),
          });
          await res.arrayBuffer();
          if (res.status === 201) stats.ok++;
        } catch {
          // A front that does not answer is a failed order.
        }
        stats.latencies.push(performance.now() - start);
      }
    }),
  );
  clearInterval(ticker);
  process.stdout.write(`${live ? '\r' : ''}${line()} (${phase.story})\n`);
  return stats;
}

function duplicates(prefix) {
  let count = 0;
  for (const [order, times] of reservations) if (order.startsWith(prefix) && times > 1) count++;
  return count;
}

async function run(way) {
  for (const r of replicas) await r.setMode('ok');
  const before = { downstream, ...counts };
  const phases = [];
  for (const phase of PHASES) {
    for (const [i, mode] of phase.modes.entries()) await replicas[i].setMode(mode);
    const from = { downstream, ...counts };
    const stats = await drive(way, phase);
    phases.push({ ...stats, downstream: downstream - from.downstream, ...delta(from) });
  }
  const total = { sent: 0, ok: 0, latencies: [] };
  for (const p of phases) {
    total.sent += p.sent;
    total.ok += p.ok;
    total.latencies.push(...p.latencies);
  }
  total.downstream = downstream - before.downstream;
  Object.assign(total, delta(before));
  total.duplicates = duplicates(way === 'naive' ? 'n-' : 'b-');
  return { phases, total };
}

function delta(from) {
  const out = {};
  for (const key of Object.keys(counts)) out[key] = counts[key] - from[key];
  return out;
}

console.log(
  `orders front ${frontUrl}, inventory replicas ${urls.join(', ')}; ${PHASES.length} phases of ${PHASE_MS} ms, ${CONCURRENCY} callers`,
);
console.log(`dashboard ${frontUrl}${dashboard.path} (live while the demo runs)\n`);
const results = { naive: await run('naive'), bulwark: await run('bulwark') };

// --- The table, side by side, and a sentence per phase.
const ms = (v) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const pct = (s) => `${((100 * s.ok) / Math.max(1, s.sent)).toFixed(2)}%`;
const summary = (s) => {
  const sorted = [...s.latencies].sort((x, y) => x - y);
  return {
    'success rate': pct(s),
    p50: ms(percentile(sorted, 50)),
    p99: ms(percentile(sorted, 99)),
    'p99.9': ms(percentile(sorted, 99.9)),
    'requests sent downstream': String(s.downstream),
    retries: String(s.retries),
    'hedges won': String(s.hedgesWon),
    ejections: String(s.ejections),
    'breaker opens': String(s.breakerOpens),
    'stale answers served': String(s.stale),
    'duplicate side effects': String(s.duplicates),
  };
};
const naiveRow = summary(results.naive.total);
const bulwarkRow = summary(results.bulwark.total);
console.log(`\n${''.padEnd(26)}${'plain fetch'.padStart(14)}${'Bulwark'.padStart(14)}`);
for (const key of Object.keys(naiveRow)) {
  console.log(`${key.padEnd(26)}${naiveRow[key].padStart(14)}${bulwarkRow[key].padStart(14)}`);
}
console.log('');
for (const [i, phase] of PHASES.entries()) {
  const n = results.naive.phases[i];
  const b = results.bulwark.phases[i];
  const p99 = (s) =>
    ms(
      percentile(
        [...s.latencies].sort((x, y) => x - y),
        99,
      ),
    );
  const extra = [
    b.retries > 0 ? `${b.retries} retries` : '',
    b.hedgesWon > 0 ? `${b.hedgesWon} hedges won` : '',
    b.ejections > 0 ? `${b.ejections} ejections` : '',
  ].filter(Boolean);
  console.log(
    `${phase.name}: ${phase.story}; plain fetch placed ${pct(n)} (p99 ${p99(n)}), ` +
      `Bulwark ${pct(b)} (p99 ${p99(b)})${extra.length > 0 ? `, with ${extra.join(', ')}` : ''}.`,
  );
}

if (process.env.DEMO_HOLD === '1') {
  console.log(`\nthe dashboard stays up at ${frontUrl}${dashboard.path}: Ctrl+C to stop`);
  await new Promise((resolve) => process.once('SIGINT', resolve));
}
dashboard.close();
await inventory.close();
const frontClosed = new Promise((resolve) => front.close(resolve));
front.closeAllConnections();
await frontClosed;
for (const r of replicas) if (r.server !== undefined) await r.stop();
if (results.bulwark.total.duplicates !== 0) process.exitCode = 1;
