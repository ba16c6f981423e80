import { checkInteger } from '@bulwark/core/internal';
import { Gcra } from './gcra.js';
import {
  Limiter,
  MAX_LIMIT,
  type MemoryRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RedisRateLimiter,
  parseLimiterOptions,
} from './limiter.js';
import type { MemoryStore } from './stores/memory.js';
import type { RedisStore } from './stores/redis.js';

export interface TokenBucketOptions extends RateLimiterOptions {
  /**
   * The bucket's size: how many permits can be taken at once after a quiet spell, an integer
   * from 1 to 10 000 000. Default `limit`. The bucket refills at `limit` permits per `windowMs`,
   * evenly (one permit every `windowMs / limit` ms), never beyond `burst`.
   */
  burst?: number;
}

/**
 * A token bucket: `limit` permits per `windowMs`, refilled evenly, up to `burst` at once. Run as
 * GCRA (the generic cell rate algorithm) in integer arithmetic: one small state per key, O(1) a
 * decision, in memory or in one Redis script.
 *
 * @example
 * const perUser = tokenBucket({ limit: 100, windowMs: 60_000, burst: 20, name: 'per-user' });
 * const decision = perUser.take(userId);
 * if (!decision.allowed) return tooManyRequests(decision);
 */
export function tokenBucket(options: TokenBucketOptions & { store: RedisStore }): RedisRateLimiter;
export function tokenBucket(
  options: TokenBucketOptions & { store?: MemoryStore | undefined },
): MemoryRateLimiter;
export function tokenBucket(options: TokenBucketOptions): RateLimiter;
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  const settings = parseLimiterOptions('tokenBucket', options, ['burst']);
  const burst = options.burst ?? settings.limit;
  checkInteger('burst', burst, 1, MAX_LIMIT);
  return new Limiter(new Gcra(settings.limit, settings.windowMs, burst), settings);
}
