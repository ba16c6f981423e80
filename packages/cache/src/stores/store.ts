/**
 * The one small interface every store implements. A store may answer synchronously (the memory
 * store does, so a fresh hit costs no extra promise turn) or with a promise (Redis).
 *
 * A store may throw or reject: the cache treats a failed `get` as a miss and a failed `set` or
 * `delete` as a lost write, reports a `cache-store-error` event, and never fails the caller.
 */
export interface CacheStore {
  get(key: string): StoredRecord | undefined | Promise<StoredRecord | undefined>;
  /** Stores `record` for `ttlMs` milliseconds (an integer >= 1); the store drops it afterwards. */
  set(key: string, record: StoredRecord, ttlMs: number): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** A stored response with everything a hit needs precomputed, so a hit parses nothing. */
export interface StoredResponse {
  readonly kind: 'response';
  readonly status: number;
  /**
   * The stored header fields: hop-by-hop fields and Age removed, and in a shared cache
   * Set-Cookie too (a private cache keeps it, its cookies joined with `, `).
   */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Wall-clock ms when the request that got this response was sent. */
  readonly requestTime: number;
  /** Wall-clock ms when the response was received. */
  readonly responseTime: number;
  /** RFC 9111 §4.2.3 corrected_initial_age, in ms. */
  readonly initialAgeMs: number;
  /** The freshness lifetime, in ms. */
  readonly freshnessMs: number;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** must-revalidate, or (in a shared cache) proxy-revalidate or s-maxage: never served stale. */
  readonly mustRevalidate: boolean;
  /** Unqualified no-cache: validated before every reuse. */
  readonly noCache: boolean;
  readonly immutable: boolean;
  /** A usable strong or weak entity tag, as received. */
  readonly etag: string | undefined;
  /** A valid Last-Modified date, as received. */
  readonly lastModified: string | undefined;
  /** For a response that varies: the variant key it was stored under. */
  readonly variant: string | undefined;
}

/** Stored under the primary key of a response that varies: where its variants live. */
export interface VaryMarker {
  readonly kind: 'vary';
  /** The request fields the response varies on, lowercase and sorted. */
  readonly names: readonly string[];
  /** Renewed when the marker is recreated, so variants from before an invalidation stay unreachable. */
  readonly id: string;
  /** Wall-clock ms after which no variant under this marker is still kept. */
  readonly expiresAt: number;
}

export type StoredRecord = StoredResponse | VaryMarker;
