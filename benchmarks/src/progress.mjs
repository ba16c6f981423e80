/**
 * One line on stderr, so that a long run shows it is moving without mixing into the tables on
 * stdout. `BENCH_QUIET=1` silences it. A module of its own, so that the load benchmarks, which
 * run without `--expose-gc`, can use it without harness.mjs.
 */
export function progress(line) {
  if (process.env.BENCH_QUIET !== '1') process.stderr.write(`[bench] ${line}\n`);
}
