// What telemetry costs on the hot path: the pipeline of the policies benchmark (bulkhead, deadline,
// retry, breaker, timeout around `async () => 1`) with no listener, with a no-op listener (the cost
// of the policies building their events), with the Prometheus listener, and with OpenTelemetry
// tracing (tracedOperation + openTelemetryListener) without an SDK and with an in-memory SDK, and
// with @bulwark/dashboard's listener (alone, and combined with the Prometheus listener).
// Ratios are to the bare pipeline measured in the same batch, round by round (the median of each
// round's ratio: see pairedRatio). The goals: the Prometheus listener adds under 25% to the
// pipeline's own cost; the pipeline with the dashboard listener costs within 1.1× of the pipeline
// with the Prometheus listener.
//
// OpenTelemetry's API is global: once an SDK is registered, "no SDK" cannot be measured in the
// same process. So the cases run in two batches, each with its own baseline, the SDK registered
// between them. The second baseline is higher: the SDK's AsyncLocalStorage context manager makes
// every promise dearer on Node 20 (async hooks), whether or not anything is traced.
import { pipeline, combineListeners } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { dashboardListener } from '@bulwark/dashboard';
import { retry } from '@bulwark/retry';
import { deadline, timeout } from '@bulwark/timeout';
import { openTelemetryListener, prometheusListener, tracedOperation } from '@bulwark/telemetry';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { machine, pairedRatio, report, runCases } from './harness.mjs';

const work = async () => 1;
const noop = () => {};

/** The policies benchmark's five policies, each given `listener`, with `outer` in front. */
function build(listener, ...outer) {
  const l = listener === undefined ? {} : { listener };
  return pipeline(
    { operation: 'get-item', ...l },
    ...outer,
    bulkhead({ limit: 100, ...l }),
    deadline(10_000, l),
    retry({ maxAttempts: 3, ...l }),
    circuitBreaker({ strategy: consecutive({ threshold: 5 }), ...l }),
    timeout(1_000, { strategy: 'cooperative', ...l }),
  );
}

const registry = new Registry();
const prometheus = prometheusListener({ registry });

const bare = build(undefined);
const withNoop = build(noop);
const withPrometheus = build(prometheus);
const otelListener = openTelemetryListener();
const withOtelNoSdk = build(otelListener, tracedOperation());
// The page is never mounted here: the listener's cost is its events, plus one tick a second.
const dashboard = dashboardListener();
const withDashboard = build(dashboard);
const withMetricsAndPage = build(combineListeners(prometheus, dashboard));

// The events one successful call through this pipeline reports, to time a listener on its own.
const callEvent = {
  type: 'call',
  policy: 'pipeline',
  name: undefined,
  operation: 'get-item',
  outcome: 'success',
  durationMs: 0.05,
  error: undefined,
};
const attemptEvent = {
  type: 'attempt',
  policy: 'retry',
  name: undefined,
  operation: 'get-item',
  attempt: 1,
  outcome: 'success',
  durationMs: 0.04,
  error: undefined,
};
const eventsTo = (listener) => () => {
  listener(attemptEvent);
  listener(callEvent);
};

const BASELINE = 'pipeline, no listener';
const NOOP_ALONE = 'no-op listener alone, one call’s events';
const PROMETHEUS_ALONE = 'Prometheus listener alone, one call’s events';
const WITH_PROMETHEUS = 'pipeline + Prometheus listener';
const WITH_DASHBOARD = 'pipeline + dashboard listener';
const firstBatch = [
  { name: BASELINE, fn: () => bare.execute(work) },
  { name: 'pipeline + no-op listener (events only)', fn: () => withNoop.execute(work) },
  { name: WITH_PROMETHEUS, fn: () => withPrometheus.execute(work) },
  { name: WITH_DASHBOARD, fn: () => withDashboard.execute(work) },
  {
    name: 'pipeline + Prometheus and dashboard listeners',
    fn: () => withMetricsAndPage.execute(work),
  },
  {
    name: 'pipeline + OTel tracing, no SDK',
    fn: () => withOtelNoSdk.execute(work),
  },
  { name: NOOP_ALONE, fn: eventsTo(noop) },
  { name: PROMETHEUS_ALONE, fn: eventsTo(prometheus) },
  { name: 'dashboard listener alone, one call’s events', fn: eventsTo(dashboard) },
  { name: 'OTel listener alone, no SDK, one call’s events', fn: eventsTo(otelListener) },
];

const quick = process.argv.includes('--quick');
const settings = quick ? { rounds: 2, perRound: 10_000, warmup: 10_000, allocCalls: 5_000 } : {};
// The differences measured here are tens of nanoseconds: more rounds make their medians hold.
const firstSettings = quick ? settings : { rounds: 15 };
console.log(`Machine: ${JSON.stringify(machine())}`);

const columns = (rows) => {
  const base = rows.find((r) => r.name === BASELINE);
  return [
    { label: 'case', value: (r) => r.name },
    { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
    {
      label: 'bytes/op',
      value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
    },
    { label: '× no listener', value: (r) => pairedRatio(r, base).toFixed(2) },
  ];
};

const firstRows = await runCases(firstBatch, firstSettings);
report(
  'Telemetry listeners, no OpenTelemetry SDK',
  firstRows,
  columns(firstRows),
  'telemetry.json',
);

// An in-memory SDK: the SDK's tracer provider with a processor that keeps finished spans in an
// array (emptied as it goes, so memory stays flat). Not SimpleSpanProcessor + InMemorySpanExporter:
// that exporter reports each export on a timer, which a benchmark loop of awaits never lets run,
// so every span would stay pending until the process runs out of memory.
class InMemorySpanProcessor {
  spans = [];
  onStart() {}
  onEnd(span) {
    if (this.spans.push(span) === 10_000) this.spans = [];
  }
  forceFlush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
}
const processor = new InMemorySpanProcessor();
const provider = new BasicTracerProvider({ spanProcessors: [processor] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);

const withOtelSdk = build(otelListener, tracedOperation());
const both = combineListeners(prometheus, otelListener);
const withBoth = build(both, tracedOperation());
const secondBatch = [
  { name: BASELINE, fn: () => bare.execute(work) },
  {
    name: 'pipeline + OTel tracing, in-memory SDK',
    fn: () => withOtelSdk.execute(work),
  },
  {
    name: 'pipeline + Prometheus and OTel, in-memory SDK',
    fn: () => withBoth.execute(work),
  },
];
const secondRows = await runCases(secondBatch, settings);
report(
  'Telemetry listeners, in-memory OpenTelemetry SDK',
  secondRows,
  columns(secondRows),
  'telemetry-sdk.json',
);

const byName = new Map(firstRows.map((r) => [r.name, r]));
const ns = (name) => byName.get(name).nsPerOp;
const base = byName.get(BASELINE);
const added = (name) => `${((pairedRatio(byName.get(name), base) - 1) * 100).toFixed(1)}%`;
const own = ns(PROMETHEUS_ALONE) - ns(NOOP_ALONE);
const percent = (extra) => `${((extra / base.nsPerOp) * 100).toFixed(1)}%`;
console.log(
  own > 0
    ? `Prometheus listener, its own work: ${own.toFixed(0)} ns per call = ${percent(own)} of the bare pipeline.`
    : `Prometheus listener, its own work: below the noise of this run.`,
);
console.log(
  `Pipeline with the Prometheus listener: +${added(WITH_PROMETHEUS)} (goal < 25%); ` +
    `with a no-op listener (the policies reading the clock and building events): +${added('pipeline + no-op listener (events only)')}. ` +
    `Each is the median over ${base.rounds.length} rounds of the round's ratio to the bare pipeline.`,
);
// Each pipeline's ratio to the bare one is paired round by round; their quotient compares the two.
const dashboardVsPrometheus =
  pairedRatio(byName.get(WITH_DASHBOARD), base) / pairedRatio(byName.get(WITH_PROMETHEUS), base);
console.log(
  `Pipeline with the dashboard listener: ${dashboardVsPrometheus.toFixed(2)}× the pipeline with the Prometheus listener (goal <= 1.10×).`,
);
// The scrape must show what was recorded: a listener that recorded nothing would be cheap too.
const calls = (await registry.getSingleMetricAsString('bulwark_calls_total')).split('\n').at(-1);
console.log(`scraped: ${calls}`);
// A loop of awaits never lets the dashboard's tick timer run: give it one, so its totals close.
await new Promise((resolve) => setTimeout(resolve, 1_100));
const shown = dashboard.snapshot().tables[0].rows.find((r) => r.cells.name.text === 'get-item');
console.log(`dashboard: get-item calls ${shown?.cells.calls.text ?? 'none'}`);
dashboard.close();
