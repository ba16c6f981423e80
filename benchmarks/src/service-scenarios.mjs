// The service client against three loopback replicas (service-replicas.mjs, a separate process)
// when one of them misbehaves, with undici's BalancedPool behind its RetryAgent as the baseline
// and plain fetch (round-robin, no retries) as the floor, in the same run:
//
//   (a) one replica dead (connections refused): goal, at least 99.9% of Bulwark's calls succeed;
//   (b) one replica with a slow tail (SLOW_RATIO of its requests take 50× the median): goal,
//       Bulwark's p99 at least 3× lower than BalancedPool's, with at most 10% extra requests;
//   (c) one replica failing half its requests for FLAKY_MS, then healthy: goal, at most 1% of
//       Bulwark's calls fail, and the replica is back in rotation within its ejection time.
//
// Each client is built fresh for each scenario and driven by CONCURRENCY callers for
// SCENARIO_MS (at most MAX_CALLS calls). Reported per client: calls, failed calls, p50 and p99 of
// the calls' latency, and extra requests (requests the replicas received / calls, minus one).
// Bulwark's client runs with its defaults but two: hedging on for the GET it makes (so a slow or
// failed attempt is hedged on another replica), and a base ejection time of EJECTION_MS, so that
// scenario (c) fits in a short run.
// Knobs (environment): CONCURRENCY, SCENARIO_MS, MAX_CALLS, FLAKY_MS, EJECTION_MS, SLOW_RATIO,
// WARMUP_MS, SCENARIOS (a comma list of a, b, c); the replicas read MEDIAN_MS and SEED.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { BalancedPool, RetryAgent, request } from 'undici';
import { createServiceClient } from '@bulwark/service-client';
import { formatNumber, machine, progress, report } from './harness.mjs';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const SCENARIO_MS = Number(process.env.SCENARIO_MS ?? 10_000);
const MAX_CALLS = Number(process.env.MAX_CALLS ?? 200_000);
const FLAKY_MS = Number(process.env.FLAKY_MS ?? 5_000);
const EJECTION_MS = Number(process.env.EJECTION_MS ?? 3_000);
const SLOW_RATIO = Number(process.env.SLOW_RATIO ?? 0.1);
const MEDIAN_MS = Number(process.env.MEDIAN_MS ?? 2);
const SLOW_MS = 50 * MEDIAN_MS;
const SCENARIOS = (process.env.SCENARIOS ?? 'a,b,c').split(',');
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1_000);
/** Long enough for requests still on their way to reach a replica before it is asked to count. */
const COUNT_SETTLE_MS = 50;
const PATH = '/items/1';

const replicas = fork(fileURLToPath(new URL('./service-replicas.mjs', import.meta.url)), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { ...process.env, MEDIAN_MS: String(MEDIAN_MS) },
});
const ports = await new Promise((resolve, reject) => {
  replicas.once('message', resolve);
  replicas.once('error', reject);
});
const live = ports.replicas.map((port) => `http://127.0.0.1:${port}`);
const dead = `http://127.0.0.1:${ports.dead}`;

/** Asks the replica process something, and waits for its answer of type `answer`. */
function ask(message, answer) {
  return new Promise((resolve) => {
    const on = (reply) => {
      if (reply?.type !== answer) return;
      replicas.off('message', on);
      resolve(reply);
    };
    replicas.on('message', on);
    replicas.send(message);
  });
}

async function counts() {
  await sleep(COUNT_SETTLE_MS);
  return ask({ type: 'count' }, 'count');
}

/** The three clients, built for the endpoints of one scenario. */
function clients(endpoints) {
  // When replica 0 was last taken out of rotation, and until when (wall clock): an ejection, or
  // its circuit breaker opening.
  const out = { ejections: 0, until: undefined };
  const first = endpoints[0];
  const service = createServiceClient({
    name: 'replicas',
    endpoints,
    hedge: true,
    outlierDetection: { baseEjectionMs: EJECTION_MS },
    listener: (event) => {
      if (event.type === 'endpoint-ejected' && event.endpoint === first) {
        out.ejections++;
        out.until = Math.max(out.until ?? 0, Date.now() + event.durationMs);
      } else if (event.type === 'breaker-state' && event.key === first && event.to === 'open') {
        // The registry's view is read after the event, once the breaker has its break.
        queueMicrotask(() => {
          const breakMs = service.breakers?.view(first)?.retryAfterMs ?? 0;
          out.until = Math.max(out.until ?? 0, Date.now() + breakMs);
        });
      }
    },
  });
  const getItem = service.operation({ name: 'getItem', path: PATH });
  const pool = new RetryAgent(new BalancedPool(endpoints), {
    maxRetries: 2,
    minTimeout: 10,
    maxTimeout: 100,
    timeoutFactor: 2,
    statusCodes: [500, 502, 503, 504],
  });
  let next = 0;
  return [
    {
      name: 'bulwark createServiceClient (P2C, ejection, hedging)',
      fn: () => getItem(),
      close: () => service.close(),
      out,
    },
    {
      name: 'undici BalancedPool + RetryAgent',
      fn: async () => {
        const { statusCode, body } = await request(`${endpoints[1]}${PATH}`, { dispatcher: pool });
        if (statusCode !== 200) {
          await body.dump();
          throw new Error(`status ${statusCode}`);
        }
        return body.json();
      },
      close: () => pool.close(),
    },
    {
      name: 'fetch (round-robin, no retries)',
      fn: async () => {
        const response = await fetch(`${endpoints[next++ % endpoints.length]}${PATH}`);
        if (!response.ok) {
          await response.arrayBuffer();
          throw new Error(`status ${response.status}`);
        }
        return response.json();
      },
      close: async () => undefined,
    },
  ];
}

/** CONCURRENCY callers for SCENARIO_MS (at most MAX_CALLS calls): latencies (ms) and failures. */
async function drive(fn) {
  const latencies = [];
  let started = 0;
  let failures = 0;
  const end = performance.now() + SCENARIO_MS;
  async function caller() {
    while (started < MAX_CALLS && performance.now() < end) {
      started++;
      const start = performance.now();
      try {
        await fn();
      } catch {
        failures++;
      }
      latencies.push(performance.now() - start);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  return { latencies, failures };
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const SCENARIO_SETUP = {
  a: {
    title: 'one replica dead (connections refused)',
    endpoints: [dead, live[1], live[2]],
    mode: { type: 'mode', mode: 'normal' },
  },
  b: {
    title: `one replica with a slow tail (${SLOW_RATIO * 100}% of its requests take ${SLOW_MS} ms against ${MEDIAN_MS} ms)`,
    endpoints: live,
    mode: { type: 'mode', mode: 'slow-tail', ratio: SLOW_RATIO, slowMs: SLOW_MS },
  },
  c: {
    title: `one replica failing 50% of its requests for ${FLAKY_MS} ms, then healthy`,
    endpoints: live,
    mode: { type: 'mode', mode: 'flaky', ratio: 0.5, forMs: FLAKY_MS },
  },
};

// Every client's code path compiled before anything is measured: a short run, all replicas well.
for (const c of clients(live)) {
  await ask({ type: 'mode', mode: 'normal' }, 'mode-set');
  const end = performance.now() + WARMUP_MS;
  while (performance.now() < end) await c.fn().catch(() => undefined);
  await c.close();
}

const fmt = (n, digits = 0) => (n === undefined ? '—' : formatNumber(n, digits));
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const results = {};

for (const id of SCENARIOS) {
  const scenario = SCENARIO_SETUP[id];
  if (scenario === undefined) throw new Error(`unknown scenario ${id}: expected a, b or c`);
  const rows = [];
  for (const c of clients(scenario.endpoints)) {
    await ask(scenario.mode, 'mode-set');
    const before = await counts();
    const { latencies, failures } = await drive(c.fn);
    const after = await counts();
    await c.close();
    const sorted = latencies.sort((x, y) => x - y);
    progress(`scenario ${id}, ${c.name}: ${sorted.length} calls, ${failures} failed`);
    const requests =
      after.counts.reduce((a, b) => a + b, 0) - before.counts.reduce((a, b) => a + b, 0);
    rows.push({
      name: c.name,
      calls: sorted.length,
      failures,
      success: 1 - failures / sorted.length,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      // A dead replica's refused connections reach no server: only live requests are counted.
      extra: requests / sorted.length - 1,
      backAfterMs: after.firstAfterRecoveryMs,
      // How long after the replica recovered its last time out of rotation ended (0: before).
      outAfterMs:
        c.out?.until === undefined || after.recoveredAt === undefined
          ? undefined
          : Math.max(0, c.out.until - after.recoveredAt),
      ejections: c.out?.ejections,
    });
  }
  results[id] = rows;
  report(
    `Scenario (${id}): ${scenario.title}; ${CONCURRENCY} callers, ${SCENARIO_MS} ms`,
    rows,
    [
      { label: 'client', value: (r) => r.name },
      { label: 'calls', value: (r) => fmt(r.calls) },
      { label: 'succeeded', value: (r) => `${fmt(r.success * 100, 2)}%` },
      { label: 'p50 (ms)', value: (r) => fmt(r.p50, 2) },
      { label: 'p99 (ms)', value: (r) => fmt(r.p99, 2) },
      { label: 'extra requests', value: (r) => `${fmt(r.extra * 100, 1)}%` },
      ...(id === 'c'
        ? [
            { label: 'replica back after (ms)', value: (r) => fmt(r.backAfterMs) },
            { label: 'out of rotation until (ms)', value: (r) => fmt(r.outAfterMs) },
            { label: 'ejections', value: (r) => fmt(r.ejections) },
          ]
        : []),
    ],
    `service-scenario-${id}.json`,
  );
}

const [bulwarkA] = results.a ?? [];
if (bulwarkA !== undefined) {
  console.log(
    `(a) Bulwark: ${fmt(bulwarkA.success * 100, 3)}% of calls succeeded with a replica dead (goal >= 99.9%: ${verdict(bulwarkA.success >= 0.999)})`,
  );
}
const [bulwarkB, poolB] = results.b ?? [];
if (bulwarkB !== undefined) {
  const ratio = poolB.p99 / bulwarkB.p99;
  console.log(
    `(b) Bulwark's p99 is ${fmt(ratio, 1)}× lower than BalancedPool's (goal >= 3×: ${verdict(ratio >= 3)}), with ${fmt(bulwarkB.extra * 100, 1)}% extra requests (goal <= 10%: ${verdict(bulwarkB.extra <= 0.1)})`,
  );
}
const [bulwarkC] = results.c ?? [];
if (bulwarkC !== undefined) {
  const failed = 1 - bulwarkC.success;
  // The first request after the replica is back in rotation takes a moment to come: a trial.
  const SLACK_MS = 250;
  const back =
    bulwarkC.backAfterMs !== undefined &&
    bulwarkC.backAfterMs <= (bulwarkC.outAfterMs ?? 0) + SLACK_MS;
  console.log(
    `(c) Bulwark: ${fmt(failed * 100, 3)}% of calls failed (goal <= 1%: ${verdict(failed <= 0.01)}); the replica took calls again ${fmt(bulwarkC.backAfterMs)} ms after it recovered, ${bulwarkC.outAfterMs === undefined ? 'it was never ejected nor its breaker open' : `its last ejection or break ending ${fmt(bulwarkC.outAfterMs)} ms after`} (goal: back within it: ${verdict(back)})`,
  );
}
console.log(JSON.stringify(machine()));
replicas.disconnect();
