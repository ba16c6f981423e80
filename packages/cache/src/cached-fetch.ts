import type { CacheStatus } from './cache-status.js';
import type { HttpCache } from './http-cache.js';
import { type HeaderRecord, splitSetCookie } from './headers.js';

/** Anything shaped like `fetch`: the global one, undici's, or a test double. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** A `Response` that also says how the cache handled it. */
export type CachedResponse = Response & {
  readonly cacheStatus: CacheStatus;
  /** The response's age in seconds (see `CacheResult.age`). */
  readonly age: number;
};

export type CachedFetch = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<CachedResponse>;

// A Response cannot be built with a body for these (Fetch standard, "null body status").
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

function requestHeaders(input: string | URL | Request, init: RequestInit): HeaderRecord {
  const out: HeaderRecord = {};
  if (input instanceof Request) input.headers.forEach((value, name) => (out[name] = value));
  if (init.headers !== undefined) {
    new Headers(init.headers).forEach((value, name) => (out[name] = value));
  }
  return out;
}

/**
 * `fetch` with the cache in front: same arguments, and the `Response` carries `cacheStatus`
 * and `age`. Bodies are read whole (the cache stores bytes), so use it for API calls, not for
 * streaming downloads.
 *
 * @example
 * const cache = httpCache();
 * const fetchCached = cachedFetch(cache, fetch);
 * const res = await fetchCached('https://api.example.com/users/1');
 * console.log(res.cacheStatus, await res.json());
 */
export function cachedFetch(cache: HttpCache, fetchLike: FetchLike = fetch): CachedFetch {
  if (typeof fetchLike !== 'function') {
    throw new TypeError('expected fetchLike to be a function such as fetch');
  }
  return async (input, init = {}) => {
    const isRequest = input instanceof Request;
    const url = isRequest ? input.url : String(input);
    const method = (init.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
    const requestFields = requestHeaders(input, init);
    const signal = init.signal ?? (isRequest ? input.signal : undefined) ?? undefined;
    // The cookies of the response this caller's own request received, exactly as they came.
    let cookies: string[] | undefined;
    const result = await cache.handle(
      { method, url, headers: requestFields },
      async (request) => {
        const response = await fetchLike(request.url, {
          ...init,
          // A Request's body is only sent when the cache forwards the request unchanged.
          body: init.body ?? (isRequest ? input.body : undefined),
          ...(isRequest && input.body !== null && init.body === undefined
            ? { duplex: 'half' }
            : {}),
          method: request.method,
          headers: request.headers,
          signal: request.signal ?? null,
        });
        const body = new Uint8Array(await response.arrayBuffer());
        cookies = response.headers.getSetCookie();
        return { status: response.status, headers: response.headers, body };
      },
      { signal },
    );
    const nullBody = NULL_BODY_STATUSES.has(result.status) || method === 'HEAD';
    const headers = new Headers(result.headers);
    headers.delete('set-cookie');
    const own = result.cacheStatus === 'miss' || result.cacheStatus === 'bypass';
    if (!own || cookies === undefined) {
      // From the store (a private cache keeps Set-Cookie), or a joined request's response.
      const joined = result.headers['set-cookie'];
      cookies = joined === undefined ? undefined : splitSetCookie(joined);
    }
    if (cookies !== undefined) for (const cookie of cookies) headers.append('set-cookie', cookie);
    const response = new Response(nullBody ? null : result.body, {
      status: result.status,
      headers,
    });
    Object.defineProperties(response, {
      cacheStatus: { value: result.cacheStatus, enumerable: true },
      age: { value: result.age, enumerable: true },
    });
    return response as CachedResponse;
  };
}
