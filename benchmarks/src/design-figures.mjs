// Small figures behind hot-path choices in the code, which its comments point to rather than
// quote (benchmarks/RESULTS.md, "Design figures"):
//
// 1. Upper-casing a request method: `toUpperCase()` on every call against skipping it for the
//    spellings callers send most (`GET`, `HEAD`, `POST`), as @bulwark/cache's `handle()` does.
// 2. Copying a header record and adding fields to the copy (what a cache hit's `headers` and the
//    client's per-attempt headers do): a spread copy against a key-by-key copy.
// 3. The heap the memory store's LRU index takes per `maxEntries` slot, which @bulwark/cache
//    reserves from `maxBytes` up front.
//
// Synchronous loops (an async loop's own cost would hide a few nanoseconds), ns and heap bytes
// per call, cases interleaved round by round. Knobs: ROUNDS, CALLS, SLOTS in the environment.
import v8 from 'node:v8';
import { memoryStore } from '@bulwark/cache';
import { machine, median, report } from './harness.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 2_000_000);
const SLOTS = Number(process.env.SLOTS ?? 100_000);

function skipCommon(method) {
  return method === 'GET' || method === 'HEAD' || method === 'POST' ? method : method.toUpperCase();
}

function alwaysUpper(method) {
  return method.toUpperCase();
}

// Response headers as a cache stores them: lowercase names, string values, one record per
// stored response (the same shape, distinct objects), built field by field.
const STORED = Array.from({ length: 16 }, (_, i) => {
  const headers = {};
  headers['content-type'] = 'application/json';
  headers['cache-control'] = 'max-age=60';
  headers.etag = `"v${i}"`;
  headers.date = 'Thu, 03 Dec 2026 07:32:00 GMT';
  headers['content-length'] = String(150 + i);
  headers.vary = 'accept-encoding';
  return headers;
});

function spreadThenAdd(base) {
  const headers = { ...base };
  headers.age = '12';
  headers['cache-status'] = 'bulwark; hit; ttl=48';
  return headers;
}

function copyThenAdd(base) {
  const headers = {};
  for (const name in base) headers[name] = base[name];
  headers.age = '12';
  headers['cache-status'] = 'bulwark; hit; ttl=48';
  return headers;
}

function assignThenAdd(base) {
  const headers = Object.assign({}, base);
  headers.age = '12';
  headers['cache-status'] = 'bulwark; hit; ttl=48';
  return headers;
}

const cases = [
  {
    group: 'method',
    name: 'method: skip common spellings, "GET"',
    fn: skipCommon,
    inputs: ['GET'],
  },
  { group: 'method', name: 'method: toUpperCase(), "GET"', fn: alwaysUpper, inputs: ['GET'] },
  {
    group: 'method',
    name: 'method: skip common spellings, GET/HEAD/POST',
    fn: skipCommon,
    inputs: ['GET', 'HEAD', 'POST'],
  },
  {
    group: 'method',
    name: 'method: toUpperCase(), GET/HEAD/POST',
    fn: alwaysUpper,
    inputs: ['GET', 'HEAD', 'POST'],
  },
  {
    group: 'method',
    name: 'method: skip common spellings, "get"',
    fn: skipCommon,
    inputs: ['get'],
  },
  {
    group: 'headers',
    name: 'headers: { ...base } then 2 fields',
    fn: spreadThenAdd,
    inputs: STORED,
  },
  {
    group: 'headers',
    name: 'headers: key by key then 2 fields',
    fn: copyThenAdd,
    inputs: STORED,
  },
  {
    group: 'headers',
    name: 'headers: Object.assign({}, base) then 2 fields',
    fn: assignThenAdd,
    inputs: STORED,
  },
];

let sink = 0;

function run(fn, inputs, calls) {
  const count = inputs.length;
  for (let i = 0; i < calls; i++) {
    const out = fn(inputs[i % count]);
    sink += typeof out === 'string' ? out.length : 1;
  }
}

function bytesPerCall(fn, inputs, calls) {
  for (let tries = 0; tries < 20; tries++) {
    globalThis.gc();
    run(fn, inputs, 50_000);
    const profiler = new v8.GCProfiler();
    profiler.start();
    const before = process.memoryUsage().heapUsed;
    run(fn, inputs, calls);
    const after = process.memoryUsage().heapUsed;
    if (profiler.stop().statistics.length === 0) return Math.max(0, (after - before) / calls);
    calls = Math.max(1_000, calls >> 1);
  }
  return Number.NaN;
}

/**
 * Heap per slot of the memory store's LRU index, sized for `slots` entries: a store holding one
 * small entry (with a TTL, so the TTL arrays exist too), less the store without the index.
 */
function indexBytesPerSlot(slots) {
  const entry = {
    kind: 'response',
    status: 200,
    headers: {},
    body: new Uint8Array(1),
    requestTime: 0,
    responseTime: 0,
    initialAgeMs: 0,
    freshnessMs: 60_000,
  };
  const heapOf = (maxEntries) => {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const store = memoryStore({ maxEntries, maxBytes: 2 ** 40 });
    store.set('k', entry, 60_000);
    globalThis.gc();
    const held = process.memoryUsage().heapUsed - before;
    sink += store.size;
    return held;
  };
  heapOf(1);
  return (heapOf(slots) - heapOf(1)) / (slots - 1);
}

for (const c of cases) run(c.fn, c.inputs, Math.min(CALLS, 500_000));
const samples = new Map(cases.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const start = process.hrtime.bigint();
    run(c.fn, c.inputs, CALLS);
    samples.get(c.name).push(Number(process.hrtime.bigint() - start) / CALLS);
  }
}
const rows = cases.map((c) => ({
  name: c.name,
  group: c.group,
  nsPerOp: median(samples.get(c.name)),
  bytesPerOp: bytesPerCall(c.fn, c.inputs, Math.min(CALLS, 200_000)),
}));
rows.push({
  name: `memory store's LRU index, per maxEntries slot (${SLOTS.toLocaleString('en')} slots)`,
  group: 'index',
  nsPerOp: Number.NaN,
  bytesPerOp: indexBytesPerSlot(SLOTS),
});
console.log(machine());
report(
  'Design figures',
  rows,
  [
    { label: 'case', value: (r) => r.name },
    { label: 'ns/op', value: (r) => (Number.isNaN(r.nsPerOp) ? 'n/a' : r.nsPerOp.toFixed(1)) },
    { label: 'bytes/op', value: (r) => r.bytesPerOp.toFixed(1) },
  ],
  'design-figures.json',
);
if (sink === -1) console.log(sink);
