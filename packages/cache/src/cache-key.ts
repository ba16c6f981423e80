/**
 * Cache keys: the method, the normalised target URI and, when the cache is partitioned, the
 * caller's partition. The URL parser is the costliest step of a hit, so normalised URLs are
 * memoised in a small bounded map.
 */

/** Keys longer than this are not cached: the request passes through. */
export const MAX_KEY_LENGTH = 8_192;
/** How many distinct URLs the normaliser remembers before it starts over. */
export const URL_MEMO_SIZE = 2_048;

/** A normalised target URI, with the key of an unpartitioned GET for it built once. */
export interface Target {
  readonly url: string;
  readonly getKey: string;
}

export class UrlNormalizer {
  private readonly memo = new Map<string, Target | null>();

  /** The absolute http(s) URL without its fragment, or `undefined` when it is not one. */
  normalize(url: string): Target | undefined {
    const known = this.memo.get(url);
    if (known !== undefined) return known ?? undefined;
    const normalized = normalizeUrl(url);
    const target =
      normalized === undefined
        ? undefined
        : { url: normalized, getKey: cacheKey('GET', normalized, undefined) };
    if (this.memo.size >= URL_MEMO_SIZE) this.memo.clear();
    this.memo.set(url, target ?? null);
    return target;
  }
}

export function normalizeUrl(url: string, base?: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  parsed.hash = '';
  return parsed.href;
}

/**
 * The primary key of a request. The URL never holds a newline (the URL parser strips them), so
 * everything after the first one is the partition: two partitions can never collide.
 */
export function cacheKey(method: string, url: string, partition: string | undefined): string {
  return partition === undefined ? `${method} ${url}` : `${method} ${url}\n${partition}`;
}

/** The key of one variant of a response that varies on request fields. */
export function variantCacheKey(primary: string, markerId: string, variant: string): string {
  return `${primary}\0${markerId}\0${variant}`;
}

/** True when two absolute URLs share scheme, host and port (RFC 6454 origin). */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
