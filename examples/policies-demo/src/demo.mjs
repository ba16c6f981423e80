// Bulwark's core policies around a deliberately flaky server on 127.0.0.1. Each scene prints
// what the policies did; the whole demo takes about three seconds and exits by itself. The
// policies report to @bulwark/dashboard's listener, whose page is live while the demo runs (pass
// --hold, or set DEMO_HOLD=1, to keep it open until Ctrl+C).
import { createServer } from 'node:http';
import { isBulkheadRejectedError, isBrokenCircuitError, pipeline } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { dashboardListener } from '@bulwark/dashboard';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { exponentialBackoff, retry } from '@bulwark/retry';
import { deadline, timeout, writeBudget } from '@bulwark/timeout';

// --- a flaky server: /flaky fails twice then answers, /slow never answers, /down always 500s,
// /busy takes 200 ms.
let flakyHits = 0;
const server = createServer((req, res) => {
  if (req.url === '/flaky') {
    if (++flakyHits <= 2) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
    return res.end(
      `ok after ${flakyHits} requests (budget header: ${req.headers['x-bulwark-timeout-ms']} ms)`,
    );
  }
  if (req.url === '/slow') return; // hangs until the client gives up
  if (req.url === '/down') return res.writeHead(500).end('broken');
  if (req.url === '/busy') return setTimeout(() => res.end('done'), 200);
  res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// --- the live page: on loopback, so no authorize hook is needed to look at it from this machine.
const dashboard = dashboardListener({ title: 'policies demo' });
const page = createServer((req, res) => {
  if (!dashboard.handle(req, res)) res.writeHead(404).end();
});
const pagePort = Number(process.env.DASHBOARD_PORT ?? 0);
await new Promise((resolve) => page.listen(pagePort, '127.0.0.1', resolve));
console.log(`dashboard http://127.0.0.1:${page.address().port}/bulwark\n`);

const log = (scene, text) => console.log(`${scene.padEnd(9)} ${text}`);
const describe = (error) => `${error.name} (${error.code ?? 'no code'}): ${error.message}`;

async function get(path, ctx) {
  const headers = {};
  writeBudget(headers, ctx); // tell the server how long we will wait
  const res = await fetch(base + path, { headers, signal: ctx.signal });
  if (!res.ok) {
    await res.body?.cancel();
    const error = new Error(`HTTP ${res.status} from ${path}`);
    error.status = res.status;
    throw error;
  }
  return res.text();
}

// Scene 1: transient 503s are retried, with backoff, inside one deadline.
const resilient = pipeline(
  { operation: 'demo.flaky', listener: dashboard },
  deadline(2_000),
  retry({
    maxAttempts: 4,
    backoff: exponentialBackoff({ initialDelayMs: 50 }),
    classify: { error: (e) => e.status === 503 },
    listener: (e) => {
      dashboard(e);
      if (e.type === 'retry-scheduled') {
        log('retry', `attempt ${e.attempt} failed, next in ${Math.round(e.delayMs)} ms`);
      }
    },
  }),
  timeout(500),
);
log('flaky', await resilient.execute((ctx) => get('/flaky', ctx)));

// Scene 2: a server that hangs: each attempt times out, and the whole call ends at its deadline.
const started = performance.now();
try {
  await pipeline(
    { operation: 'demo.slow', listener: dashboard },
    deadline(800, { listener: dashboard }),
    retry({
      maxAttempts: 5,
      backoff: exponentialBackoff({ initialDelayMs: 10 }),
      listener: dashboard,
    }),
    timeout(300, { listener: dashboard }),
  ).execute((ctx) => get('/slow', ctx));
} catch (error) {
  log('slow', `${describe(error)} after ${Math.round(performance.now() - started)} ms`);
}

// Scene 3: a dead dependency: after 3 failures the breaker opens and calls fail fast.
const breaker = circuitBreaker({
  name: 'down',
  strategy: consecutive({ threshold: 3 }),
  breakDurationMs: 10_000,
  listener: dashboard,
});
dashboard.observeBreakers(breaker);
const guarded = pipeline({ operation: 'demo.down', listener: dashboard }, breaker);
const outcomes = [];
for (let i = 0; i < 6; i++) {
  try {
    await guarded.execute((ctx) => get('/down', ctx));
  } catch (error) {
    outcomes.push(isBrokenCircuitError(error) ? 'fast-fail' : 'HTTP 500');
  }
}
log('down', `${outcomes.join(', ')}; breaker is ${breaker.state}`);

// Scene 4: a bulkhead keeps 20 concurrent callers from piling onto a slow endpoint.
const limited = bulkhead({ name: 'busy', limit: 4, queue: 4, listener: dashboard });
dashboard.observeBulkhead(limited, { name: 'busy' });
const results = await Promise.allSettled(
  Array.from({ length: 20 }, () => limited.execute((ctx) => get('/busy', ctx))),
);
const served = results.filter((r) => r.status === 'fulfilled').length;
const shed = results.filter(
  (r) => r.status === 'rejected' && isBulkheadRejectedError(r.reason),
).length;
log(
  'busy',
  `${served} served (4 running + 4 queued), ${shed} rejected at once with BulkheadRejectedError`,
);

if (process.argv.includes('--hold') || process.env.DEMO_HOLD === '1') {
  console.log('\nthe dashboard stays up: Ctrl+C to stop');
  // Reads as the page left it; a breaker's "next trial" counts down.
  await new Promise((resolve) => process.once('SIGINT', resolve));
} else {
  // One more tick, so a page open now shows the last scene before the demo ends.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}
dashboard.close();
page.closeAllConnections();
page.close();
server.closeAllConnections();
server.close();
