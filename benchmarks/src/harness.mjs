// A small benchmark harness: time per call and heap bytes allocated per call, for several
// cases measured in interleaved rounds within one process, so that a noisy neighbour slows
// every case alike and the ratios between them hold.
import v8 from 'node:v8';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import { progress } from './progress.mjs';

if (typeof globalThis.gc !== 'function') {
  throw new Error('run benchmarks with --expose-gc (npm run bench does)');
}

async function loop(fn, n) {
  for (let i = 0; i < n; i++) await fn();
}

/**
 * A figure for a results table: thousands separated, `digits` decimals. NaN or an infinity is
 * `n/a` (the allocation measurement's "every batch saw a GC", a ratio to nothing).
 */
export function formatNumber(n, digits = 0) {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
}

/** Median of an array of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Heap bytes allocated per call: a batch small enough to fit the (enlarged) young generation
 * runs between two readings of heapUsed, and is thrown away and re-run if a GC ran during it.
 */
async function allocatedPerCall(fn, n) {
  for (let tries = 0; tries < 20; tries++) {
    globalThis.gc();
    // A full GC frees the hidden classes no live object uses, and V8 throws away optimized code
    // that embeds them: re-warm, so the batch measures steady state, not the re-optimization.
    await loop(fn, 5_000);
    // GCProfiler reports synchronously which collections ran in between: any at all, and the
    // heap difference undercounts, so the batch is re-run smaller.
    const profiler = new v8.GCProfiler();
    profiler.start();
    const before = process.memoryUsage().heapUsed;
    await loop(fn, n);
    const after = process.memoryUsage().heapUsed;
    const { statistics } = profiler.stop();
    if (statistics.length === 0) return Math.max(0, (after - before) / n);
    n = Math.max(500, n >> 1);
  }
  return Number.NaN;
}

export { progress };

/**
 * Runs every case: warm-up, then `rounds` interleaved timing rounds of `perRound` calls each,
 * then an allocation measurement. Returns rows with the median ns/op and bytes/op. Reports each
 * round and each finished row on stderr as it goes.
 */
export async function runCases(
  cases,
  { rounds = 7, perRound = 100_000, warmup = 50_000, allocCalls = 20_000 } = {},
) {
  for (const c of cases) await loop(c.fn, warmup);
  progress(`warmed up ${cases.length} cases; ${rounds} timing rounds follow`);
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const start = process.hrtime.bigint();
      await loop(c.fn, perRound);
      samples.get(c.name).push(Number(process.hrtime.bigint() - start) / perRound);
    }
    progress(`timing round ${r + 1}/${rounds} done`);
  }
  const rows = [];
  for (const c of cases) {
    const bytes = await allocatedPerCall(c.fn, allocCalls);
    const ns = median(samples.get(c.name));
    progress(`${c.name}: ${ns.toFixed(0)} ns/op, ${bytes.toFixed(0)} bytes/op`);
    rows.push({
      name: c.name,
      group: c.group,
      nsPerOp: ns,
      bytesPerOp: bytes,
      // Per round, in order: for ratios taken round by round (see pairedRatio).
      rounds: samples.get(c.name),
    });
  }
  return rows;
}

/**
 * `row`'s time over `base`'s, as the median of the ratios of each round: the cases of a round run
 * back to back, so a neighbour that slows the host for a while slows both sides of each ratio.
 * Steadier than the ratio of the two medians when the host's speed drifts during a run.
 */
export function pairedRatio(row, base) {
  return median(row.rounds.map((ns, round) => ns / base.rounds[round]));
}

export function machine() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

/** Prints a markdown table and writes the JSON next to the other results. */
export function report(title, rows, columns, file) {
  const header = `| ${columns.map((c) => c.label).join(' | ')} |`;
  const rule = `|${columns.map(() => '---').join('|')}|`;
  const lines = rows.map((row) => `| ${columns.map((c) => c.value(row)).join(' | ')} |`);
  console.log(`\n### ${title}\n\n${header}\n${rule}\n${lines.join('\n')}\n`);
  const path = join(import.meta.dirname, '..', 'results', file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ title, machine: machine(), rows }, null, 2));
  console.log(`(written to benchmarks/results/${file})`);
}
