// The load both client benchmarks (http-client.mjs, service-client.mjs) put on their clients:
// throughput at a fixed concurrency with the client's CPU per request, then latency one call at
// a time. Clients take turns, so that load from elsewhere on the machine hits each alike:
// throughput in rounds (the median round is kept), latency in many short slices whose samples
// are pooled (the c=1 rate is the median slice's).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { median } from './harness.mjs';
import { progress } from './progress.mjs';

/** Requests per second and client CPU per request with `concurrency` callers, for `ms` or `max` requests. */
async function throughput(fn, concurrency, ms, max) {
  let done = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  async function worker() {
    while (done < max && performance.now() < end) {
      await fn();
      done++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(cpu);
  return {
    rps: done / ((performance.now() - start) / 1000),
    cpuUs: (used.user + used.system) / done,
  };
}

/** One call at a time, for `ms` or `max` requests: each call's latency (µs) and the rate. */
async function sequential(fn, ms, max, into) {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  while (done < max && performance.now() < end) {
    const t = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - t) / 1000);
    done++;
  }
  return done / ((performance.now() - start) / 1000);
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function settle() {
  globalThis.gc?.();
  await yieldToLoop();
}

/**
 * Loads every peer (`{ name, group?, fn }`) in turn and returns one row per peer: req/s and
 * client CPU µs per request at `concurrency`, req/s at c=1, p50 and p99 at c=1 (µs).
 */
export async function measureClients(peers, settings) {
  const { concurrency, rounds, throughputMs, maxRequests, warmupMs } = settings;
  const { latencySlices, sliceRequests, sliceMs } = settings;
  progress(`warming up ${peers.length} clients`);
  for (const peer of peers) {
    await throughput(peer.fn, concurrency, warmupMs / 2, maxRequests);
    await sequential(peer.fn, warmupMs / 2, sliceRequests * 4, []);
  }
  const samples = new Map(
    peers.map((p) => [p.name, { rps: [], cpuUs: [], rps1: [], latencies: [] }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const peer of peers) {
      const s = samples.get(peer.name);
      await settle();
      const { rps, cpuUs } = await throughput(peer.fn, concurrency, throughputMs, maxRequests);
      s.rps.push(rps);
      s.cpuUs.push(cpuUs);
    }
    progress(`throughput round ${round + 1}/${rounds} done`);
  }
  for (let slice = 0; slice < latencySlices; slice++) {
    for (const peer of peers) {
      const s = samples.get(peer.name);
      if (slice % 10 === 0) await settle();
      s.rps1.push(await sequential(peer.fn, sliceMs, sliceRequests, s.latencies));
    }
  }
  progress(`latency: ${latencySlices} slices of ${sliceRequests} calls per client done`);
  return peers.map((peer) => {
    const s = samples.get(peer.name);
    const sorted = s.latencies.sort((a, b) => a - b);
    return {
      name: peer.name,
      group: peer.group,
      rps: median(s.rps),
      cpuUs: median(s.cpuUs),
      rps1: median(s.rps1),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      samples: sorted.length,
    };
  });
}
