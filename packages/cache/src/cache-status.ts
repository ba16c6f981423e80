/**
 * How the cache handled a request, as the `cacheStatus` attribute of a result and as an RFC 9211
 * `Cache-Status` field member.
 */
export type CacheStatus =
  /** A fresh stored response; the origin was not contacted. */
  | 'hit'
  /** The origin was asked and its response returned (stored or not). */
  | 'miss'
  /** A stored response was validated with a 304 and served. */
  | 'revalidated'
  /** A stale stored response was served because the request allowed it (`max-stale`). */
  | 'stale'
  /** The origin failed (5xx, error, open breaker, timeout); a stale stored response was served. */
  | 'stale-if-error'
  /** A stale stored response was served while one background request revalidates it. */
  | 'stale-while-revalidate'
  /** The request was not cacheable (method, conditional or range request): passed through. */
  | 'bypass'
  /** `only-if-cached` and nothing usable was stored: a 504 made by the cache. */
  | 'only-if-cached-miss';

/** RFC 9211 `fwd` reasons. */
export type ForwardReason = 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'method' | 'bypass';

export interface CacheStatusParts {
  readonly cacheStatus: CacheStatus;
  /** Seconds of freshness left (negative when stale); omitted for forwarded responses. */
  readonly ttl: number | undefined;
  readonly fwd: ForwardReason | undefined;
  /** The status the origin answered a forwarded request with. */
  readonly fwdStatus: number | undefined;
  readonly stored: boolean;
  readonly collapsed: boolean;
}

/** One RFC 9211 list member, for example `bulwark; hit; ttl=42`. */
export function formatCacheStatus(name: string, parts: CacheStatusParts): string {
  let member = name;
  if (parts.fwd === undefined && parts.cacheStatus !== 'only-if-cached-miss') member += '; hit';
  if (parts.fwd !== undefined) member += `; fwd=${parts.fwd}`;
  if (parts.fwdStatus !== undefined) member += `; fwd-status=${parts.fwdStatus}`;
  if (parts.ttl !== undefined) member += `; ttl=${parts.ttl}`;
  if (parts.stored) member += '; stored';
  if (parts.collapsed) member += '; collapsed';
  switch (parts.cacheStatus) {
    case 'stale':
    case 'stale-if-error':
    case 'stale-while-revalidate':
      member += `; detail=${parts.cacheStatus}`;
      break;
    case 'only-if-cached-miss':
      member += '; detail=only-if-cached';
      break;
    default:
      break;
  }
  return member;
}

/** Appends this cache's member after any the response already carries (RFC 9211 §2). */
export function appendCacheStatus(existing: string | undefined, member: string): string {
  return existing === undefined || existing.length === 0 ? member : `${existing}, ${member}`;
}
