// Micro-benchmarks behind the small hot-path choices the code names and benchmarks/RESULTS.md
// ("Design figures") records: each trick next to its plain form, in one process, as ns/op and
// heap bytes per call. A trick whose plain form costs no more than it here should give way to
// the plain form. `--quick` only checks that the script runs.
import { breakerRegistry } from '@bulwark/circuit-breaker';
import { machine, report, runCases } from './harness.mjs';

const work = async () => 1;
const sync = () => 1;
const ignore = () => {};
const onValue = (value) => value;
const onError = (error) => {
  throw error;
};

// 1. An async function's frame against a `.then` (retry's first attempt, the breaker's closed
//    state and the fixed bulkhead run on `.then`).
async function viaAsync() {
  return await work();
}
function viaThenBound() {
  return work().then(onValue, onError);
}
function viaThenClosures() {
  const started = 0;
  return work().then(
    (value) => value + started,
    (error) => {
      throw error;
    },
  );
}

// 2. The caller's promise of a call whose time limit may release the caller early: the frame
//    keeps the promise's resolve/reject (core's fused.ts, `keepSettlers`). Here, in a small
//    function V8 optimizes whole, both forms measure alike; in the pipeline the closure cost
//    bytes on every call (RESULTS.md, "Design figures"): read these rows with that one.
class Holder {
  resolve = undefined;
  reject = undefined;
}
let holderAwaitingSettlers;
function keepSettlers(resolve, reject) {
  holderAwaitingSettlers.resolve = resolve;
  holderAwaitingSettlers.reject = reject;
}
function settlersModuleExecutor() {
  const holder = new Holder();
  holderAwaitingSettlers = holder;
  const promise = new Promise(keepSettlers);
  holderAwaitingSettlers = undefined;
  holder.resolve(1);
  return promise;
}
function settlersClosure() {
  const holder = new Holder();
  const promise = new Promise((resolve, reject) => {
    holder.resolve = resolve;
    holder.reject = reject;
  });
  holder.resolve(1);
  return promise;
}

// 3. "No limit" in the frame's limit-index fields: a small integer against Infinity, in the
//    object a call makes once a limit expires (core's fused.ts, `NO_LIMIT`, `AbortState`).
const NO_LIMIT = 0x3fffffff;
class AbortStateSmi {
  expiredMin = NO_LIMIT;
  releasedAt = NO_LIMIT;
  expired = undefined;
  limitScopes = undefined;
  unsubscribe = undefined;
}
class AbortStateInfinity {
  expiredMin = Infinity;
  releasedAt = Infinity;
  expired = undefined;
  limitScopes = undefined;
  unsubscribe = undefined;
}
let kept;
function exitLoop(state) {
  // What Frame.exit does per layer: compare each index with the release point.
  let hits = 0;
  for (let i = 4; i >= 0; i--) if (i === state.releasedAt || i > state.expiredMin) hits++;
  return hits;
}
function sentinelSmi() {
  const state = new AbortStateSmi();
  state.releasedAt = exitLoop(state) === 0 ? 2 : NO_LIMIT;
  kept = state;
  return sync();
}
function sentinelInfinity() {
  const state = new AbortStateInfinity();
  state.releasedAt = exitLoop(state) === 0 ? 2 : Infinity;
  kept = state;
  return sync();
}

// 4. A breaker registry asked for the same key call after call (an HTTP client's one origin):
//    the registry skips the Map reordering that keeps it least recently used first.
const registry = breakerRegistry({ maxKeys: 100 });
for (const key of ['https://a.example', 'https://b.example', 'https://c.example']) {
  registry.get(key);
}
const lru = new Map(registry.views().map((view) => [view.key, view]));
function registrySameKey() {
  return registry.get('https://c.example');
}
function mapReorderSameKey() {
  const key = 'https://c.example';
  const found = lru.get(key);
  lru.delete(key);
  lru.set(key, found);
  return found;
}

const cases = [
  { group: 'baseline', name: 'sync call, awaited by the harness', fn: () => sync() },
  { group: 'baseline', name: 'async call', fn: () => work() },
  { group: 'then', name: 'async function with await', fn: viaAsync },
  { group: 'then', name: '.then with handlers made once', fn: viaThenBound },
  { group: 'then', name: '.then with two closures per call', fn: viaThenClosures },
  {
    group: 'settlers',
    name: "caller's promise, module-level executor",
    fn: settlersModuleExecutor,
  },
  { group: 'settlers', name: "caller's promise, closure executor", fn: settlersClosure },
  { group: 'sentinel', name: 'abort state, small-integer sentinel', fn: sentinelSmi },
  { group: 'sentinel', name: 'abort state, Infinity sentinel', fn: sentinelInfinity },
  { group: 'registry', name: 'registry.get(same key), reordering skipped', fn: registrySameKey },
  { group: 'registry', name: 'Map get + delete + set (same key)', fn: mapReorderSameKey },
];

const quick = process.argv.includes('--quick');
const settings = quick ? { rounds: 1, perRound: 1_000, warmup: 1_000, allocCalls: 1_000 } : {};
console.log(`Machine: ${JSON.stringify(machine())}`);
const rows = await runCases(cases, settings);
ignore(kept);
report(
  'Design figures: each trick next to its plain form',
  rows,
  [
    { label: 'group', value: (r) => r.group },
    { label: 'case', value: (r) => r.name },
    { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
    {
      label: 'bytes/op',
      value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
    },
  ],
  'design.json',
);
