import {
  type CacheStatus,
  type ForwardReason,
  appendCacheStatus,
  formatCacheStatus,
} from './cache-status.js';
import type { OriginReply } from './entry.js';
import { ageSeconds, parseAge } from './freshness.js';
import { type HeaderRecord, withoutHopByHop } from './headers.js';
import type { StoredResponse } from './stores/store.js';

const EMPTY_BODY = new Uint8Array(0);

/** What `handle()` resolves to. */
export interface CacheResult {
  readonly status: number;
  /**
   * Lowercase header fields. A response served from the store carries an `Age` field; every
   * response carries a `Cache-Status` member for this cache unless turned off.
   */
  readonly headers: HeaderRecord;
  /** The body. Served from the store, it is the stored bytes themselves: do not modify them. */
  readonly body: Uint8Array;
  readonly cacheStatus: CacheStatus;
  /** The response's age in seconds: from the store, its current age; from the origin, its Age field. */
  readonly age: number;
  /** For `stale-if-error`: the origin's error, or its 5xx status as a number. Otherwise undefined. */
  readonly failure: unknown;
}

/** How a request went to the origin: RFC 9211's `fwd`, `fwd-status`, `stored` and `collapsed`. */
export interface Forwarding {
  readonly reason: ForwardReason;
  /** The status the origin answered with, when it answered. */
  readonly status: number | undefined;
  /** The response was stored. */
  readonly stored: boolean;
  /** The request joined another one's origin request. */
  readonly collapsed: boolean;
}

/** What a {@link CacheResponse} is made of. */
export interface CacheResponseFields {
  readonly status: number;
  /** The response's own header fields, before the cache adds Age and Cache-Status. */
  readonly headers: Readonly<HeaderRecord>;
  readonly body: Uint8Array;
  readonly cacheStatus: CacheStatus;
  readonly age: number;
  /** True when the response comes from the store: it gets an Age field. */
  readonly fromStore: boolean;
  /** The Cache-Status member's name, or undefined when the field is turned off. */
  readonly cacheName: string | undefined;
  /** Seconds of freshness left, for a response from the store. */
  readonly ttl: number | undefined;
  /** How the request went to the origin; undefined when it did not. */
  readonly forwarding: Forwarding | undefined;
  readonly failure: unknown;
}

/**
 * A result whose header record is built on first read: a hit copies no headers unless the
 * caller looks at them.
 */
export class CacheResponse implements CacheResult {
  readonly status: number;
  readonly body: Uint8Array;
  readonly cacheStatus: CacheStatus;
  readonly age: number;
  readonly failure: unknown;
  private readonly base: Readonly<HeaderRecord>;
  private readonly fromStore: boolean;
  private readonly cacheName: string | undefined;
  private readonly ttl: number | undefined;
  private readonly forwarding: Forwarding | undefined;
  private built: HeaderRecord | undefined = undefined;

  constructor(fields: CacheResponseFields) {
    this.status = fields.status;
    this.body = fields.body;
    this.cacheStatus = fields.cacheStatus;
    this.age = fields.age;
    this.failure = fields.failure;
    this.base = fields.headers;
    this.fromStore = fields.fromStore;
    this.cacheName = fields.cacheName;
    this.ttl = fields.ttl;
    this.forwarding = fields.forwarding;
  }

  get headers(): HeaderRecord {
    return (this.built ??= this.buildHeaders());
  }

  /** The RFC 9211 member this cache adds, for example `bulwark; hit; ttl=42`. */
  get cacheStatusMember(): string {
    const forwarding = this.forwarding;
    return formatCacheStatus(this.cacheName ?? 'bulwark', {
      cacheStatus: this.cacheStatus,
      ttl: this.ttl,
      fwd: forwarding?.reason,
      fwdStatus: forwarding?.status,
      stored: forwarding?.stored ?? false,
      collapsed: forwarding?.collapsed ?? false,
    });
  }

  private buildHeaders(): HeaderRecord {
    // Not { ...this.base }: fields added to a spread copy are slow map transitions in V8
    // (benchmarks/RESULTS.md, "Design figures").
    const headers: HeaderRecord = Object.assign({}, this.base);
    if (this.fromStore) headers.age = String(this.age);
    if (this.cacheName !== undefined) {
      headers['cache-status'] = appendCacheStatus(headers['cache-status'], this.cacheStatusMember);
    }
    return headers;
  }
}

/** Makes one cache's results: it knows the name of the cache's Cache-Status member, and whether it is shared. */
export class CacheResults {
  constructor(
    /** The Cache-Status member's name, or undefined when the field is turned off. */
    private readonly cacheName: string | undefined,
    private readonly shared: boolean,
  ) {}

  /** The origin's response, as the caller gets it. */
  fromOrigin(reply: OriginReply, cacheStatus: CacheStatus, forwarding: Forwarding): CacheResponse {
    let headers = withoutHopByHop(reply.headers);
    // The cookies were set for the request that was sent, not for one that joined it.
    if (forwarding.collapsed && this.shared && headers['set-cookie'] !== undefined) {
      headers = Object.assign({}, headers);
      delete headers['set-cookie'];
    }
    return new CacheResponse({
      status: reply.status,
      headers,
      body: reply.body,
      cacheStatus,
      age: parseAge(reply.headers.age),
      fromStore: false,
      cacheName: this.cacheName,
      ttl: undefined,
      forwarding,
      failure: undefined,
    });
  }

  /** A stored response `ageMs` old; `forwarding` says how the origin was asked first, if it was. */
  fromStore(
    entry: StoredResponse,
    ageMs: number,
    cacheStatus: CacheStatus,
    forwarding: Forwarding | undefined = undefined,
    failure: unknown = undefined,
  ): CacheResponse {
    return new CacheResponse({
      status: entry.status,
      headers: entry.headers,
      body: entry.body,
      cacheStatus,
      age: ageSeconds(ageMs),
      fromStore: true,
      cacheName: this.cacheName,
      ttl: Math.floor((entry.freshnessMs - ageMs) / 1000),
      forwarding,
      failure,
    });
  }

  /** The 504 the cache makes for `only-if-cached` when nothing usable is stored. */
  onlyIfCachedMiss(): CacheResponse {
    return new CacheResponse({
      status: 504,
      headers: {},
      body: EMPTY_BODY,
      cacheStatus: 'only-if-cached-miss',
      age: 0,
      fromStore: false,
      cacheName: this.cacheName,
      ttl: undefined,
      forwarding: undefined,
      failure: undefined,
    });
  }
}
