import type { Algorithm, Verdict } from './algorithm.js';

/** One key's counts: the permits taken in the current fixed window and in the one before. */
export class WindowState {
  /** Which window `current` counts: `floor(now / windowMs)`. */
  window = Number.NEGATIVE_INFINITY;
  current = 0;
  previous = 0;
}

/**
 * The sliding-window counter: time is cut into fixed windows of `windowMs` (aligned on multiples
 * of it), and the window ending now is estimated as the current window's count plus the previous
 * window's count weighted by how much of it the sliding window still covers:
 *
 *     used = previous × (windowMs − elapsed) / windowMs + current
 *
 * Permits are granted while `used + permits <= limit`. Both sides are multiplied by `windowMs`,
 * so the test is on integers. State is three numbers per key, and a decision is O(1).
 *
 * The estimate assumes the previous window's permits were spread evenly over it. It never grants
 * more than `limit` in one fixed window, and a permit fades out of the estimate over the window
 * after the one it was taken in, so its effect is gone `2 × windowMs` after it at most.
 */
export class WindowCounter implements Algorithm<WindowState> {
  readonly kind = 'sliding-window';
  readonly capacity: number;
  private readonly full: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.capacity = limit;
    this.full = limit * windowMs;
  }

  createState(): WindowState {
    return new WindowState();
  }

  decide(state: WindowState, now: number, permits: number, out: Verdict): void {
    const windowMs = this.windowMs;
    const window = Math.floor(now / windowMs);
    const elapsed = now - window * windowMs;
    if (state.window !== window) {
      state.previous = state.window === window - 1 ? state.current : 0;
      state.current = 0;
      state.window = window;
    }
    const { current, previous } = state;
    const used = previous * (windowMs - elapsed) + current * windowMs;
    const cost = permits * windowMs;
    if (used + cost <= this.full) {
      state.current = current + permits;
      out.allowed = true;
      out.remaining = Math.floor((this.full - used - cost) / windowMs);
      // The permits just taken count until the end of the next window.
      out.resetMs = 2 * windowMs - elapsed;
      out.retryAfterMs = 0;
      return;
    }
    out.allowed = false;
    out.remaining = Math.max(0, Math.floor((this.full - used) / windowMs));
    out.resetMs = current > 0 ? 2 * windowMs - elapsed : previous > 0 ? windowMs - elapsed : 0;
    out.retryAfterMs = this.wait(current, previous, elapsed, permits);
  }

  /**
   * The earliest wait after which `permits` fit, if nothing else is taken: later in this window,
   * as the previous window's weight falls, or else in the next one, where the current count
   * becomes the previous and falls in turn.
   */
  private wait(current: number, previous: number, elapsed: number, permits: number): number {
    const windowMs = this.windowMs;
    // In this window: previous × (windowMs − e) <= room, so e >= windowMs − floor(room / previous).
    const room = (this.limit - current - permits) * windowMs;
    if (room >= 0 && previous > 0) {
      const slack = Math.floor(room / previous);
      if (slack >= 1) return windowMs - slack - elapsed;
    }
    // In the next window: current × (windowMs − e) <= (limit − permits) × windowMs.
    const untilNext = windowMs - elapsed;
    if (current === 0) return untilNext;
    const slack = Math.floor(((this.limit - permits) * windowMs) / current);
    return untilNext + Math.max(0, windowMs - slack);
  }
}
