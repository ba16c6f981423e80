import { type CacheDirectives, parseCacheControl } from './cache-control.js';
import { parseEtag, strongMatch, weakMatch } from './etag.js';
import type { NotStoredReason } from './events.js';
import {
  HEURISTICALLY_CACHEABLE_STATUSES,
  MAX_LIFETIME_MS,
  freshnessLifetime,
  initialAgeMs,
} from './freshness.js';
import {
  type HeaderInput,
  type HeaderRecord,
  NOT_UPDATED_BY_304,
  headerBytes,
  headersToStore,
  unstoredFields,
} from './headers.js';
import { formatHttpDate, parseHttpDate } from './http-date.js';
import type { StoredResponse } from './stores/store.js';
import { type VaryNames, parseVary, variantKey } from './vary.js';

/** A stale entry that has a validator is kept at least this long, for a cheap 304 later. */
export const MIN_VALIDATOR_RETENTION_MS = 600_000;
/** ...and at most this long past its freshness. */
export const MAX_VALIDATOR_RETENTION_MS = 86_400_000;

/** Status codes never stored: partial content and 304 are not complete responses (RFC 9111 §3). */
const NEVER_STORED_STATUSES: ReadonlySet<number> = new Set([206, 304]);

/** A response as the cache sees it once normalised. */
export interface OriginReply {
  readonly status: number;
  readonly headers: HeaderRecord;
  readonly body: Uint8Array;
  readonly requestTime: number;
  readonly responseTime: number;
}

export interface StoragePolicy {
  readonly shared: boolean;
  readonly maxEntryBytes: number;
  readonly maxHeaderBytes: number;
  /** The opt-in default freshness for responses that state none (`undefined`: off). */
  readonly defaultTtlMs: number | undefined;
  /** The opt-in default stale-if-error window, in ms (0: off). */
  readonly staleIfErrorMs: number;
  /** How long a stale entry stays for requests that accept stale responses. */
  readonly keepStaleMs: number;
}

export interface RequestFacts {
  readonly directives: CacheDirectives;
  readonly authorization: boolean;
}

export type StorageDecision =
  | {
      readonly entry: StoredResponse;
      readonly ttlMs: number;
      readonly vary: VaryNames;
      readonly reason?: undefined;
    }
  | { readonly entry?: undefined; readonly reason: NotStoredReason; readonly vary: VaryNames };

/**
 * Whether a response may be reused for anyone else asking for the same key: the privacy rules
 * of RFC 9111 §3 and §3.5, without the rules about usefulness (freshness, size). Coalesced
 * requests share a response only when this allows it.
 */
export function privacyVerdict(
  reply: OriginReply,
  directives: CacheDirectives,
  request: RequestFacts,
  shared: boolean,
): NotStoredReason | undefined {
  if (directives.noStore) return 'no-store';
  if (shared && directives.private) return 'private';
  if (
    shared &&
    reply.headers['set-cookie'] !== undefined &&
    !directives.noCacheFields?.includes('set-cookie') &&
    !directives.privateFields?.includes('set-cookie')
  ) {
    return 'set-cookie';
  }
  // RFC 9111 §3.5: only an explicit statement lets a response to an authenticated request be reused.
  if (
    request.authorization &&
    !directives.public &&
    directives.sMaxAge === undefined &&
    !directives.mustRevalidate
  ) {
    return 'authorization';
  }
  const vary = parseVary(reply.headers.vary);
  if (vary.kind === 'wildcard') return 'vary-star';
  if (vary.kind === 'invalid') return 'invalid-vary';
  return undefined;
}

/** RFC 9111 §3: "explicitly cacheable" or a heuristically cacheable status. */
function understood(
  status: number,
  directives: CacheDirectives,
  headers: HeaderRecord,
  shared: boolean,
): boolean {
  if (status < 200 || status > 599 || NEVER_STORED_STATUSES.has(status)) return false;
  if (HEURISTICALLY_CACHEABLE_STATUSES.has(status)) return true;
  return (
    directives.public ||
    directives.maxAge !== undefined ||
    directives.invalidFreshness ||
    headers.expires !== undefined ||
    (!shared && directives.private) ||
    (shared && (directives.sMaxAge !== undefined || directives.invalidSharedFreshness))
  );
}

/** Body bytes held on their own: a view into a larger (pooled) buffer would pin all of it. */
function ownBytes(body: Uint8Array): Uint8Array {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) return body;
  // Not body.slice(): on a Buffer that is a view too.
  return new Uint8Array(body);
}

/**
 * Decides whether a response is stored, and builds the entry. `variant` is the variant key of
 * the request, for a response that varies.
 */
export function decideStorage(
  reply: OriginReply,
  request: RequestFacts,
  policy: StoragePolicy,
  requestHeaders: HeaderInput | undefined,
): StorageDecision {
  const directives = parseCacheControl(reply.headers['cache-control']);
  const vary = parseVary(reply.headers.vary);
  if (request.directives.noStore) return { reason: 'request-no-store', vary };
  if (!understood(reply.status, directives, reply.headers, policy.shared)) {
    return { reason: 'status', vary };
  }
  const privacy = privacyVerdict(reply, directives, request, policy.shared);
  if (privacy !== undefined) return { reason: privacy, vary };
  if (reply.body.byteLength > policy.maxEntryBytes) return { reason: 'too-large', vary };
  const variant = vary.kind === 'names' ? variantKey(vary.names, requestHeaders) : undefined;
  const entry = buildEntry(reply, directives, policy, variant);
  if (entry === undefined) return { reason: 'invalid-headers', vary };
  const ttlMs = retentionMs(entry, policy);
  if (ttlMs <= 0) return { reason: 'not-reusable', vary };
  return { entry, ttlMs, vary };
}

function buildEntry(
  reply: OriginReply,
  directives: CacheDirectives,
  policy: StoragePolicy,
  variant: string | undefined,
): StoredResponse | undefined {
  const strip = policy.shared
    ? concat(directives.noCacheFields, directives.privateFields)
    : directives.noCacheFields;
  const headers = headersToStore(
    reply.headers,
    unstoredFields(policy.shared),
    strip,
    policy.maxHeaderBytes,
  );
  if (headers === undefined) return undefined;
  // RFC 9110 §6.6.1: a cache records when a response without Date was received.
  if (headers.date === undefined) headers.date = formatHttpDate(reply.responseTime);
  const freshness = freshnessLifetime({
    status: reply.status,
    headers,
    directives,
    shared: policy.shared,
    responseTime: reply.responseTime,
    defaultTtlMs: policy.defaultTtlMs,
  });
  const etag = parseEtag(headers.etag) !== undefined ? headers.etag!.trim() : undefined;
  const lastModified =
    parseHttpDate(headers['last-modified'], reply.responseTime) !== undefined
      ? headers['last-modified']
      : undefined;
  return {
    kind: 'response',
    status: reply.status,
    headers,
    body: ownBytes(reply.body),
    requestTime: reply.requestTime,
    responseTime: reply.responseTime,
    initialAgeMs: initialAgeMs(reply.headers, reply.requestTime, reply.responseTime),
    freshnessMs: freshness.ms,
    staleWhileRevalidateMs: (directives.staleWhileRevalidate ?? 0) * 1000,
    staleIfErrorMs: (directives.staleIfError ?? 0) * 1000,
    mustRevalidate:
      directives.mustRevalidate ||
      (policy.shared && (directives.proxyRevalidate || directives.sMaxAge !== undefined)),
    noCache: directives.noCache,
    immutable: directives.immutable,
    etag,
    lastModified,
    variant,
  };
}

function concat(
  a: readonly string[] | undefined,
  b: readonly string[] | undefined,
): readonly string[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return [...a, ...b];
}

/**
 * How long the store keeps an entry: while it is fresh, then as long as it can still be served
 * stale (stale-while-revalidate, stale-if-error, `keepStaleMs` for max-stale requests) or be
 * revalidated cheaply (it has a validator). 0 when it could never be reused at all.
 */
export function retentionMs(
  entry: StoredResponse,
  policy: Pick<StoragePolicy, 'staleIfErrorMs' | 'keepStaleMs'>,
): number {
  const remaining = entry.noCache ? 0 : Math.max(0, entry.freshnessMs - entry.initialAgeMs);
  const servableStale = !(entry.mustRevalidate || entry.noCache);
  const staleWindow = servableStale
    ? Math.max(entry.staleWhileRevalidateMs, entry.staleIfErrorMs, policy.staleIfErrorMs)
    : 0;
  const validatorWindow =
    entry.etag !== undefined || entry.lastModified !== undefined
      ? Math.min(
          Math.max(entry.freshnessMs, MIN_VALIDATOR_RETENTION_MS),
          MAX_VALIDATOR_RETENTION_MS,
        )
      : 0;
  if (remaining === 0 && staleWindow === 0 && validatorWindow === 0) return 0;
  const keep = Math.max(staleWindow, validatorWindow, servableStale ? policy.keepStaleMs : 0);
  return Math.min(Math.ceil(remaining + keep), MAX_LIFETIME_MS);
}

/**
 * Whether a 304 that answers the cache's own conditional request (made with this entry's
 * validators) may refresh the entry (RFC 9111 §4.3.4): its strong validator must match
 * strongly, a weak one weakly, and a Last-Modified must agree. A 304 with no validator at all
 * selects the entry: the request named this entry's validators and no other, so the 304 can
 * only be about it. RFC 9110 §15.4.5 obliges a server to repeat the ETag, but many servers and
 * CDNs do not, and refusing their 304s would turn every revalidation into a full download.
 */
export function notModifiedMatches(entry: StoredResponse, headers: HeaderRecord): boolean {
  const fresh = parseEtag(headers.etag);
  if (fresh !== undefined) {
    const stored = parseEtag(entry.etag);
    if (stored === undefined) return false;
    return fresh.weak ? weakMatch(fresh, stored) : strongMatch(fresh, stored);
  }
  const lastModified = headers['last-modified'];
  if (lastModified !== undefined) {
    if (entry.lastModified === undefined) return false;
    const date = parseHttpDate(lastModified);
    return date !== undefined && date === parseHttpDate(entry.lastModified);
  }
  return true;
}

/**
 * The stored response's headers updated with a 304's (RFC 9111 §3.2), as a new reply to store.
 * A shared cache leaves out the 304's Set-Cookie, which was meant for the one caller it answered.
 */
export function mergeNotModified(
  entry: StoredResponse,
  notModified: OriginReply,
  shared: boolean,
): OriginReply {
  const headers: HeaderRecord = Object.assign({}, entry.headers);
  // Without a Date of its own the 304 is dated now, not by the stored response.
  delete headers.date;
  const unstored = unstoredFields(shared);
  for (const name in notModified.headers) {
    if (unstored.has(name) || NOT_UPDATED_BY_304.has(name)) continue;
    headers[name] = notModified.headers[name]!;
  }
  // The Age of the 304 describes the refreshed response.
  if (notModified.headers.age !== undefined) headers.age = notModified.headers.age;
  return {
    status: entry.status,
    headers,
    body: entry.body,
    requestTime: notModified.requestTime,
    responseTime: notModified.responseTime,
  };
}

/** Bytes an entry holds, for memory accounting and the `cache-stored` event. */
export function entryBytes(entry: StoredResponse): number {
  return entry.body.byteLength + headerBytes(entry.headers);
}
