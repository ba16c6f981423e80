import {
  Limiter,
  type MemoryRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RedisRateLimiter,
  parseLimiterOptions,
} from './limiter.js';
import type { MemoryStore } from './stores/memory.js';
import type { RedisStore } from './stores/redis.js';
import { WindowCounter } from './window-counter.js';

export type SlidingWindowOptions = RateLimiterOptions;

/**
 * A sliding window: at most `limit` permits in the window of `windowMs` ending now, estimated
 * from two fixed-window counters (the current window's count, plus the previous window's
 * weighted by how much of it the sliding window still covers). Three integers per key, O(1) a
 * decision, in memory or in one Redis script.
 *
 * @example
 * const perRoute = slidingWindow({ limit: 1000, windowMs: 60_000, name: 'per-route' });
 * const decision = perRoute.take(`${method} ${route}`);
 */
export function slidingWindow(
  options: SlidingWindowOptions & { store: RedisStore },
): RedisRateLimiter;
export function slidingWindow(
  options: SlidingWindowOptions & { store?: MemoryStore | undefined },
): MemoryRateLimiter;
export function slidingWindow(options: SlidingWindowOptions): RateLimiter;
export function slidingWindow(options: SlidingWindowOptions): RateLimiter {
  const settings = parseLimiterOptions('slidingWindow', options, []);
  return new Limiter(new WindowCounter(settings.limit, settings.windowMs), settings);
}
