/**
 * One rate-limit decision: what an inbound adapter needs to answer (429 or go on) and to write
 * the `RateLimit-Policy`, `RateLimit` and `Retry-After` headers (see `rateLimitHeaders()`).
 * Every figure is a whole number.
 */
export interface RateLimitDecision {
  /** Whether the permits were granted (and taken). */
  readonly allowed: boolean;
  /** The limiter's policy name: its `name` option, else `"default"`. */
  readonly policy: string;
  /** Permits per window: the policy's quota. */
  readonly limit: number;
  /** The window the quota is measured over, in milliseconds. */
  readonly windowMs: number;
  /** Permits left for this key after this decision. */
  readonly remaining: number;
  /** Milliseconds until this key is back to its full capacity if nothing more is taken. */
  readonly resetMs: number;
  /** When refused: milliseconds until the permits asked for would be granted. 0 when allowed. */
  readonly retryAfterMs: number;
  /**
   * True when the store failed and the limiter's `onStoreError` mode decided instead: the
   * figures are then unknown (0), and `rateLimitHeaders()` leaves the `RateLimit` field out.
   */
  readonly storeFailed: boolean;
}
