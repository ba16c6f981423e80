// The four core policies composed around `async () => 1`: Bulwark's pipeline against cockatiel's
// wrap() of its own equivalents and against the bare call, in one process, as ns/op, heap bytes
// allocated per call, and ratios; and @bulwark/resilience's standardPipeline() with its default
// stages (deadline, retry on a budget, time-window breaker, attempt timeout) next to them. Then
// each policy alone against cockatiel's. The five-policy pipeline runs twice: with a function that
// ignores its context, and with one that reads `ctx.signal` and passes it on as every real call does,
// next to its floor: the bare function handed one `new AbortController().signal`.
// `--only=REGEX` runs the rows whose names match (the floors of the ratios printed always run).
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
import { pipeline } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { standardPipeline } from '@bulwark/resilience';
import { retry } from '@bulwark/retry';
import { deadline, timeout } from '@bulwark/timeout';
import { machine, pairedRatio, progress, report, runCases } from './harness.mjs';

const work = async () => 1;
// Passes its signal on the way a client does (undici, fetch, a driver keep it): stored where the
// optimizer cannot prove it unused, so neither row gets its signal optimized away.
const passedOn = { signal: undefined };
const workReadingSignal = async (ctx) => {
  passedOn.signal = ctx.signal;
  return 1;
};
const listener = () => {};

function bulwarkPolicies(withListener) {
  const l = withListener ? { listener } : {};
  return {
    bulkhead: bulkhead({ limit: 100, ...l }),
    deadline: deadline(10_000, l),
    retry: retry({ maxAttempts: 3, ...l }),
    breaker: circuitBreaker({ strategy: consecutive({ threshold: 5 }), ...l }),
    timeout: timeout(1_000, { strategy: 'cooperative', ...l }),
  };
}

function cockatielPolicies() {
  return {
    timeout: cTimeout(1_000, TimeoutStrategy.Cooperative),
    retry: cRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    breaker: cCircuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new ConsecutiveBreaker(5),
    }),
    bulkhead: cBulkhead(100),
  };
}

const b = bulwarkPolicies(false);
const bl = bulwarkPolicies(true);
const c = cockatielPolicies();
const cl = cockatielPolicies();
for (const p of Object.values(cl)) {
  p.onSuccess(listener);
  p.onFailure(listener);
}

const bulwark4 = pipeline(b.bulkhead, b.retry, b.breaker, b.timeout);
const bulwark4Deadline = pipeline(b.bulkhead, b.deadline, b.retry, b.breaker, b.timeout);
const bulwark4DeadlineListener = pipeline(
  { listener },
  bl.bulkhead,
  bl.deadline,
  bl.retry,
  bl.breaker,
  bl.timeout,
);
const standard = standardPipeline();
const cockatiel4 = wrap(c.timeout, c.retry, c.breaker, c.bulkhead);
const cockatiel4Listener = wrap(cl.timeout, cl.retry, cl.breaker, cl.bulkhead);

const FIVE = 'bulwark pipeline(bulkhead, deadline, retry, breaker, timeout)';
const FLOOR_WITH_SIGNAL = 'bare fn + new AbortController().signal';
const FIVE_WITH_SIGNAL = 'bulwark pipeline(bulkhead, deadline, ...), fn reads ctx.signal';

const composed = [
  { group: 'composed', name: 'bare call', fn: () => work() },
  {
    group: 'composed',
    name: 'cockatiel wrap(timeout, retry, breaker, bulkhead)',
    fn: () => cockatiel4.execute(work),
  },
  {
    group: 'composed',
    name: 'cockatiel wrap(...) with event listeners',
    fn: () => cockatiel4Listener.execute(work),
  },
  {
    group: 'composed',
    name: 'bulwark pipeline(bulkhead, retry, breaker, timeout)',
    fn: () => bulwark4.execute(work),
  },
  {
    group: 'composed',
    name: FIVE,
    fn: () => bulwark4Deadline.execute(work),
  },
  {
    group: 'composed',
    name: FLOOR_WITH_SIGNAL,
    fn: () => workReadingSignal({ signal: new AbortController().signal }),
  },
  {
    group: 'composed',
    name: FIVE_WITH_SIGNAL,
    fn: () => bulwark4Deadline.execute(workReadingSignal),
  },
  {
    group: 'composed',
    name: 'bulwark pipeline(... deadline ...) with telemetry listener',
    fn: () => bulwark4DeadlineListener.execute(work),
  },
  {
    group: 'composed',
    name: 'bulwark standardPipeline() (its defaults)',
    fn: () => standard.execute(work),
  },
];

const single = [
  { group: 'single', name: 'bare call', fn: () => work() },
  { group: 'single', name: 'cockatiel retry', fn: () => c.retry.execute(work) },
  { group: 'single', name: 'bulwark retry', fn: () => b.retry.execute(work) },
  { group: 'single', name: 'cockatiel circuitBreaker', fn: () => c.breaker.execute(work) },
  { group: 'single', name: 'bulwark circuitBreaker', fn: () => b.breaker.execute(work) },
  { group: 'single', name: 'cockatiel bulkhead', fn: () => c.bulkhead.execute(work) },
  { group: 'single', name: 'bulwark bulkhead', fn: () => b.bulkhead.execute(work) },
  { group: 'single', name: 'cockatiel timeout (cooperative)', fn: () => c.timeout.execute(work) },
  { group: 'single', name: 'bulwark timeout (cooperative)', fn: () => b.timeout.execute(work) },
  { group: 'single', name: 'bulwark deadline', fn: () => b.deadline.execute(work) },
];

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((arg) => arg.startsWith('--only='));
const only = onlyArg === undefined ? undefined : new RegExp(onlyArg.slice('--only='.length));
// The rows every ratio below is taken against run whatever the filter.
const floors = new Set(['bare call', FLOOR_WITH_SIGNAL]);
const selected = (cases) =>
  only === undefined ? cases : cases.filter((c) => floors.has(c.name) || only.test(c.name));
const settings = quick ? { rounds: 2, perRound: 10_000, warmup: 10_000, allocCalls: 5_000 } : {};
console.log(`Machine: ${JSON.stringify(machine())}`);

const columns = (rows, baseName) => {
  const base = rows.find((r) => r.name === baseName);
  return [
    { label: 'case', value: (r) => r.name },
    { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
    {
      label: 'bytes/op',
      value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
    },
    { label: `× ${baseName}`, value: (r) => (r.nsPerOp / base.nsPerOp).toFixed(2) },
  ];
};

const findRow = (rows, name) => rows.find((r) => r.name === name);

progress(`composed: ${selected(composed).length} cases`);
const composedRows = await runCases(selected(composed), settings);
const cockatielWrap = 'cockatiel wrap(timeout, retry, breaker, bulkhead)';
report(
  'Four policies composed',
  composedRows,
  // A filtered run may leave cockatiel out: its column is then against the bare call.
  columns(composedRows, findRow(composedRows, cockatielWrap) ? cockatielWrap : 'bare call'),
  'policies-composed.json',
);
// The standard pipeline's goals: at most 1.2× the five-policy pipeline's time, at most 1 KB a call.
const fivePolicy = findRow(composedRows, FIVE);
const standardRow = findRow(composedRows, 'bulwark standardPipeline() (its defaults)');
if (fivePolicy !== undefined && standardRow !== undefined) {
  console.log(
    `standardPipeline(): ${pairedRatio(standardRow, fivePolicy).toFixed(2)}× the five-policy pipeline's ns/op (goal ≤ 1.20), ${standardRow.bytesPerOp.toFixed(0)} bytes/op (goal ≤ 1024)`,
  );
}
// Issue 24's goal: with the function reading ctx.signal, at most 1.2× the floor in both.
const floorRow = findRow(composedRows, FLOOR_WITH_SIGNAL);
const withSignal = findRow(composedRows, FIVE_WITH_SIGNAL);
if (withSignal !== undefined) {
  console.log(
    `five policies, fn reads ctx.signal: ${pairedRatio(withSignal, floorRow).toFixed(2)}× the floor's ns/op, ${(withSignal.bytesPerOp / floorRow.bytesPerOp).toFixed(2)}× its bytes/op (goal ≤ 1.20 each; floor: ${floorRow.nsPerOp.toFixed(0)} ns, ${floorRow.bytesPerOp.toFixed(0)} B)`,
  );
}

const singleCases = selected(single);
if (singleCases.length > 1) {
  progress(`single: ${singleCases.length} cases`);
  const singleRows = await runCases(singleCases, settings);
  report('Each policy alone', singleRows, columns(singleRows, 'bare call'), 'policies-single.json');
  printCockatielRatios(singleRows);
}

// Ratio of each Bulwark policy to its cockatiel counterpart, the figure the goal is stated in.
function printCockatielRatios(singleRows) {
  const pairs = [
    ['retry', 'cockatiel retry', 'bulwark retry'],
    ['circuit breaker', 'cockatiel circuitBreaker', 'bulwark circuitBreaker'],
    ['bulkhead', 'cockatiel bulkhead', 'bulwark bulkhead'],
    ['timeout', 'cockatiel timeout (cooperative)', 'bulwark timeout (cooperative)'],
  ];
  const byName = new Map(singleRows.map((r) => [r.name, r]));
  console.log(
    '| policy | bulwark ns/op ÷ cockatiel ns/op | bulwark bytes/op ÷ cockatiel bytes/op |\n|---|---|---|',
  );
  for (const [label, cName, bName] of pairs) {
    const cr = byName.get(cName);
    const br = byName.get(bName);
    if (cr === undefined || br === undefined) continue;
    console.log(
      `| ${label} | ${(br.nsPerOp / cr.nsPerOp).toFixed(2)} | ${(br.bytesPerOp / cr.bytesPerOp).toFixed(2)} |`,
    );
  }
}
