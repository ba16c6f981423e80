import { describe, expect, it } from 'vitest';
import {
  DO_NOT_RETRY,
  delayFromHeaders,
  parseGrpcPushback,
  parseHttpDate,
  parseRateLimitReset,
  parseRetryAfter,
  parseXRateLimitReset,
} from './retry-after.js';

// Thu, 01 Jan 2026 00:00:00 GMT
const NOW = Date.UTC(2026, 0, 1);

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('  120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter('007', NOW)).toBe(7000);
  });

  it('reads an IMF-fixdate relative to dateNow', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW + 10_500)).toBe(19_500);
  });

  it('reads the obsolete RFC 850 and asctime date formats', () => {
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:05 2026', NOW)).toBe(5000);
    expect(parseRetryAfter('Thu Jan 15 00:00:00 2026', NOW)).toBe(14 * 86_400_000);
  });

  it('gives 0 for a date in the past: the server is ready now', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', NOW)).toBe(0);
  });

  it.each([
    ['garbage', 'soon'],
    ['a negative number', '-5'],
    ['a fraction', '1.5'],
    ['an exponent', '1e3'],
    ['a sign', '+5'],
    ['hex', '0x10'],
    ['two values joined by Headers.get()', '120, 120'],
    ['an empty value', ''],
    ['blank', '   '],
    ['more than a year', String(366 * 86_400)],
    ['an absurdly large number', '99999999999999999999'],
    ['a value longer than 64 characters', '1'.padStart(65, '0')],
    ['a date with a lowercase zone', 'Thu, 01 Jan 2026 00:00:30 gmt'],
    ['a date in another zone', 'Thu, 01 Jan 2026 00:00:30 +0000'],
    ['an ISO date', '2026-01-01T00:00:30Z'],
    ['February 30th', 'Mon, 30 Feb 2026 00:00:00 GMT'],
    ['hour 24', 'Thu, 01 Jan 2026 24:00:00 GMT'],
    ['a date more than a year ahead', 'Sat, 01 Jan 2028 00:00:00 GMT'],
  ])('ignores %s', (_label, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  it('puts a two-digit RFC 850 year more than 50 years ahead in the past century', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(
      Date.UTC(1994, 10, 6, 8, 49, 37),
    );
    expect(parseHttpDate('Friday, 01-Jan-60 00:00:00 GMT', NOW)).toBe(Date.UTC(2060, 0, 1));
  });

  it('accepts a leap second', () => {
    expect(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT', NOW)).toBe(NOW);
  });
});

describe('parseRateLimitReset', () => {
  it('reads delta-seconds and rejects everything else', () => {
    expect(parseRateLimitReset('30')).toBe(30_000);
    expect(parseRateLimitReset('1.5')).toBeUndefined();
    expect(parseRateLimitReset('-1')).toBeUndefined();
    expect(parseRateLimitReset('Thu, 01 Jan 2026 00:00:30 GMT')).toBeUndefined();
  });
});

describe('parseXRateLimitReset', () => {
  it('reads small values as delta-seconds, fractions included', () => {
    expect(parseXRateLimitReset('30', NOW)).toBe(30_000);
    expect(parseXRateLimitReset('1.25', NOW)).toBe(1250);
  });

  it('reads an epoch timestamp in seconds relative to dateNow', () => {
    expect(parseXRateLimitReset(String(NOW / 1000 + 45), NOW)).toBe(45_000);
    expect(parseXRateLimitReset(`${NOW / 1000 + 2}.5`, NOW)).toBe(2500);
  });

  it('gives 0 for an epoch timestamp in the past', () => {
    expect(parseXRateLimitReset(String(NOW / 1000 - 60), NOW)).toBe(0);
  });

  it('ignores values that are neither a plausible delay nor a plausible timestamp', () => {
    expect(parseXRateLimitReset('500000000', NOW)).toBeUndefined();
    expect(parseXRateLimitReset(String(NOW), NOW)).toBeUndefined(); // epoch milliseconds
    expect(parseXRateLimitReset('-5', NOW)).toBeUndefined();
    expect(parseXRateLimitReset('soon', NOW)).toBeUndefined();
  });
});

describe('parseGrpcPushback', () => {
  it('reads milliseconds', () => {
    expect(parseGrpcPushback('1500')).toBe(1500);
    expect(parseGrpcPushback('0')).toBe(0);
  });

  it('reads a negative value as "do not retry", as the gRPC spec says', () => {
    expect(parseGrpcPushback('-1')).toBe(DO_NOT_RETRY);
    expect(parseGrpcPushback('-250')).toBe(DO_NOT_RETRY);
  });

  it('ignores malformed values', () => {
    expect(parseGrpcPushback('1.5')).toBeUndefined();
    expect(parseGrpcPushback('later')).toBeUndefined();
    expect(parseGrpcPushback(String(400 * 86_400_000))).toBeUndefined();
  });
});

describe('delayFromHeaders', () => {
  it('reads a fetch Headers object', () => {
    expect(delayFromHeaders(new Headers({ 'Retry-After': '3' }), NOW)).toBe(3000);
  });

  it('reads a plain record case-insensitively', () => {
    expect(delayFromHeaders({ 'retry-after': '3' }, NOW)).toBe(3000);
    expect(delayFromHeaders({ 'Retry-After': '4' }, NOW)).toBe(4000);
    expect(delayFromHeaders({ 'RETRY-AFTER': '5' }, NOW)).toBe(5000);
  });

  it('reads string[] values that agree, and ignores ones that conflict', () => {
    expect(delayFromHeaders({ 'retry-after': ['6'] }, NOW)).toBe(6000);
    expect(delayFromHeaders({ 'retry-after': ['6', '6'] }, NOW)).toBe(6000);
    expect(delayFromHeaders({ 'retry-after': ['6', '60'] }, NOW)).toBeUndefined();
    expect(delayFromHeaders({ 'retry-after': [] }, NOW)).toBeUndefined();
  });

  it('reads a get() that returns arrays, as gRPC Metadata does', () => {
    const metadata = { get: (name: string) => (name === 'grpc-retry-pushback-ms' ? ['800'] : []) };
    expect(delayFromHeaders(metadata, NOW)).toBe(800);
  });

  it('returns DO_NOT_RETRY for a negative grpc-retry-pushback-ms', () => {
    expect(delayFromHeaders({ 'grpc-retry-pushback-ms': '-1' }, NOW)).toBe(DO_NOT_RETRY);
  });

  it('prefers grpc-retry-pushback-ms, then Retry-After, then RateLimit-Reset, then X-RateLimit-Reset', () => {
    const all = {
      'grpc-retry-pushback-ms': '100',
      'retry-after': '2',
      'ratelimit-reset': '3',
      'x-ratelimit-reset': '4',
    };
    expect(delayFromHeaders(all, NOW)).toBe(100);
    const { 'grpc-retry-pushback-ms': _g, ...http } = all;
    expect(delayFromHeaders(http, NOW)).toBe(2000);
    const { 'retry-after': _r, ...resets } = http;
    expect(delayFromHeaders(resets, NOW)).toBe(3000);
    expect(delayFromHeaders({ 'x-ratelimit-reset': '4' }, NOW)).toBe(4000);
  });

  it('skips a malformed header and uses the next one', () => {
    expect(delayFromHeaders({ 'retry-after': 'soon', 'ratelimit-reset': '3' }, NOW)).toBe(3000);
    expect(delayFromHeaders({ 'grpc-retry-pushback-ms': 'x', 'retry-after': '2' }, NOW)).toBe(2000);
  });

  it('uses a reset header only when its quota is spent or not reported', () => {
    expect(
      delayFromHeaders({ 'x-ratelimit-reset': '40', 'x-ratelimit-remaining': '4999' }, NOW),
    ).toBeUndefined();
    expect(delayFromHeaders({ 'x-ratelimit-reset': '40', 'x-ratelimit-remaining': '0' }, NOW)).toBe(
      40_000,
    );
    expect(delayFromHeaders({ 'ratelimit-reset': '9', 'ratelimit-remaining': '12' }, NOW)).toBe(
      undefined,
    );
    expect(delayFromHeaders({ 'ratelimit-reset': '9', 'ratelimit-remaining': '0' }, NOW)).toBe(
      9000,
    );
  });

  it('returns undefined when there is no hint at all', () => {
    expect(delayFromHeaders({}, NOW)).toBeUndefined();
    expect(delayFromHeaders(new Headers({ 'content-type': 'text/plain' }), NOW)).toBeUndefined();
    expect(delayFromHeaders(null as unknown as Headers, NOW)).toBeUndefined();
  });

  it('ignores header values that are not strings', () => {
    expect(delayFromHeaders({ 'retry-after': 5 as unknown as string }, NOW)).toBeUndefined();
  });
});
