import { type CacheDirectives, MAX_DELTA_SECONDS, parseDeltaSeconds } from './cache-control.js';
import type { HeaderRecord } from './headers.js';
import { parseHttpDate } from './http-date.js';
import type { StoredResponse } from './stores/store.js';

/** RFC 9111 §4.2.2: a typical heuristic is 10% of the time since Last-Modified. */
export const HEURISTIC_FRACTION = 0.1;
/** Heuristic freshness never exceeds a day, however old the resource (RFC 9111 §4.2.2's 24 hours). */
export const MAX_HEURISTIC_FRESHNESS_MS = 86_400_000;
/** The longest lifetime any response gets: 2^31 seconds (RFC 9111 §1.2.2). */
export const MAX_LIFETIME_MS = MAX_DELTA_SECONDS * 1000;
/** Status codes defined as heuristically cacheable (RFC 9110 §15.1). */
export const HEURISTICALLY_CACHEABLE_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501,
]);

/**
 * The Age field in seconds, or 0 when absent or malformed (a negative or non-numeric Age is
 * ignored, RFC 9111 §4.2.3: "0 if not available"). Several values (two caches each added one)
 * count as the largest: the conservative reading.
 */
export function parseAge(value: string | undefined): number {
  if (value === undefined) return 0;
  let age = 0;
  for (const part of value.split(',')) {
    const seconds = parseDeltaSeconds(part.trim());
    if (seconds !== undefined && seconds > age) age = seconds;
  }
  return age;
}

/** RFC 9111 §4.2.3 corrected_initial_age, in ms. */
export function initialAgeMs(
  headers: HeaderRecord,
  requestTime: number,
  responseTime: number,
): number {
  const date = parseHttpDate(headers.date, responseTime) ?? responseTime;
  const apparentAge = Math.max(0, responseTime - date);
  const responseDelay = Math.max(0, responseTime - requestTime);
  const correctedAgeValue = parseAge(headers.age) * 1000 + responseDelay;
  return Math.min(Math.max(apparentAge, correctedAgeValue), MAX_LIFETIME_MS);
}

export type FreshnessSource =
  's-maxage' | 'max-age' | 'expires' | 'default-ttl' | 'heuristic' | 'invalid' | 'none';

export interface Freshness {
  readonly ms: number;
  readonly source: FreshnessSource;
}

export interface FreshnessInput {
  readonly status: number;
  readonly headers: HeaderRecord;
  readonly directives: CacheDirectives;
  readonly shared: boolean;
  readonly responseTime: number;
  /** A lifetime the caller opted into for responses that state none. */
  readonly defaultTtlMs: number | undefined;
}

function clamp(ms: number): number {
  return ms <= 0 ? 0 : ms > MAX_LIFETIME_MS ? MAX_LIFETIME_MS : ms;
}

/**
 * Whether a response states its own lifetime (RFC 9111 §4.2.1): max-age, s-maxage in a shared
 * cache, or Expires. Such a response may be stored whatever its status (RFC 9111 §3).
 */
export function hasExplicitFreshness(
  directives: CacheDirectives,
  headers: HeaderRecord,
  shared: boolean,
): boolean {
  return (
    directives.maxAge !== undefined ||
    (shared && directives.sMaxAge !== undefined) ||
    headers.expires !== undefined
  );
}

/** The freshness lifetime (RFC 9111 §4.2.1), in ms, and where it came from. */
export function freshnessLifetime(input: FreshnessInput): Freshness {
  const { directives, headers, shared, responseTime } = input;
  // Invalid freshness information makes the response stale (RFC 9111 §4.2.1); a private
  // cache ignores s-maxage (§5.2.2.10), a malformed one included.
  if (directives.invalidFreshness || (shared && directives.invalidSharedFreshness))
    return { ms: 0, source: 'invalid' };
  if (shared && directives.sMaxAge !== undefined) {
    return { ms: clamp(directives.sMaxAge * 1000), source: 's-maxage' };
  }
  if (directives.maxAge !== undefined) {
    return { ms: clamp(directives.maxAge * 1000), source: 'max-age' };
  }
  const date = parseHttpDate(headers.date, responseTime) ?? responseTime;
  if (headers.expires !== undefined) {
    // An invalid Expires, "0" above all, means already expired (RFC 9111 §5.3).
    const expires = parseHttpDate(headers.expires, responseTime);
    return { ms: expires === undefined ? 0 : clamp(expires - date), source: 'expires' };
  }
  if (!HEURISTICALLY_CACHEABLE_STATUSES.has(input.status)) return { ms: 0, source: 'none' };
  if (input.defaultTtlMs !== undefined) {
    return { ms: clamp(input.defaultTtlMs), source: 'default-ttl' };
  }
  const lastModified = parseHttpDate(headers['last-modified'], responseTime);
  if (lastModified !== undefined && lastModified < date) {
    const ms = (date - lastModified) * HEURISTIC_FRACTION;
    return { ms: Math.min(Math.floor(ms), MAX_HEURISTIC_FRESHNESS_MS), source: 'heuristic' };
  }
  return { ms: 0, source: 'none' };
}

/** RFC 9111 §4.2.3 current_age, in ms. A clock that went backwards adds no resident time. */
export function currentAgeMs(entry: StoredResponse, now: number): number {
  const resident = now - entry.responseTime;
  return resident > 0 ? entry.initialAgeMs + resident : entry.initialAgeMs;
}

/** An age in whole seconds, as the Age field carries it. */
export function ageSeconds(ageMs: number): number {
  const seconds = Math.floor(ageMs / 1000);
  return seconds > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : seconds;
}
