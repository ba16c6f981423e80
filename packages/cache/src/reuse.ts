import type { CacheDirectives } from './cache-control.js';
import type { StoredResponse } from './stores/store.js';

/** What a stored response can do for a request (RFC 9111 §4.2, §5.2.1; RFC 5861). */
export const Verdict = {
  /** Fresh, and the request accepts it as it is: a hit. */
  Fresh: 0,
  /** Stale, but the request's max-stale accepts it. */
  StaleAllowed: 1,
  /** Stale, inside its stale-while-revalidate window. */
  StaleWhileRevalidate: 2,
  /** It must be validated with the origin (or replaced) first. */
  Validate: 3,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Can this entry, `ageMs` old, answer a request with these directives as it is? */
export function assess(entry: StoredResponse, ageMs: number, directives: CacheDirectives): Verdict {
  const fresh = entry.freshnessMs > ageMs;
  if (entry.noCache || directives.noCache) return Verdict.Validate;
  // RFC 8246: during its freshness an immutable response needs no reload-style validation.
  if (
    directives.maxAge !== undefined &&
    ageMs > directives.maxAge * 1000 &&
    !(fresh && entry.immutable)
  ) {
    return Verdict.Validate;
  }
  if (directives.minFresh !== undefined && entry.freshnessMs - ageMs < directives.minFresh * 1000) {
    return Verdict.Validate;
  }
  if (fresh) return Verdict.Fresh;
  // must-revalidate (and, shared, proxy-revalidate or s-maxage) forbids every stale use.
  if (entry.mustRevalidate) return Verdict.Validate;
  const staleness = ageMs - entry.freshnessMs;
  if (directives.maxStale !== undefined && staleness <= directives.maxStale * 1000)
    return Verdict.StaleAllowed;
  if (staleness <= entry.staleWhileRevalidateMs && entry.staleWhileRevalidateMs > 0) {
    return Verdict.StaleWhileRevalidate;
  }
  return Verdict.Validate;
}

/**
 * May this entry stand in for a failed origin? Its window is the widest of the response's
 * stale-if-error, the request's, and the cache's opt-in default; with no window at all, never.
 * must-revalidate and no-cache forbid it (RFC 9111 §4.2.4: no stale response against them).
 */
export function staleIfErrorAllowed(
  entry: StoredResponse,
  ageMs: number,
  directives: CacheDirectives,
  defaultWindowMs: number,
): boolean {
  if (entry.mustRevalidate || entry.noCache) return false;
  const window = Math.max(
    entry.staleIfErrorMs,
    (directives.staleIfError ?? 0) * 1000,
    defaultWindowMs,
  );
  return window > 0 && ageMs - entry.freshnessMs <= window;
}
