// Node's global `performance` is a getter that runs on every read of the name: the module's own
// export is the same object, without the getter ("Design figures" in benchmarks/RESULTS.md).
import { performance } from 'node:perf_hooks';

/** A handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Lets the process exit while the timer is pending. */
  unref?(): unknown;
}

/**
 * The source of time for every policy. Inject a fake one (see `@bulwark/testing`)
 * to make time-dependent behaviour deterministic in tests.
 */
export interface Clock {
  /** Monotonic milliseconds, used for durations and deadlines. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, used only to read HTTP dates. */
  dateNow(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` for durations, `Date.now()` for dates, Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  dateNow: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Starts a timer that never keeps the process alive on its own. */
export function unrefTimer(clock: Clock, callback: () => void, ms: number): TimerHandle {
  const handle = clock.setTimeout(callback, ms);
  handle.unref?.();
  return handle;
}
