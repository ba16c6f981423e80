// @bulwark/rate-limit against rate-limiter-flexible, in one run, decisions per second:
//
// 1. Memory store: `tokenBucket().take()` and `slidingWindow().take()` against rate-limiter-
//    flexible's `RateLimiterMemory.consume()`, over 1 024 keys, first while every decision is
//    allowed (with a Map counter as the floor), then while every one is refused (every key spent). rate-limiter-flexible counts
//    in fixed windows; that is the nearest shape it has to a token bucket or a sliding window:
//    one counter (or TAT) per key, read and written per decision.
// 2. Redis store: the same limiters on `redisStore()` against `RateLimiterRedis` on the same
//    ioredis client, each one Lua script per decision, against a redis-server on loopback (its
//    own process), with an ioredis PING as the round-trip floor. First one decision at a time
//    (latency), then 64 in flight (throughput).
//
// The goal is a ratio: Bulwark's decisions per second over rate-limiter-flexible's with the same
// store, >= 1. `--quick` runs every case a few hundred times, to check that the script works.
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { Redis } from 'ioredis';
import { memoryStore, redisStore, slidingWindow, tokenBucket } from '@bulwark/rate-limit';
import { startRedis } from '@bulwark/testing';
import { machine, median, pairedRatio, report, runCases } from './harness.mjs';

const KEY_COUNT = 1_024;
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `user-${i}`);
/** High enough that no key runs out during a run: a day's quota no benchmark can spend. */
const PLENTY = 10_000_000;
const DAY_MS = 86_400_000;
const IN_FLIGHT = 64;

const quick = process.argv.includes('--quick');
const memorySettings = quick
  ? { rounds: 2, perRound: 2_000, warmup: 1_000, allocCalls: 1_000 }
  : { rounds: 7, perRound: 100_000, warmup: 50_000, allocCalls: 20_000 };
const redisSettings = quick
  ? { rounds: 2, perRound: 200, warmup: 100, allocCalls: 500 }
  : { rounds: 5, perRound: 5_000, warmup: 2_000, allocCalls: 2_000 };
const throughputSettings = quick ? { rounds: 2, total: 500 } : { rounds: 5, total: 20_000 };

let next = 0;
const nextKey = () => KEYS[next++ & (KEY_COUNT - 1)];
// What every case reads from its decision, so nothing is optimised away.
let sink = 0;

console.log(
  `Machine: ${JSON.stringify(machine())}${quick ? ' (quick run: figures mean nothing)' : ''}`,
);

const columns = (rows, peerName) => {
  const peer = rows.find((r) => r.name === peerName);
  return [
    { label: 'case', value: (r) => r.name },
    { label: 'ns/op', value: (r) => r.nsPerOp.toFixed(0) },
    { label: 'decisions/s', value: (r) => Math.round(1e9 / r.nsPerOp).toLocaleString('en') },
    {
      label: 'bytes/op',
      value: (r) => (Number.isNaN(r.bytesPerOp) ? 'n/a' : r.bytesPerOp.toFixed(0)),
    },
    // Paired round by round: throughput over the peer's, so > 1 is faster.
    { label: `× ${peerName} (throughput)`, value: (r) => pairedRatio(peer, r).toFixed(2) },
  ];
};

/** Fails the run when a limiter does not decide what the case claims to measure. */
async function expectDecision(label, decide, allowed) {
  const got = await decide();
  if (got !== allowed) throw new Error(`${label}: expected allowed=${allowed}, got ${got}`);
}

const rlfAllowed = (promise) =>
  promise.then(
    () => true,
    () => false,
  );

// --- 1. Memory -----------------------------------------------------------------------------
{
  const bucket = tokenBucket({
    limit: PLENTY,
    windowMs: DAY_MS,
    store: memoryStore({ maxKeys: 2 * KEY_COUNT }),
  });
  const window = slidingWindow({
    limit: PLENTY,
    windowMs: DAY_MS,
    store: memoryStore({ maxKeys: 2 * KEY_COUNT }),
  });
  const rlf = new RateLimiterMemory({ points: PLENTY, duration: DAY_MS / 1000 });
  await expectDecision('bucket', () => bucket.take('check').allowed, true);
  await expectDecision('window', () => window.take('check').allowed, true);
  await expectDecision('rlf', () => rlfAllowed(rlf.consume('check')), true);

  // The floor: a per-key counter in a Map, with no time, no limit and no answer.
  const counts = new Map();
  const peer = 'rate-limiter-flexible RateLimiterMemory.consume';
  const rows = await runCases(
    [
      {
        group: 'memory, allowed',
        name: 'floor: Map counter, no limit',
        fn: () => {
          const key = nextKey();
          counts.set(key, (counts.get(key) ?? 0) + 1);
        },
      },
      {
        group: 'memory, allowed',
        name: 'bulwark tokenBucket.take',
        fn: () => {
          sink += bucket.take(nextKey()).remaining;
        },
      },
      {
        group: 'memory, allowed',
        name: 'bulwark slidingWindow.take',
        fn: () => {
          sink += window.take(nextKey()).remaining;
        },
      },
      {
        group: 'memory, allowed',
        name: peer,
        fn: () =>
          rlf.consume(nextKey()).then((res) => {
            sink += res.remainingPoints;
          }),
      },
    ],
    memorySettings,
  );
  report(
    'Memory store, every decision allowed',
    rows,
    columns(rows, peer),
    'rate-limit-memory.json',
  );
}

{
  // One permit a day per key, spent before the run: every decision is a refusal.
  const bucket = tokenBucket({
    limit: 1,
    windowMs: DAY_MS,
    store: memoryStore({ maxKeys: 2 * KEY_COUNT }),
  });
  const window = slidingWindow({
    limit: 1,
    windowMs: DAY_MS,
    store: memoryStore({ maxKeys: 2 * KEY_COUNT }),
  });
  const rlf = new RateLimiterMemory({ points: 1, duration: DAY_MS / 1000 });
  for (const key of KEYS) {
    bucket.take(key);
    window.take(key);
    await rlfAllowed(rlf.consume(key));
  }
  await expectDecision('bucket', () => bucket.take(KEYS[0]).allowed, false);
  await expectDecision('window', () => window.take(KEYS[0]).allowed, false);
  await expectDecision('rlf', () => rlfAllowed(rlf.consume(KEYS[0])), false);

  const peer = 'rate-limiter-flexible RateLimiterMemory.consume';
  const rows = await runCases(
    [
      {
        group: 'memory, refused',
        name: 'bulwark tokenBucket.take',
        fn: () => {
          sink += bucket.take(nextKey()).retryAfterMs;
        },
      },
      {
        group: 'memory, refused',
        name: 'bulwark slidingWindow.take',
        fn: () => {
          sink += window.take(nextKey()).retryAfterMs;
        },
      },
      {
        group: 'memory, refused',
        name: peer,
        fn: () =>
          rlf.consume(nextKey()).then(
            () => {
              throw new Error('rate-limiter-flexible allowed a spent key');
            },
            (res) => {
              sink += res.msBeforeNext;
            },
          ),
      },
    ],
    memorySettings,
  );
  report(
    'Memory store, every decision refused',
    rows,
    columns(rows, peer),
    'rate-limit-memory-refused.json',
  );
}

// --- 2. Redis ------------------------------------------------------------------------------
const server = await startRedis();
const client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
await client.connect();
try {
  await client.flushall();
  const store = redisStore({ client });
  const bucket = tokenBucket({ limit: PLENTY, windowMs: DAY_MS, name: 'bucket', store });
  const window = slidingWindow({ limit: PLENTY, windowMs: DAY_MS, name: 'window', store });
  const rlf = new RateLimiterRedis({
    storeClient: client,
    points: PLENTY,
    duration: DAY_MS / 1000,
    keyPrefix: 'rlf',
  });
  await expectDecision('bucket', async () => (await bucket.take('check')).allowed, true);
  await expectDecision('window', async () => (await window.take('check')).allowed, true);
  await expectDecision('rlf', () => rlfAllowed(rlf.consume('check')), true);
  // A decision that fell back to onStoreError would look allowed: make sure Redis decided.
  if ((await bucket.take('check')).storeFailed) throw new Error('the Redis store failed');

  const peer = 'rate-limiter-flexible RateLimiterRedis.consume';
  const cases = [
    {
      group: 'redis',
      name: 'ioredis PING (round-trip floor)',
      fn: () => client.ping(),
    },
    {
      group: 'redis',
      name: 'bulwark tokenBucket.take',
      fn: () =>
        bucket.take(nextKey()).then((d) => {
          sink += d.remaining;
        }),
    },
    {
      group: 'redis',
      name: 'bulwark slidingWindow.take',
      fn: () =>
        window.take(nextKey()).then((d) => {
          sink += d.remaining;
        }),
    },
    {
      group: 'redis',
      name: peer,
      fn: () =>
        rlf.consume(nextKey()).then((res) => {
          sink += res.remainingPoints;
        }),
    },
  ];
  const rows = await runCases(cases, redisSettings);
  report(
    'Redis store, one decision at a time (loopback)',
    rows,
    columns(rows, peer),
    'rate-limit-redis.json',
  );

  // Throughput: IN_FLIGHT callers, each awaiting its decision before the next, in rounds that
  // interleave the cases as runCases does.
  const perSecond = new Map(cases.map((c) => [c.name, []]));
  for (let round = 0; round < throughputSettings.rounds; round++) {
    for (const c of cases) {
      let issued = 0;
      const worker = async () => {
        while (issued < throughputSettings.total) {
          issued++;
          await c.fn();
        }
      };
      const start = process.hrtime.bigint();
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      perSecond.get(c.name).push(throughputSettings.total / seconds);
    }
  }
  const peerRounds = perSecond.get(peer);
  const throughputRows = cases.map((c) => {
    const rounds = perSecond.get(c.name);
    return {
      name: c.name,
      decisionsPerSecond: median(rounds),
      ratio: median(rounds.map((value, round) => value / peerRounds[round])),
      rounds,
    };
  });
  report(
    `Redis store, ${IN_FLIGHT} decisions in flight (loopback)`,
    throughputRows,
    [
      { label: 'case', value: (r) => r.name },
      { label: 'decisions/s', value: (r) => Math.round(r.decisionsPerSecond).toLocaleString('en') },
      { label: `× ${peer}`, value: (r) => r.ratio.toFixed(2) },
    ],
    'rate-limit-redis-throughput.json',
  );
} finally {
  client.disconnect();
  await server.stop();
}

if (sink === 0.5) console.log('unreachable: keeps the sink alive');
