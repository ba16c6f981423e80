import type { Algorithm, Verdict } from './algorithm.js';

/**
 * One key's token bucket, kept as GCRA's theoretical arrival time (TAT): the moment the bucket
 * would be full again. It is `ms + frac / limit` milliseconds, split so that every figure stays an
 * integer: one permit is worth `windowMs / limit` milliseconds, which is rarely whole.
 */
export class BucketState {
  ms = Number.NEGATIVE_INFINITY;
  /** In units of 1/limit ms, always below `limit`. */
  frac = 0;
}

/**
 * The token bucket as the generic cell rate algorithm. Time is counted in ticks of 1/limit ms, so
 * a permit costs exactly `windowMs` ticks and the full bucket `burst × windowMs`: no fractions,
 * and no figure above `2 × burst × windowMs` (the factories bound both so it stays exact).
 *
 * A decision reads the distance `d` from now to the TAT (0 for a full bucket), adds the permits'
 * cost, and allows them when the result still fits in the bucket. A refusal changes nothing.
 */
export class Gcra implements Algorithm<BucketState> {
  readonly kind = 'token-bucket';
  private readonly full: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    /** The bucket's size: how many permits can be taken at once after a quiet spell. */
    readonly capacity: number,
  ) {
    this.full = capacity * windowMs;
  }

  createState(): BucketState {
    return new BucketState();
  }

  decide(state: BucketState, now: number, permits: number, out: Verdict): void {
    const limit = this.limit;
    const windowMs = this.windowMs;
    const full = this.full;
    // A TAT in the past means a full bucket: whatever it was, it has refilled.
    const d = state.ms >= now ? (state.ms - now) * limit + state.frac : 0;
    const after = d + permits * windowMs;
    if (after <= full) {
      state.ms = now + Math.floor(after / limit);
      state.frac = after % limit;
      out.allowed = true;
      out.remaining = Math.floor((full - after) / windowMs);
      out.resetMs = Math.ceil(after / limit);
      out.retryAfterMs = 0;
      return;
    }
    out.allowed = false;
    out.remaining = Math.floor((full - d) / windowMs);
    out.resetMs = Math.ceil(d / limit);
    out.retryAfterMs = Math.ceil((after - full) / limit);
  }
}
