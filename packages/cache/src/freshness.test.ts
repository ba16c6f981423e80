import { describe, expect, it } from 'vitest';
import { parseCacheControl } from './cache-control.js';
import {
  MAX_HEURISTIC_FRESHNESS_MS,
  MAX_LIFETIME_MS,
  ageSeconds,
  freshnessLifetime,
  initialAgeMs,
  parseAge,
} from './freshness.js';
import { formatHttpDate } from './http-date.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function lifetime(
  cacheControl: string | undefined,
  headers: Record<string, string> = {},
  options: { status?: number; shared?: boolean; defaultTtlMs?: number } = {},
) {
  return freshnessLifetime({
    status: options.status ?? 200,
    headers: { date: formatHttpDate(NOW), ...headers },
    directives: parseCacheControl(cacheControl),
    shared: options.shared ?? false,
    responseTime: NOW,
    defaultTtlMs: options.defaultTtlMs,
  });
}

describe('parseAge', () => {
  it('reads delta-seconds', () => {
    expect(parseAge('42')).toBe(42);
  });

  it('ignores a negative or non-numeric Age', () => {
    expect(parseAge('-5')).toBe(0);
    expect(parseAge('soon')).toBe(0);
    expect(parseAge('1.5')).toBe(0);
    expect(parseAge(undefined)).toBe(0);
  });

  it('takes the largest of several values, the conservative reading', () => {
    expect(parseAge('5, 30, 10')).toBe(30);
    expect(parseAge('-5, 10')).toBe(10);
  });

  it('clamps a huge Age to 2^31 seconds', () => {
    expect(parseAge('99999999999999999999')).toBe(2_147_483_648);
  });
});

describe('initialAgeMs (RFC 9111 §4.2.3)', () => {
  it('takes the apparent age from Date when it is larger', () => {
    const headers = { date: formatHttpDate(NOW - 10_000) };
    expect(initialAgeMs(headers, NOW, NOW)).toBe(10_000);
  });

  it('adds the response delay to the Age the origin sent', () => {
    const headers = { date: formatHttpDate(NOW), age: '5' };
    expect(initialAgeMs(headers, NOW - 2_000, NOW)).toBe(7_000);
  });

  it('never goes negative for a Date in the future', () => {
    expect(initialAgeMs({ date: formatHttpDate(NOW + 60_000) }, NOW, NOW)).toBe(0);
  });

  it('treats an invalid Date as the time of receipt', () => {
    expect(initialAgeMs({ date: 'yesterday' }, NOW, NOW)).toBe(0);
  });

  it('ignores a negative Age', () => {
    expect(initialAgeMs({ date: formatHttpDate(NOW), age: '-100' }, NOW, NOW)).toBe(0);
  });
});

describe('freshnessLifetime (RFC 9111 §4.2.1)', () => {
  it('uses max-age', () => {
    expect(lifetime('max-age=60')).toEqual({ ms: 60_000, source: 'max-age' });
  });

  it('prefers s-maxage in a shared cache and ignores it in a private one', () => {
    expect(lifetime('max-age=60, s-maxage=600', {}, { shared: true }).ms).toBe(600_000);
    expect(lifetime('max-age=60, s-maxage=600', {}, { shared: false }).ms).toBe(60_000);
  });

  it('ignores a malformed s-maxage in a private cache and goes stale on it in a shared one', () => {
    expect(lifetime('max-age=60, s-maxage=oops', {}, { shared: false })).toEqual({
      ms: 60_000,
      source: 'max-age',
    });
    expect(lifetime('max-age=60, s-maxage=oops', {}, { shared: true })).toEqual({
      ms: 0,
      source: 'invalid',
    });
  });

  it('prefers max-age over Expires', () => {
    expect(lifetime('max-age=60', { expires: formatHttpDate(NOW + DAY) }).ms).toBe(60_000);
  });

  it('measures Expires from Date', () => {
    const headers = { date: formatHttpDate(NOW - 5_000), expires: formatHttpDate(NOW + 55_000) };
    expect(lifetime(undefined, headers)).toEqual({ ms: 60_000, source: 'expires' });
  });

  it('reads an invalid Expires such as "0" as already expired', () => {
    expect(lifetime(undefined, { expires: '0' })).toEqual({ ms: 0, source: 'expires' });
    expect(lifetime(undefined, { expires: 'never' }).ms).toBe(0);
  });

  it('reads an Expires before Date as already expired', () => {
    expect(lifetime(undefined, { expires: formatHttpDate(NOW - 1_000) }).ms).toBe(0);
  });

  it('makes a response with a malformed max-age stale rather than falling back to Expires', () => {
    expect(lifetime('max-age=abc', { expires: formatHttpDate(NOW + DAY) })).toEqual({
      ms: 0,
      source: 'invalid',
    });
  });

  it('gives a heuristic lifetime of 10% of the time since Last-Modified', () => {
    const headers = { 'last-modified': formatHttpDate(NOW - 10 * 3_600_000) };
    expect(lifetime(undefined, headers)).toEqual({ ms: 3_600_000, source: 'heuristic' });
  });

  it('caps the heuristic lifetime at a day', () => {
    const headers = { 'last-modified': formatHttpDate(NOW - 365 * DAY) };
    expect(lifetime(undefined, headers).ms).toBe(MAX_HEURISTIC_FRESHNESS_MS);
  });

  it('gives no heuristic lifetime to a status that is not heuristically cacheable', () => {
    const headers = { 'last-modified': formatHttpDate(NOW - DAY) };
    expect(lifetime(undefined, headers, { status: 302 })).toEqual({ ms: 0, source: 'none' });
    expect(lifetime(undefined, headers, { status: 500 }).ms).toBe(0);
    expect(lifetime(undefined, headers, { status: 404 }).source).toBe('heuristic');
  });

  it('gives no heuristic lifetime for a Last-Modified in the future', () => {
    expect(lifetime(undefined, { 'last-modified': formatHttpDate(NOW + DAY) }).ms).toBe(0);
  });

  it('applies an opted-in default TTL only when the response states no lifetime', () => {
    expect(lifetime(undefined, {}, { defaultTtlMs: 30_000 })).toEqual({
      ms: 30_000,
      source: 'default-ttl',
    });
    expect(lifetime('max-age=5', {}, { defaultTtlMs: 30_000 }).ms).toBe(5_000);
    expect(lifetime(undefined, {}, { defaultTtlMs: 30_000, status: 500 }).ms).toBe(0);
  });

  it('gives nothing to a response without any freshness information', () => {
    expect(lifetime(undefined)).toEqual({ ms: 0, source: 'none' });
  });

  it('clamps a huge max-age to 2^31 seconds, a finite number of ms', () => {
    const { ms } = lifetime(`max-age=${'9'.repeat(30)}`);
    expect(ms).toBe(MAX_LIFETIME_MS);
    expect(Number.isFinite(ms)).toBe(true);
  });
});

describe('ageSeconds', () => {
  it('rounds down to whole seconds and clamps', () => {
    expect(ageSeconds(1_999)).toBe(1);
    expect(ageSeconds(MAX_LIFETIME_MS * 10)).toBe(2_147_483_648);
  });
});
