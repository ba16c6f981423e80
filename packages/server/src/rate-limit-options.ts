import type { RateLimiter, SlidingWindowOptions, TokenBucketOptions } from '@bulwark/rate-limit';

/** The options of a limiter the stack builds itself, on its own clock unless one is given. */
export type InboundLimiterOptions =
  | (TokenBucketOptions & { algorithm?: 'token-bucket' })
  | (SlidingWindowOptions & { algorithm: 'sliding-window' });

/**
 * A rate limit on inbound requests, per caller: a request over its caller's limit is answered
 * 429 before it runs. Health and metrics routes are never limited.
 */
export interface RateLimitOptions<Req = unknown> {
  /**
   * A `tokenBucket()` or `slidingWindow()` from `@bulwark/rate-limit` (with a `redisStore()`, one
   * limit for a fleet), or the options of one for the stack to build: a token bucket unless
   * `algorithm: 'sliding-window'`, on the stack's `clock` unless it names one.
   */
  limiter: RateLimiter | InboundLimiterOptions;
  /**
   * Who is calling (the authenticated user or API client, else a validated client address),
   * from the framework's request: each caller has a limit of its own. Requests for which it
   * returns undefined share one limit. Required: pass `'shared'` to put every request under one
   * limit on purpose.
   */
  identity: ((args: { readonly request: Req }) => string | undefined) | 'shared';
  /** Path prefixes the limit applies to (`/api` covers `/api` and `/api/...`). Default: every path. */
  paths?: readonly string[];
  /** Path prefixes the limit never applies to. Default: none. */
  excludePaths?: readonly string[];
  /** Send `RateLimit-Policy` and `RateLimit` on the responses the limit lets through. Default true. */
  headers?: boolean;
}
