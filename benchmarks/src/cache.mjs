// @bulwark/cache against undici's cache interceptor and the bare loopback request, in one run:
//
// 1. Fresh hit: Bulwark's memory store, undici's cache interceptor (its MemoryCacheStore) serving
//    the same fresh response, and a plain undici.request to the origin (the floor without a cache).
//    Bulwark twice: the cache alone (`httpCache().handle()`, what the cache itself costs) and a
//    whole `@bulwark/http-client` call with `cache` on (what a caller of the client pays: the
//    client's call object, its response and the cache together). undici's row is a whole
//    `undici.request()` through its interceptor, so the client row is the like-for-like one.
// 2. Revalidation: a `no-cache` + ETag resource revalidated with If-None-Match (a 304 with no
//    body), by Bulwark and by undici's interceptor, against a full 200 of the same 16 KiB body.
// 3. Memory: the heap held by 100 000 stored responses against the store's accounted bytes, and a
//    store bounded to 16 MiB fed the same 100 000 responses.
//
// The origin is this same file run as `node cache.mjs origin` in a child process, on loopback.
// Every case reads status, headers and the whole body, as a caller would.
//
// Knobs: ROUNDS, CALLS (fresh-hit calls per round; revalidations run a quarter of it) and
// ENTRIES in the environment, for a short check run.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const FRESH_PATH = '/fresh';
const VALIDATE_PATH = '/validate';
const FULL_PATH = '/full';
const FRESH_BODY = JSON.stringify({
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'author'],
  createdAt: '2025-01-01T00:00:00.000Z',
  bio: 'x'.repeat(80),
});
const BIG_BODY = 'y'.repeat(16 * 1024);
const ETAG = '"v1"';
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 20_000);
const ENTRIES = Number(process.env.ENTRIES ?? 100_000);
const BOUNDED_BYTES = 16 * 1024 * 1024;

if (process.argv[2] === 'origin') {
  runOrigin();
} else {
  await main();
}

/** The origin server: loopback only, prints its port on the first line of stdout. */
function runOrigin() {
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === FRESH_PATH) {
      res.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'max-age=31536000',
        etag: ETAG,
      });
      res.end(FRESH_BODY);
    } else if (path === VALIDATE_PATH) {
      if (req.headers['if-none-match'] === ETAG) {
        res.writeHead(304, { 'cache-control': 'no-cache', etag: ETAG });
        res.end();
      } else {
        res.writeHead(200, {
          'content-type': 'text/plain',
          'cache-control': 'no-cache',
          etag: ETAG,
        });
        res.end(BIG_BODY);
      }
    } else if (path === FULL_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(BIG_BODY);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function startOriginProcess() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'origin'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

async function main() {
  const { runCases, report, machine } = await import('./harness.mjs');
  const { Agent, interceptors, cacheStores, request } = await import('undici');
  const { httpCache, memoryStore } = await import('@bulwark/cache');
  const { createHttpClient } = await import('@bulwark/http-client');

  const { child, base } = await startOriginProcess();
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  const undiciCached = new Agent({ keepAliveTimeout: 60_000 }).compose(
    interceptors.cache({ store: new cacheStores.MemoryCacheStore(), type: 'private' }),
  );
  const requestHeaders = { accept: 'application/json' };

  /** The origin function Bulwark calls: undici.request on the plain agent. */
  const undiciOrigin = async ({ method, url, headers, signal }) => {
    const res = await request(url, { method, headers, signal, dispatcher: agent });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: new Uint8Array(await res.body.arrayBuffer()),
    };
  };

  // A caller reads status, one header and the body, from whichever client.
  let sink = 0;
  const consume = (status, contentType, bytes) => {
    sink += status + (contentType === undefined ? 0 : contentType.length) + bytes;
  };

  const freshUrl = `${base}${FRESH_PATH}`;
  const validateUrl = `${base}${VALIDATE_PATH}`;
  const fullUrl = `${base}${FULL_PATH}`;

  const bulwark = httpCache();
  const client = createHttpClient({ cache: {} });
  const clientHeaders = { accept: 'application/json' };
  const freshRequest = { method: 'GET', url: freshUrl, headers: requestHeaders };
  const validateRequest = { method: 'GET', url: validateUrl, headers: requestHeaders };

  // Prime both caches, and check that each serves what this benchmark claims it serves.
  const primed = await bulwark.handle(freshRequest, undiciOrigin);
  const hit = await bulwark.handle(freshRequest, undiciOrigin);
  if (primed.cacheStatus !== 'miss' || hit.cacheStatus !== 'hit')
    throw new Error('bulwark is not hitting');
  await client.request(freshUrl, { headers: clientHeaders });
  if ((await client.request(freshUrl, { headers: clientHeaders })).cache?.status !== 'hit')
    throw new Error('the client with a cache is not hitting');
  await (
    await request(freshUrl, { headers: requestHeaders, dispatcher: undiciCached })
  ).body.arrayBuffer();
  const undiciHit = await request(freshUrl, { headers: requestHeaders, dispatcher: undiciCached });
  await undiciHit.body.arrayBuffer();
  if (undiciHit.headers.age === undefined)
    throw new Error('undici cache interceptor is not hitting');
  await bulwark.handle(validateRequest, undiciOrigin);
  const revalidated = await bulwark.handle(validateRequest, undiciOrigin);
  if (revalidated.cacheStatus !== 'revalidated') throw new Error('bulwark is not revalidating');
  await (
    await request(validateUrl, { headers: requestHeaders, dispatcher: undiciCached })
  ).body.arrayBuffer();

  const hitCases = [
    {
      group: 'fresh hit',
      name: 'undici.request, loopback (no cache)',
      fn: async () => {
        const res = await request(freshUrl, { headers: requestHeaders, dispatcher: agent });
        const body = await res.body.arrayBuffer();
        consume(res.statusCode, res.headers['content-type'], body.byteLength);
      },
    },
    {
      group: 'fresh hit',
      name: 'undici cache interceptor, fresh hit',
      fn: async () => {
        const res = await request(freshUrl, { headers: requestHeaders, dispatcher: undiciCached });
        const body = await res.body.arrayBuffer();
        consume(res.statusCode, res.headers['content-type'], body.byteLength);
      },
    },
    {
      group: 'fresh hit',
      name: 'Bulwark httpCache, fresh hit',
      fn: async () => {
        const res = await bulwark.handle(freshRequest, undiciOrigin);
        consume(res.status, res.headers['content-type'], res.body.byteLength);
      },
    },
    {
      group: 'fresh hit',
      name: 'Bulwark http-client with cache, fresh hit',
      fn: async () => {
        const res = await client.request(freshUrl, { headers: clientHeaders });
        consume(res.status, res.headers['content-type'], res.body.byteLength);
      },
    },
  ];

  const revalidationCases = [
    {
      group: 'revalidation',
      name: 'undici.request, full 200 (16 KiB)',
      fn: async () => {
        const res = await request(fullUrl, { headers: requestHeaders, dispatcher: agent });
        const body = await res.body.arrayBuffer();
        consume(res.statusCode, res.headers['content-type'], body.byteLength);
      },
    },
    {
      group: 'revalidation',
      name: 'undici cache interceptor, 304 revalidation',
      fn: async () => {
        const res = await request(validateUrl, {
          headers: requestHeaders,
          dispatcher: undiciCached,
        });
        const body = await res.body.arrayBuffer();
        consume(res.statusCode, res.headers['content-type'], body.byteLength);
      },
    },
    {
      group: 'revalidation',
      name: 'Bulwark httpCache, 304 revalidation',
      fn: async () => {
        const res = await bulwark.handle(validateRequest, undiciOrigin);
        consume(res.status, res.headers['content-type'], res.body.byteLength);
      },
    },
  ];

  const hitRows = await runCases(hitCases, {
    rounds: ROUNDS,
    perRound: CALLS,
    warmup: CALLS,
    allocCalls: Math.ceil(CALLS / 4),
  });
  const revalidationRows = await runCases(revalidationCases, {
    rounds: ROUNDS,
    perRound: Math.ceil(CALLS / 4),
    warmup: Math.ceil(CALLS / 4),
    allocCalls: Math.ceil(CALLS / 10),
  });

  const byName = (rows, name) => rows.find((r) => r.name === name);
  const loopback = byName(hitRows, hitCases[0].name);
  const undiciHitRow = byName(hitRows, hitCases[1].name);
  const bulwarkHit = byName(hitRows, hitCases[2].name);
  const clientHit = byName(hitRows, hitCases[3].name);
  const full = byName(revalidationRows, revalidationCases[0].name);
  for (const row of hitRows) {
    row.vsLoopback = loopback.nsPerOp / row.nsPerOp;
    row.vsUndiciCache = undiciHitRow.nsPerOp / row.nsPerOp;
  }
  for (const row of revalidationRows) row.vsFull200 = full.nsPerOp / row.nsPerOp;

  const reqPerSec = (row) => Math.round(1e9 / row.nsPerOp).toLocaleString('en-US');
  const ratio = (value) => `${value.toFixed(1)}x`;
  report(
    'Fresh hit: Bulwark vs undici cache interceptor vs a loopback request',
    hitRows,
    [
      { label: 'case', value: (r) => r.name },
      { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
      { label: 'req/s', value: reqPerSec },
      {
        label: 'bytes/op',
        value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
      },
      { label: 'vs loopback', value: (r) => ratio(r.vsLoopback) },
      { label: 'vs undici cache', value: (r) => ratio(r.vsUndiciCache) },
    ],
    'cache-fresh-hit.json',
  );
  report(
    'Revalidation: a 304 round trip against a full 200 (16 KiB body)',
    revalidationRows,
    [
      { label: 'case', value: (r) => r.name },
      { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
      { label: 'req/s', value: reqPerSec },
      {
        label: 'bytes/op',
        value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
      },
      { label: 'vs full 200', value: (r) => ratio(r.vsFull200) },
    ],
    'cache-revalidation.json',
  );

  // Memory: 100 000 distinct responses stored through the real miss path. The origin function is
  // in-process here (the network is not what is measured). Like real responses, each has header
  // values of its own and a body that is a Buffer.from() slice of Node's shared pool, which the
  // store must copy so as to hold only its own bytes.
  const localOrigin = ({ url }) => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return {
      status: 200,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'max-age=3600',
        etag: `"${id}"`,
        date: new Date().toUTCString(),
        'x-request-id': `req-${id}`,
      },
      body: Buffer.from(`${FRESH_BODY.slice(0, 200)}${id}`),
    };
  };
  const memoryRows = [];
  for (const [label, options] of [
    [
      '100k entries, bound 256 MiB / 100k entries',
      { maxEntries: ENTRIES, maxBytes: 256 * 1024 * 1024 },
    ],
    ['100k entries offered, bound 16 MiB', { maxEntries: ENTRIES, maxBytes: BOUNDED_BYTES }],
  ]) {
    const held = await heapDelta(async () => {
      const store = memoryStore(options);
      const cache = httpCache({ store });
      for (let i = 0; i < ENTRIES; i++) {
        await cache.handle(
          { method: 'GET', url: `http://origin.test/items/${i}`, headers: requestHeaders },
          localOrigin,
        );
      }
      return store;
    });
    const store = held.value;
    memoryRows.push({
      name: label,
      entries: store.size,
      boundBytes: options.maxBytes,
      // What the store accounts for: its entries plus the index it reserves up front.
      accountedBytes: store.bytes + store.indexBytes,
      heapBytes: held.bytes,
    });
  }
  report(
    'Memory: heap held by stored responses against the configured bound',
    memoryRows,
    [
      { label: 'case', value: (r) => r.name },
      { label: 'entries held', value: (r) => r.entries.toLocaleString('en-US') },
      { label: 'heap held', value: (r) => mib(r.heapBytes) },
      { label: 'heap / entry', value: (r) => `${Math.round(r.heapBytes / r.entries)} B` },
      { label: 'accounted (index incl.)', value: (r) => mib(r.accountedBytes) },
      { label: 'heap / accounted', value: (r) => (r.heapBytes / r.accountedBytes).toFixed(2) },
      { label: 'bound', value: (r) => mib(r.boundBytes) },
      { label: 'within bound', value: (r) => (r.heapBytes <= r.boundBytes ? 'yes' : 'NO') },
    ],
    'cache-memory.json',
  );

  // The goals are read on the like-for-like row: a whole client call against a whole
  // undici.request() through its interceptor. The cache alone is reported beside it.
  const goalUndici = clientHit.vsUndiciCache;
  const goalLoopback = clientHit.vsLoopback;
  console.log(
    `\nGoal, fresh hit >= 5x undici's cache interceptor (whole client call): ${ratio(goalUndici)} ${goalUndici >= 5 ? 'met' : 'NOT MET'}; the cache alone: ${ratio(bulwarkHit.vsUndiciCache)}`,
  );
  console.log(
    `Goal, fresh hit >= 10x a loopback request: ${ratio(goalLoopback)} ${goalLoopback >= 10 ? 'met' : 'NOT MET'}`,
  );
  const m = machine();
  console.log(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; ${m.date}`);
  if (sink === 0) console.log('(nothing consumed?)');

  await client.close();
  await agent.close();
  await undiciCached.close();
  child.kill('SIGTERM');
}

/** Heap plus array-buffer bytes still held after `build()` and a full GC, with its result. */
async function heapDelta(build) {
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  globalThis.gc();
  await settle();
  globalThis.gc();
  const before = used();
  const value = await build();
  await settle();
  globalThis.gc();
  await settle();
  globalThis.gc();
  const bytes = used() - before;
  return { value, bytes };
}

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
