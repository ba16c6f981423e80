// Hedging: what a hedger costs when it does nothing, and how much of a long tail it cuts.
//
// 1. Cost, in process: `async () => 1` through a hedger whose first attempt answers before the
//    delay (fixed, and adaptive), against a timeout() alone and the bare call: ns and heap bytes
//    per call (harness.mjs).
// 2. Tail cut, over loopback: a server in a separate process (hedging-server.mjs) where 5% of
//    requests, drawn at random, take 50× the median (100 ms against 2 ms). The same calls go
//    through no policy (the floor), a hedger at the adaptive p95 delay, and a retry after a fixed
//    per-attempt timeout, each with a retry budget of its own; CONCURRENCY callers at a time. The
//    cases take turns in rounds, so a noisy neighbour slows each alike. Reported per case: p50,
//    p99 and p99.9 of the calls' latency, and the extra-request ratio (requests the server
//    received / calls made, minus one). The goal: hedging's p99 at least 5× lower than no
//    hedging's, with at most 10% extra requests.
//
// The adaptive delay learns from the answers of the last few half-lives (10 s by default), so the
// hedger's case warms up for LEARN_MS (two half-lives) before the rounds: its first delay comes
// from the first 20 answers, taken while no call is hedged yet, and with exactly 5% slow requests
// the 95th percentile sits on the edge between the fast and the slow answers, so a cold start can
// hold a delay at the slow answers' latency for a while (the warm-up prints the delay as it goes).
//
// Knobs (environment): ROUNDS, CALLS (per case and round), CONCURRENCY, WARMUP_CALLS, LEARN_MS,
// FIXED_TIMEOUT_MS, COST_ROUNDS, COST_PER_ROUND; the server reads MEDIAN_MS, SLOW_MS, SLOW_RATIO
// and SEED. Every loop is bounded by these counts.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { pipeline } from '@bulwark/core';
import { adaptiveDelay, hedging } from '@bulwark/hedging';
import { constantBackoff, retry, retryBudget } from '@bulwark/retry';
import { timeout } from '@bulwark/timeout';
import { formatNumber, machine, report, runCases } from './harness.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CALLS = Number(process.env.CALLS ?? 4_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const WARMUP_CALLS = Number(process.env.WARMUP_CALLS ?? 1_000);
const LEARN_MS = Number(process.env.LEARN_MS ?? 20_000);
const FIXED_TIMEOUT_MS = Number(process.env.FIXED_TIMEOUT_MS ?? 10);
const COST_ROUNDS = Number(process.env.COST_ROUNDS ?? 7);
const COST_PER_ROUND = Number(process.env.COST_PER_ROUND ?? 100_000);
/** Long enough for requests still on their way to reach the server before it is asked to count. */
const COUNT_SETTLE_MS = 50;

const fmt = formatNumber;
const verdict = (ok) => (ok ? 'met' : 'NOT met');

// --- 1. Cost on the path where the hedger does nothing --------------------------------------

const work = async () => 1;
const aloneTimeout = timeout(60_000);
const fixedHedger = hedging({ idempotent: true, delay: 60_000 });
// minSamples out of reach keeps the delay at its fallback, while every latency is still recorded.
const learningHedger = hedging({
  idempotent: true,
  delay: adaptiveDelay({ fallbackDelayMs: 60_000, minSamples: 1_000_000 }),
});
const costRows = await runCases(
  [
    { name: 'bare call', fn: work },
    { name: 'timeout(60 s) alone', fn: () => aloneTimeout.execute(work) },
    { name: 'hedging, fixed delay, first attempt wins', fn: () => fixedHedger.execute(work) },
    {
      name: 'hedging, adaptive delay, first attempt wins',
      fn: () => learningHedger.execute(work),
    },
  ],
  {
    rounds: COST_ROUNDS,
    perRound: COST_PER_ROUND,
    warmup: Math.ceil(COST_PER_ROUND / 2),
    allocCalls: Math.min(20_000, COST_PER_ROUND),
  },
);
const [bare, lone] = costRows;
report(
  'Cost of a hedger whose first attempt answers before the delay (ns and heap bytes per call)',
  costRows,
  [
    { label: 'case', value: (r) => r.name },
    { label: 'ns/call', value: (r) => fmt(r.nsPerOp) },
    { label: 'bytes/call', value: (r) => fmt(r.bytesPerOp) },
    { label: 'bytes over the bare call', value: (r) => fmt(r.bytesPerOp - bare.bytesPerOp) },
    {
      label: 'vs timeout alone (bytes over bare)',
      value: (r) =>
        `${fmt((r.bytesPerOp - bare.bytesPerOp) / (lone.bytesPerOp - bare.bytesPerOp), 2)}×`,
    },
  ],
  'hedging-cost.json',
);

// --- 2. Tail cut over loopback --------------------------------------------------------------

const server = fork(fileURLToPath(new URL('./hedging-server.mjs', import.meta.url)), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port } = await new Promise((resolve, reject) => {
  server.once('message', resolve);
  server.once('error', reject);
});
const url = `http://127.0.0.1:${port}/items/1`;

/** How many requests the server has received so far. */
async function received() {
  await sleep(COUNT_SETTLE_MS);
  return new Promise((resolve) => {
    server.once('message', (message) => resolve(message.received));
    server.send({ type: 'count' });
  });
}

// Enough sockets that a hedge never waits for one: an aborted request closes its connection.
const agent = new Agent({ connections: CONCURRENCY * 4, keepAliveTimeout: 60_000 });
const get = (signal) => request(url, { dispatcher: agent, signal }).then(({ body }) => body.json());

const delay = adaptiveDelay();
const hedger = hedging({ idempotent: true, delay, budget: retryBudget() });
const retrier = pipeline(
  retry({ maxAttempts: 3, backoff: constantBackoff(0), budget: retryBudget() }),
  timeout(FIXED_TIMEOUT_MS),
);
const cases = [
  { name: 'no hedging', fn: () => get(undefined) },
  { name: 'hedging, adaptive p95 delay', fn: () => hedger.execute(({ signal }) => get(signal)) },
  {
    name: `retry after a fixed ${FIXED_TIMEOUT_MS} ms timeout`,
    fn: () => retrier.execute(({ signal }) => get(signal)),
  },
];

/**
 * `calls` calls, CONCURRENCY at a time, stopping early at `until` (a performance.now() reading);
 * each call's latency (ms) goes into `into`, if given.
 */
async function drive(fn, calls, into, until = Infinity) {
  let started = 0;
  let failures = 0;
  async function caller() {
    while (started < calls && performance.now() < until) {
      started++;
      const start = performance.now();
      try {
        await fn();
      } catch {
        failures++;
      }
      into?.push(performance.now() - start);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  return failures;
}

for (const c of cases) {
  const value = await c.fn();
  if (value?.id !== 1) throw new Error(`${c.name} returned ${JSON.stringify(value)}`);
  await drive(c.fn, WARMUP_CALLS);
}
const learnUntil = performance.now() + LEARN_MS;
while (performance.now() < learnUntil) {
  await drive(
    cases[1].fn,
    Number.MAX_SAFE_INTEGER,
    undefined,
    Math.min(learnUntil, performance.now() + 5_000),
  );
  console.log(`learning: the hedger's delay is ${fmt(delay.currentMs, 1)} ms`);
}
console.log(`warmed up; the hedger's delay is now ${fmt(delay.currentMs, 1)} ms`);

const samples = new Map(cases.map((c) => [c.name, { latencies: [], requests: 0, failures: 0 }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const s = samples.get(c.name);
    const before = await received();
    s.failures += await drive(c.fn, CALLS, s.latencies);
    s.requests += (await received()) - before;
  }
  console.log(`round ${round + 1}/${ROUNDS} done (hedge delay ${fmt(delay.currentMs, 1)} ms)`);
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const rows = cases.map((c) => {
  const s = samples.get(c.name);
  const sorted = s.latencies.sort((a, b) => a - b);
  const calls = sorted.length;
  return {
    name: c.name,
    calls,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    extra: s.requests / calls - 1,
    failures: s.failures,
  };
});
const [floor, hedged, retried] = rows;
for (const row of rows) row.p99Ratio = floor.p99 / row.p99;
report(
  `Tail cut: ${CONCURRENCY} callers, ${process.env.SLOW_RATIO ?? 0.05} of requests slow (${process.env.SLOW_MS ?? 100} ms against ${process.env.MEDIAN_MS ?? 2} ms), latency in ms`,
  rows,
  [
    { label: 'case', value: (r) => r.name },
    { label: 'calls', value: (r) => fmt(r.calls) },
    { label: 'p50', value: (r) => fmt(r.p50, 2) },
    { label: 'p99', value: (r) => fmt(r.p99, 2) },
    { label: 'p99.9', value: (r) => fmt(r.p999, 2) },
    { label: 'p99 vs no hedging', value: (r) => `${fmt(r.p99Ratio, 1)}× lower` },
    { label: 'extra requests', value: (r) => `${fmt(r.extra * 100, 1)}%` },
    { label: 'failed calls', value: (r) => fmt(r.failures) },
  ],
  'hedging.json',
);
console.log(
  `hedging's p99 is ${fmt(hedged.p99Ratio, 1)}× lower than no hedging's (goal >= 5×: ${verdict(hedged.p99Ratio >= 5)})`,
);
console.log(
  `hedging sent ${fmt(hedged.extra * 100, 1)}% extra requests (goal <= 10%: ${verdict(hedged.extra <= 0.1)})`,
);
console.log(
  `for comparison, the fixed-timeout retry: p99 ${fmt(retried.p99Ratio, 1)}× lower, ${fmt(retried.extra * 100, 1)}% extra requests`,
);
console.log(`the hedger's delay at the end: ${fmt(delay.currentMs, 2)} ms (adaptive p95)`);
console.log(JSON.stringify(machine()));

await agent.close();
server.disconnect();
