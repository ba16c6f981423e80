/**
 * What one decision found, written into a reused object so that a decision in memory allocates
 * nothing. Every figure is a whole number of permits or milliseconds.
 */
export class Verdict {
  allowed = false;
  /** Permits left after this decision. */
  remaining = 0;
  /** Milliseconds until the limiter is back to its full capacity if nothing more is taken. */
  resetMs = 0;
  /** Milliseconds until the refused permits would be granted (0 when allowed). */
  retryAfterMs = 0;
}

export type AlgorithmKind = 'token-bucket' | 'sliding-window';

/**
 * A rate-limiting algorithm over one key's state, as the memory store runs it. The Redis store
 * runs the same arithmetic in Lua (`stores/scripts.ts`), so a limit means the same in both.
 */
export interface Algorithm<S> {
  readonly kind: AlgorithmKind;
  /** Permits per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** The most permits a single decision can take (the burst of a bucket, the window's limit). */
  readonly capacity: number;
  /** The state of a key never seen (or evicted): full capacity. */
  createState(): S;
  /** Decides `permits` at `now` (whole milliseconds), taking them from `state` when allowed. */
  decide(state: S, now: number, permits: number, out: Verdict): void;
}
