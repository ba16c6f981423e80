// The loopback server for hedging.mjs, run as a separate process so that its work is not counted
// against the clients being measured. A long-tailed downstream: each request takes MEDIAN_MS,
// except a SLOW_RATIO share of them, drawn at random per request (seeded), which take SLOW_MS. A
// request whose client goes away stops at once, as a well-behaved service does. Tells its parent
// the port over IPC, counts the requests it receives (the parent asks with { type: 'count' }), and
// exits when the parent disconnects.
import { createServer } from 'node:http';

const MEDIAN_MS = Number(process.env.MEDIAN_MS ?? 2);
const SLOW_MS = Number(process.env.SLOW_MS ?? 100);
const SLOW_RATIO = Number(process.env.SLOW_RATIO ?? 0.05);

const BODY = Buffer.from(JSON.stringify({ id: 1, ok: true }));
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

// mulberry32: a small seeded generator, so runs draw the same sequence of slow requests.
let seed = Number(process.env.SEED ?? 20_130_201) >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

let received = 0;
const server = createServer((req, res) => {
  received++;
  const delay = random() < SLOW_RATIO ? SLOW_MS : MEDIAN_MS;
  req.resume();
  const answer = setTimeout(() => res.writeHead(200, HEADERS).end(BODY), delay);
  res.once('close', () => clearTimeout(answer));
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 61_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ type: 'port', port });
  else console.log(`listening on http://127.0.0.1:${port}`);
});
process.on('message', (message) => {
  if (message?.type === 'count') process.send({ type: 'count', received });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
