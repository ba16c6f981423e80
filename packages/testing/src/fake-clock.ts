/**
 * A deterministic clock for tests. It has the shape of `@bulwark/core`'s `Clock` (structurally:
 * this package depends on nothing, so every package's tests can use it, core's included).
 *
 * Time moves only when a test says so. `advance()` fires due timers in order and lets the
 * promise chains they start settle before moving on, so code under test behaves as it would
 * with real time, minus the waiting.
 */
export interface FakeTimerHandle {
  unref(): FakeTimerHandle;
  ref(): FakeTimerHandle;
  hasRef(): boolean;
}

class FakeTimer implements FakeTimerHandle {
  cleared = false;
  referenced = true;
  constructor(
    readonly at: number,
    readonly seq: number,
    readonly callback: () => void,
  ) {}
  unref(): this {
    this.referenced = false;
    return this;
  }
  ref(): this {
    this.referenced = true;
    return this;
  }
  hasRef(): boolean {
    return this.referenced;
  }
}

/** Lets pending promise callbacks (and whatever they chain) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock {
  private time: number;
  private readonly epoch: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(options: { now?: number; date?: number } = {}) {
    this.time = options.now ?? 0;
    this.epoch = (options.date ?? Date.UTC(2026, 0, 1)) - this.time;
  }

  now(): number {
    return this.time;
  }

  dateNow(): number {
    return this.epoch + this.time;
  }

  setTimeout(callback: () => void, ms: number): FakeTimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer = new FakeTimer(this.time + delay, this.seq++, callback);
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle instanceof FakeTimer) {
      handle.cleared = true;
      this.timers = this.timers.filter((t) => t !== handle);
    }
  }

  /** Timers still pending. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Pending timers that would keep a real process alive (not unref'd). */
  get referencedTimers(): number {
    return this.timers.filter((t) => t.referenced).length;
  }

  /** When the next timer is due, or undefined when none is pending. */
  get nextTimerAt(): number | undefined {
    return this.timers[0]?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`expected ms to be a number >= 0, got ${ms}`);
    await settle();
    const target = this.time + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > target) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Fires timers one after another until none is left (at most `limit`, against runaway loops). */
  async runAll(limit = 10_000): Promise<void> {
    await settle();
    for (let i = 0; i < limit; i++) {
      const next = this.timers[0];
      if (next === undefined) return;
      await this.advance(Math.max(0, next.at - this.time));
    }
    // The last permitted round may have emptied the queue.
    if (this.timers.length === 0) return;
    throw new Error(`runAll: still ${this.timers.length} timers pending after ${limit} rounds`);
  }
}
