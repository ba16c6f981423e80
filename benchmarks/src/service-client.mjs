// The service client's hot path: one operation through createServiceClient (one endpoint,
// nothing failing, the standard pipeline with its defaults: deadline, retry on a budget, a
// breaker for the endpoint, attempt timeout, P2C and outlier detection) against raw
// undici.request, with @bulwark/http-client for reference, in one run, against one loopback
// keep-alive server in a separate process (http-server.mjs). Each call fetches and parses a
// small JSON body.
//
// Throughput: 64 concurrent callers for a fixed time (or a request count, whichever ends first),
// with the client process's CPU time per request. Latency: one caller, each call timed on its
// own, p50 and p99, and the c=1 rate. Clients take turns, so a noisy neighbour slows each alike.
// Goals: at least 90% of raw undici's req/s at c=64 and c=1, and a p99 at c=1 at most 1.1× its.
// Knobs (environment): ROUNDS, THROUGHPUT_MS, LATENCY_SLICES, WARMUP_MS. Every loop is bounded.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { createHttpClient } from '@bulwark/http-client';
import { createServiceClient } from '@bulwark/service-client';
import { Registry } from 'prom-client';
import { measureClients } from './client-load.mjs';
import { formatNumber, machine, report } from './harness.mjs';

const CONCURRENCY = 64;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const THROUGHPUT_MS = Number(process.env.THROUGHPUT_MS ?? 1_000);
const THROUGHPUT_MAX_REQUESTS = 1_000_000;
const LATENCY_SLICES = Number(process.env.LATENCY_SLICES ?? 40);
const LATENCY_SLICE_REQUESTS = 250;
const LATENCY_SLICE_MS = 1_000;
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1_000);

const server = fork(fileURLToPath(new URL('./http-server.mjs', import.meta.url)), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise((resolve, reject) => {
  server.once('message', resolve);
  server.once('error', reject);
});
const origin = `http://127.0.0.1:${port}`;

const closers = [];
const peers = [];

// The floor: undici.request on its global dispatcher, body parsed.
peers.push({
  name: 'undici.request (raw)',
  fn: async () => {
    const { body } = await request(`${origin}/users/1`);
    return body.json();
  },
});

// For reference: the HTTP client alone, its own full pipeline.
const http = createHttpClient({ baseUrl: origin });
closers.push(() => http.close());
peers.push({ name: 'bulwark createHttpClient (defaults)', fn: () => http.get('/users/1') });

// The service client with its defaults: the operation a service would define.
const users = createServiceClient({ name: 'users', endpoints: [origin] });
closers.push(() => users.close());
const getUser = users.operation({ name: 'getUser', path: '/users/:id' });
peers.push({
  name: 'bulwark createServiceClient (defaults)',
  fn: () => getUser({ params: { id: 1 } }),
});

// The same with Prometheus metrics on: what turning them on costs per call.
const measured = createServiceClient({
  name: 'users-measured',
  endpoints: [origin],
  metrics: { registry: new Registry() },
});
closers.push(() => measured.close());
const getUserMeasured = measured.operation({ name: 'getUser', path: '/users/:id' });
peers.push({
  name: 'bulwark createServiceClient (defaults, Prometheus metrics)',
  fn: () => getUserMeasured({ params: { id: 1 } }),
});

// Every client must really work before it is timed.
for (const peer of peers) {
  const value = await peer.fn();
  if (value?.id !== 1) throw new Error(`${peer.name} returned ${JSON.stringify(value)}`);
}

const rows = await measureClients(peers, {
  concurrency: CONCURRENCY,
  rounds: ROUNDS,
  throughputMs: THROUGHPUT_MS,
  maxRequests: THROUGHPUT_MAX_REQUESTS,
  warmupMs: WARMUP_MS,
  latencySlices: LATENCY_SLICES,
  sliceRequests: LATENCY_SLICE_REQUESTS,
  sliceMs: LATENCY_SLICE_MS,
});
const raw = rows[0];
for (const row of rows) {
  row.rpsRatio = row.rps / raw.rps;
  row.rps1Ratio = row.rps1 / raw.rps1;
  row.p50Ratio = row.p50 / raw.p50;
  row.p99Ratio = row.p99 / raw.p99;
}

const fmt = formatNumber;
const pct = (r) => `${fmt(r * 100)}%`;
report(
  `Service client hot path: one endpoint, nothing failing, small JSON body (req/s at c=${CONCURRENCY} and c=1, latency at c=1)`,
  rows,
  [
    { label: 'client', value: (r) => r.name },
    { label: `req/s c=${CONCURRENCY}`, value: (r) => fmt(r.rps) },
    { label: 'vs raw', value: (r) => pct(r.rpsRatio) },
    { label: 'client CPU µs/req', value: (r) => fmt(r.cpuUs, 1) },
    { label: 'req/s c=1', value: (r) => fmt(r.rps1) },
    { label: 'vs raw', value: (r) => pct(r.rps1Ratio) },
    { label: 'p50 c=1 (µs)', value: (r) => fmt(r.p50, 1) },
    { label: 'vs raw', value: (r) => `${fmt(r.p50Ratio, 2)}×` },
    { label: 'p99 c=1 (µs)', value: (r) => fmt(r.p99, 1) },
    { label: 'vs raw', value: (r) => `${fmt(r.p99Ratio, 2)}×` },
  ],
  'service-client.json',
);

const verdict = (ok) => (ok ? 'met' : 'NOT met');
const service = rows.find((r) => r.name === 'bulwark createServiceClient (defaults)');
console.log(
  `service client keeps ${pct(service.rpsRatio)} of raw undici's req/s at c=${CONCURRENCY} (goal >= 90%: ${verdict(service.rpsRatio >= 0.9)})`,
);
console.log(
  `service client keeps ${pct(service.rps1Ratio)} of raw undici's req/s at c=1 (goal >= 90%: ${verdict(service.rps1Ratio >= 0.9)})`,
);
console.log(
  `service client p99 at c=1 is ${fmt(service.p99Ratio, 2)}× raw undici's (goal <= 1.10×: ${verdict(service.p99Ratio <= 1.1)})`,
);
console.log(JSON.stringify(machine()));

for (const close of closers) await close();
server.disconnect();
