// Three replicas of one service on loopback, for service-scenarios.mjs, run as a separate process
// so that their work is not counted against the clients being measured, plus a fourth port that
// was opened and closed again: a dead replica (connections refused).
//
// Each replica answers a small JSON body after MEDIAN_MS. The parent sets replica 0's behaviour:
//   { type: 'mode', mode: 'normal' }
//   { type: 'mode', mode: 'slow-tail', ratio, slowMs }   a `ratio` share of requests take slowMs
//   { type: 'mode', mode: 'flaky', ratio, forMs }         a `ratio` share fail with 503 for forMs
// and asks { type: 'count' } for the requests each replica received and, in the flaky mode, when
// replica 0 recovered and when its first request after that came (wall-clock ms, which the parent
// compares with its own). A request whose client goes
// away stops at once. Random draws are seeded, so runs see the same sequence. Exits when the
// parent disconnects.
import { createServer } from 'node:http';

const MEDIAN_MS = Number(process.env.MEDIAN_MS ?? 2);
const BODY = Buffer.from(JSON.stringify({ id: 1, ok: true }));
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

let seed = Number(process.env.SEED ?? 20_261_207) >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

const counts = [0, 0, 0];
let mode = { mode: 'normal' };
let modeSince = performance.now();
/** Flaky mode: when the failures stop, and the time of replica 0's first request after that. */
let healthyFrom = Infinity;
let firstAfterRecovery = undefined;
/** The same two moments on the wall clock, which the parent process can compare with its own. */
let recoveredAt = undefined;
let firstAfterRecoveryAt = undefined;

function behaviour(replica) {
  if (replica !== 0) return { delayMs: MEDIAN_MS, status: 200 };
  const now = performance.now();
  switch (mode.mode) {
    case 'slow-tail':
      return { delayMs: random() < mode.ratio ? mode.slowMs : MEDIAN_MS, status: 200 };
    case 'flaky':
      if (now < healthyFrom) {
        return { delayMs: MEDIAN_MS, status: random() < mode.ratio ? 503 : 200 };
      }
      if (firstAfterRecovery === undefined) {
        firstAfterRecovery = now - healthyFrom;
        firstAfterRecoveryAt = Date.now();
        recoveredAt = firstAfterRecoveryAt - firstAfterRecovery;
      }
      return { delayMs: MEDIAN_MS, status: 200 };
    default:
      return { delayMs: MEDIAN_MS, status: 200 };
  }
}

function replica(index) {
  const server = createServer((req, res) => {
    counts[index]++;
    const { delayMs, status } = behaviour(index);
    req.resume();
    const answer = setTimeout(() => {
      if (status === 200) res.writeHead(200, HEADERS).end(BODY);
      else res.writeHead(status, { 'content-length': '0' }).end();
    }, delayMs);
    res.once('close', () => clearTimeout(answer));
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const servers = await Promise.all([0, 1, 2].map(replica));
const dead = await new Promise((resolve) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

process.send({
  type: 'ports',
  replicas: servers.map((s) => s.address().port),
  dead,
});
process.on('message', (message) => {
  if (message?.type === 'mode') {
    mode = message;
    modeSince = performance.now();
    healthyFrom = message.mode === 'flaky' ? modeSince + message.forMs : Infinity;
    firstAfterRecovery = undefined;
    recoveredAt = message.mode === 'flaky' ? Date.now() + message.forMs : undefined;
    firstAfterRecoveryAt = undefined;
    process.send({ type: 'mode-set' });
  } else if (message?.type === 'count') {
    process.send({
      type: 'count',
      counts: [...counts],
      firstAfterRecoveryMs: firstAfterRecovery,
      recoveredAt,
      firstAfterRecoveryAt,
    });
  }
});
process.on('disconnect', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
