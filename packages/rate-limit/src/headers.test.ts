import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { RateLimitDecision } from './decision.js';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  formatRetryAfter,
  rateLimitHeaders,
  retryAfterSeconds,
} from './headers.js';
import { slidingWindow } from './sliding-window.js';
import { tokenBucket } from './token-bucket.js';

const decision = (fields: Partial<RateLimitDecision>): RateLimitDecision => ({
  allowed: true,
  policy: 'default',
  limit: 100,
  windowMs: 60_000,
  remaining: 42,
  resetMs: 11_001,
  retryAfterMs: 0,
  storeFailed: false,
  ...fields,
});

describe('rateLimitHeaders', () => {
  it('writes the draft fields for an allowed request, without Retry-After', () => {
    expect(rateLimitHeaders(decision({}))).toEqual({
      'ratelimit-policy': '"default";q=100;w=60',
      ratelimit: '"default";r=42;t=12',
    });
  });

  it('adds Retry-After to a refusal, and points t at the same moment', () => {
    const refused = decision({
      allowed: false,
      remaining: 0,
      resetMs: 60_000,
      retryAfterMs: 1_200,
    });
    expect(rateLimitHeaders(refused)).toEqual({
      'ratelimit-policy': '"default";q=100;w=60',
      ratelimit: '"default";r=0;t=2',
      'retry-after': '2',
    });
  });

  it('lists several policies, and waits for the longest refusal', () => {
    const decisions = [
      decision({ policy: 'per-second', limit: 10, windowMs: 1_000, remaining: 0, resetMs: 900 }),
      decision({
        policy: 'per-day',
        limit: 5_000,
        windowMs: 86_400_000,
        allowed: false,
        remaining: 0,
        retryAfterMs: 3_000,
      }),
      decision({ policy: 'per-hour', allowed: false, remaining: 0, retryAfterMs: 60_500 }),
    ];
    expect(formatRateLimitPolicy(decisions)).toBe(
      '"per-second";q=10;w=1, "per-day";q=5000;w=86400, "per-hour";q=100;w=60',
    );
    expect(formatRateLimit(decisions)).toBe(
      '"per-second";r=0;t=1, "per-day";r=0;t=3, "per-hour";r=0;t=61',
    );
    expect(formatRetryAfter(decisions)).toBe('61');
  });

  it('scales a window that is not whole seconds to one that is, never overstating the rate', () => {
    expect(formatRateLimitPolicy(decision({ limit: 10, windowMs: 100 }))).toBe(
      '"default";q=100;w=1',
    );
    expect(formatRateLimitPolicy(decision({ limit: 3, windowMs: 1_500 }))).toBe(
      '"default";q=4;w=2',
    );
    expect(formatRateLimitPolicy(decision({ limit: 1, windowMs: 2_500 }))).toBe(
      '"default";q=1;w=3',
    );
  });

  it('leaves RateLimit out when the store failed, as its figures are unknown', () => {
    const allowed = decision({ storeFailed: true, remaining: 0, resetMs: 0 });
    expect(rateLimitHeaders(allowed)).toEqual({ 'ratelimit-policy': '"default";q=100;w=60' });
    const denied = decision({ storeFailed: true, allowed: false, retryAfterMs: 1_000 });
    expect(rateLimitHeaders(denied)).toEqual({
      'ratelimit-policy': '"default";q=100;w=60',
      'retry-after': '1',
    });
  });

  it('formats real decisions of both limiters', () => {
    const clock = new FakeClock();
    const bucket = tokenBucket({ limit: 60, windowMs: 60_000, name: 'api', clock });
    expect(rateLimitHeaders(bucket.take('k'))).toEqual({
      'ratelimit-policy': '"api";q=60;w=60',
      ratelimit: '"api";r=59;t=1',
    });
    const window = slidingWindow({ limit: 1, windowMs: 1_000, clock });
    window.take();
    expect(rateLimitHeaders(window.take())).toEqual({
      'ratelimit-policy': '"default";q=1;w=1',
      ratelimit: '"default";r=0;t=2',
      'retry-after': '2',
    });
  });

  it.each([
    [
      decision({ policy: 'has "quotes"' }),
      TypeError,
      /^expected decision.policy to be 1 to 64 letters/,
    ],
    [
      decision({ remaining: -1 }),
      RangeError,
      /^expected decision.remaining to be an integer >= 0, got -1$/,
    ],
    [
      decision({ resetMs: 1.5 }),
      RangeError,
      /^expected decision.resetMs to be an integer >= 0, got 1.5$/,
    ],
  ])('refuses to write a malformed field from %o', (bad, Kind, message) => {
    expect(() => rateLimitHeaders(bad)).toThrow(Kind);
    expect(() => rateLimitHeaders(bad)).toThrow(message);
  });

  it('refuses an empty list, as both fields must have a member', () => {
    expect(() => rateLimitHeaders([])).toThrow(
      new RangeError('expected at least one decision, got none'),
    );
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least 1', () => {
    expect([0, 1, 999, 1_000, 1_001].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2]);
  });
});
