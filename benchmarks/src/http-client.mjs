// HTTP clients against one loopback keep-alive server in a separate process (http-server.mjs),
// all in one run: raw undici.request, the bare-dispatch floor (an Agent's dispatch() with a
// minimal handler, what Bulwark's client itself builds on), undici's RetryAgent, Bulwark's HTTP
// client with its defaults and with its full pipeline (also with a Prometheus listener, and with
// every policy off, to show the client's own floor), cockatiel's four policies around
// undici.request, got, axios and ky. Each call fetches and parses a small JSON body.
//
// Throughput: 64 concurrent callers for a fixed time (or a request count, whichever ends first),
// with the client process's CPU time per request. Latency: one caller, each call timed on its
// own, p50 and p99, and the c=1 rate. Clients take turns (see below), so a noisy neighbour slows
// every client alike. A peer that is not installed is skipped (and said so).
// Knobs: ROUNDS, THROUGHPUT_MS, LATENCY_SLICES in the environment; PEERS=a,b keeps only the
// clients whose names contain one of those words (the two floors always run), and STUB=0 skips
// the stub-dispatcher table, for shorter runs.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { Agent, Dispatcher, RetryAgent, request } from 'undici';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead as cBulkhead,
  circuitBreaker as cCircuitBreaker,
  handleAll,
  retry as cRetry,
  timeout as cTimeout,
  wrap,
} from 'cockatiel';
import { createHttpClient } from '@bulwark/http-client';
import { prometheusListener } from '@bulwark/telemetry';
import { Registry } from 'prom-client';
import { measureClients } from './client-load.mjs';
import { formatNumber, machine, report, runCases } from './harness.mjs';

// Kept in step with @bulwark/http-client's own Agent defaults (options.ts), so that the floor
// pools connections as the client does.
const DEFAULT_CONNECTIONS = 128;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const FLOOR_NAME = 'undici Agent.dispatch (bare floor)';
const DEFAULTS_NAME = 'bulwark createHttpClient (defaults)';

const CONCURRENCY = 64;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const THROUGHPUT_MS = Number(process.env.THROUGHPUT_MS ?? 1_000);
const THROUGHPUT_MAX_REQUESTS = 1_000_000;
const LATENCY_SLICES = Number(process.env.LATENCY_SLICES ?? 40);
const LATENCY_SLICE_REQUESTS = 250;
const LATENCY_SLICE_MS = 1_000;
const WARMUP_MS = 1_000;
const PATH = '/users/1';
const PEER_FILTER = process.env.PEERS?.split(',').filter((word) => word.length > 0);
const RUN_STUB = process.env.STUB !== '0';

const server = fork(fileURLToPath(new URL('./http-server.mjs', import.meta.url)), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise((resolve, reject) => {
  server.once('message', resolve);
  server.once('error', reject);
});
const origin = `http://127.0.0.1:${port}`;
const url = `${origin}${PATH}`;

async function optional(name) {
  try {
    return await import(name);
  } catch (error) {
    console.log(`(skipped ${name}: ${error.code ?? error.message})`);
    return undefined;
  }
}

const closers = [];
const peers = [];

// The floor: undici.request on its global dispatcher, body parsed.
peers.push({
  name: 'undici.request (raw)',
  fn: async () => {
    const { body } = await request(url);
    return body.json();
  },
});

// The floor Bulwark's client builds on: an Agent with the client's default options, and
// dispatch() with the smallest handler that reads the body and parses it. undici.request pays
// for a body stream per call on top of this.
const floorAgent = new Agent({
  connections: DEFAULT_CONNECTIONS,
  keepAliveTimeout: DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  connect: { timeout: DEFAULT_CONNECT_TIMEOUT_MS },
});
closers.push(() => floorAgent.close());
const floorRequest = { origin, path: PATH, method: 'GET', headers: { accept: 'application/json' } };
class BareHandler {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    this.chunks = [];
    this.status = 0;
  }
  onRequestStart() {}
  onResponseStart(_controller, statusCode) {
    this.status = statusCode;
  }
  onResponseData(_controller, chunk) {
    this.chunks.push(chunk);
  }
  onResponseEnd() {
    const text = Buffer.concat(this.chunks).toString('utf8');
    if (this.status !== 200) this.reject(new Error(`status ${this.status}`));
    else this.resolve(JSON.parse(text));
  }
  onResponseError(_controller, error) {
    this.reject(error);
  }
}
peers.push({
  name: FLOOR_NAME,
  fn: () =>
    new Promise((resolve, reject) =>
      floorAgent.dispatch(floorRequest, new BareHandler(resolve, reject)),
    ),
});

// undici's own retry: RetryAgent (the retry interceptor's handler) on an Agent.
const retryAgent = new RetryAgent(new Agent(), { maxRetries: 2 });
closers.push(() => retryAgent.close());
peers.push({
  name: 'undici RetryAgent',
  fn: async () => {
    const { body } = await request(url, { dispatcher: retryAgent });
    return body.json();
  },
});

// Bulwark with its defaults: bulkhead, deadline, retry with a per-origin budget, per-origin
// breaker, attempt timeout, attempt, budget and correlation headers.
const bulwarkDefaults = createHttpClient({ baseUrl: origin });
closers.push(() => bulwarkDefaults.close());
peers.push({ name: DEFAULTS_NAME, fn: () => bulwarkDefaults.get(PATH) });

// Bulwark with its full pipeline: bulkhead, deadline, retry with a per-origin budget, per-origin
// breaker, attempt timeout, attempt and budget headers.
const bulwarkFullOptions = {
  timeoutMs: 10_000,
  deadlineMs: 30_000,
  retry: { maxAttempts: 3 },
  breaker: {},
  bulkhead: { limit: 1024, queue: 0 },
};
const bulwark = createHttpClient({ ...bulwarkFullOptions, baseUrl: origin });
closers.push(() => bulwark.close());
peers.push({ name: 'bulwark createHttpClient (full pipeline)', fn: () => bulwark.get(PATH) });

// The same with a Prometheus listener: what turning metrics on costs per call (a call event, a
// whole attempt event carrying the request, the series updates).
const bulwarkMeasured = createHttpClient({
  ...bulwarkFullOptions,
  baseUrl: origin,
  listener: prometheusListener({ registry: new Registry() }),
});
closers.push(() => bulwarkMeasured.close());
peers.push({
  name: 'bulwark createHttpClient (full pipeline, Prometheus listener)',
  fn: () => bulwarkMeasured.get(PATH),
});

const bulwarkBareOptions = {
  timeoutMs: false,
  deadlineMs: false,
  retry: false,
  breaker: false,
  bulkhead: false,
  attemptHeader: false,
};
const bulwarkBare = createHttpClient({ ...bulwarkBareOptions, baseUrl: origin });
closers.push(() => bulwarkBare.close());
peers.push({
  name: 'bulwark createHttpClient (every policy off)',
  fn: () => bulwarkBare.get(PATH),
});

// cockatiel's four policies around undici.request, the signal passed down.
const cockatiel = wrap(
  cTimeout(10_000, TimeoutStrategy.Aggressive),
  cRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
  cCircuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
  cBulkhead(1024),
);
peers.push({
  name: 'cockatiel wrap(timeout, retry, breaker, bulkhead) + undici.request',
  fn: () =>
    cockatiel.execute(async ({ signal }) => {
      const { body } = await request(url, { signal });
      return body.json();
    }),
});

const got = (await optional('got'))?.default;
if (got !== undefined) peers.push({ name: 'got', group: 'classic', fn: () => got(url).json() });
const axios = (await optional('axios'))?.default;
if (axios !== undefined) {
  peers.push({ name: 'axios', group: 'classic', fn: async () => (await axios.get(url)).data });
}
const ky = (await optional('ky'))?.default;
if (ky !== undefined) peers.push({ name: 'ky', group: 'classic', fn: () => ky.get(url).json() });

if (PEER_FILTER !== undefined) {
  const kept = peers.filter(
    (peer) =>
      peer.name === peers[0].name ||
      peer.name === FLOOR_NAME ||
      PEER_FILTER.some((word) => peer.name.includes(word)),
  );
  peers.splice(0, peers.length, ...kept);
}

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
const floor = rows.find((r) => r.name === FLOOR_NAME);
for (const row of rows) {
  row.rpsRatio = row.rps / raw.rps;
  row.rps1Ratio = row.rps1 / raw.rps1;
  row.p50Ratio = row.p50 / raw.p50;
  row.p99Ratio = row.p99 / raw.p99;
  row.floorRpsRatio = row.rps / floor.rps;
  row.floorCpuRatio = row.cpuUs / floor.cpuUs;
  row.floorP50Ratio = row.p50 / floor.p50;
}

const fmt = formatNumber;
const pct = (r) => `${fmt(r * 100)}%`;
report(
  `HTTP clients, loopback keep-alive, small JSON body (req/s at c=${CONCURRENCY} and c=1, latency at c=1)`,
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
  'http-client.json',
);
report(
  `Against the bare-dispatch floor (${FLOOR_NAME})`,
  rows,
  [
    { label: 'client', value: (r) => r.name },
    { label: `req/s c=${CONCURRENCY} vs floor`, value: (r) => `${fmt(r.floorRpsRatio, 2)}×` },
    { label: 'CPU µs/req vs floor', value: (r) => `${fmt(r.floorCpuRatio, 2)}×` },
    { label: 'p50 c=1 vs floor', value: (r) => `${fmt(r.floorP50Ratio, 2)}×` },
  ],
  'http-client-floor.json',
);

// The goals of the issues, checked against this run.
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const defaultsRow = rows.find((r) => r.name === DEFAULTS_NAME);
if (defaultsRow !== undefined) {
  console.log(
    `bulwark (defaults) keeps ${fmt(defaultsRow.floorRpsRatio, 2)}× of the bare-dispatch floor's req/s at c=${CONCURRENCY} (goal >= 0.90×: ${verdict(defaultsRow.floorRpsRatio >= 0.9)})`,
  );
  console.log(
    `bulwark (defaults) p50 at c=1 is ${fmt(defaultsRow.floorP50Ratio, 2)}× the bare-dispatch floor's (goal <= 1.10×: ${verdict(defaultsRow.floorP50Ratio <= 1.1)})`,
  );
}
const bulwarkRow = rows.find((r) => r.name.startsWith('bulwark createHttpClient (full'));
const classic = rows.filter((r) => r.group === 'classic');
if (bulwarkRow === undefined) {
  console.log('(the full-pipeline row was filtered out: its goals were not checked)');
} else {
  console.log(
    `bulwark (full pipeline) keeps ${pct(bulwarkRow.rpsRatio)} of raw undici's req/s at c=${CONCURRENCY} (goal >= 90%: ${verdict(bulwarkRow.rpsRatio >= 0.9)})`,
  );
  console.log(
    `bulwark (full pipeline) keeps ${pct(bulwarkRow.rps1Ratio)} of raw undici's req/s at c=1 (goal >= 90%: ${verdict(bulwarkRow.rps1Ratio >= 0.9)})`,
  );
  console.log(
    `bulwark (full pipeline) p99 at c=1 is ${fmt(bulwarkRow.p99Ratio, 2)}× raw undici's (goal < 1.10×: ${verdict(bulwarkRow.p99Ratio < 1.1)})`,
  );
  if (classic.length > 0) {
    const best = Math.max(...classic.map((r) => r.rps));
    console.log(
      `bulwark (full pipeline) does ${fmt(bulwarkRow.rps / best, 1)}× the req/s of the fastest of ${classic.map((r) => r.name).join(', ')} (goal >= 4×: ${verdict(bulwarkRow.rps / best >= 4)})`,
    );
  } else {
    console.log('got, axios and ky were all skipped: the 4× goal was not measured');
  }
}
// The client's own cost per call, without the network: a stub dispatcher answers each dispatch on
// the next microtask, in whichever handler API the client speaks. Steadier than the loopback
// figures on a busy machine, as no second process and no socket is involved.
async function stubTable() {
  const STUB_BODY = Buffer.from(JSON.stringify({ id: 1, name: 'bulwark', ok: true }));
  const STUB_RAW_HEADERS = [
    Buffer.from('content-type'),
    Buffer.from('application/json'),
    Buffer.from('content-length'),
    Buffer.from(String(STUB_BODY.length)),
  ];
  const STUB_HEADERS = {
    'content-type': 'application/json',
    'content-length': String(STUB_BODY.length),
  };
  const stubController = {
    abort() {},
    pause() {},
    resume() {},
    aborted: false,
    paused: false,
    reason: null,
  };
  class StubDispatcher extends Dispatcher {
    dispatch(opts, handler) {
      queueMicrotask(() => {
        if (typeof handler.onRequestStart === 'function') {
          handler.onRequestStart(stubController, {});
          handler.onResponseStart(stubController, 200, STUB_HEADERS, 'OK');
          handler.onResponseData(stubController, STUB_BODY);
          handler.onResponseEnd(stubController, {});
        } else {
          handler.onConnect(() => {});
          handler.onHeaders(200, STUB_RAW_HEADERS, () => {}, 'OK');
          handler.onData(STUB_BODY);
          handler.onComplete([]);
        }
      });
      return true;
    }
    async close() {}
    async destroy() {}
  }
  const stub = new StubDispatcher();
  const stubRetry = new RetryAgent(stub, { maxRetries: 2 });
  const stubBulwark = createHttpClient({
    ...bulwarkFullOptions,
    baseUrl: origin,
    dispatcher: stub,
  });
  const stubBulwarkDefaults = createHttpClient({ baseUrl: origin, dispatcher: stub });
  const stubBulwarkBare = createHttpClient({
    ...bulwarkBareOptions,
    baseUrl: origin,
    dispatcher: stub,
  });
  const stubRows = await runCases(
    [
      {
        name: 'undici.request (raw)',
        fn: async () => (await request(url, { dispatcher: stub })).body.json(),
      },
      {
        name: 'undici RetryAgent',
        fn: async () => (await request(url, { dispatcher: stubRetry })).body.json(),
      },
      { name: DEFAULTS_NAME, fn: () => stubBulwarkDefaults.get(PATH) },
      { name: 'bulwark createHttpClient (full pipeline)', fn: () => stubBulwark.get(PATH) },
      { name: 'bulwark createHttpClient (every policy off)', fn: () => stubBulwarkBare.get(PATH) },
      {
        name: 'cockatiel wrap(timeout, retry, breaker, bulkhead) + undici.request',
        fn: () =>
          cockatiel.execute(async ({ signal }) =>
            (await request(url, { signal, dispatcher: stub })).body.json(),
          ),
      },
    ],
    { rounds: 7, perRound: 20_000, warmup: 20_000, allocCalls: 10_000 },
  );
  const stubRaw = stubRows[0];
  report(
    'Client-side cost per call: stub dispatcher, no network (ns and heap bytes per call)',
    stubRows,
    [
      { label: 'client', value: (r) => r.name },
      { label: 'ns/call', value: (r) => fmt(r.nsPerOp) },
      { label: 'vs raw', value: (r) => `${fmt(r.nsPerOp / stubRaw.nsPerOp, 2)}×` },
      { label: 'bytes/call', value: (r) => fmt(r.bytesPerOp) },
    ],
    'http-client-stub.json',
  );
}
if (RUN_STUB) await stubTable();

console.log(JSON.stringify(machine()));

for (const close of closers) await close();
server.disconnect();
