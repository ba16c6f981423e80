import {
  type CacheStatus,
  type ForwardReason,
  appendCacheStatus,
  formatCacheStatus,
} from './cache-status.js';
import type { HeaderRecord } from './headers.js';

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

/**
 * A result whose header record is built on first read: a hit copies no headers unless the
 * caller looks at them.
 */
export class CacheResponse implements CacheResult {
  private built: HeaderRecord | undefined = undefined;

  constructor(
    readonly status: number,
    private readonly base: Readonly<HeaderRecord>,
    readonly body: Uint8Array,
    readonly cacheStatus: CacheStatus,
    readonly age: number,
    /** True when the response comes from the store: it gets an Age field. */
    private readonly fromStore: boolean,
    /** The Cache-Status member's name, or undefined when the field is turned off. */
    private readonly cacheName: string | undefined,
    private readonly ttl: number | undefined,
    private readonly fwd: ForwardReason | undefined,
    private readonly fwdStatus: number | undefined,
    private readonly stored: boolean,
    private readonly collapsed: boolean,
    readonly failure: unknown,
  ) {}

  get headers(): HeaderRecord {
    return (this.built ??= this.buildHeaders());
  }

  /** The RFC 9211 member this cache adds, for example `bulwark; hit; ttl=42`. */
  get cacheStatusMember(): string {
    return formatCacheStatus(this.cacheName ?? 'bulwark', {
      cacheStatus: this.cacheStatus,
      ttl: this.ttl,
      fwd: this.fwd,
      fwdStatus: this.fwdStatus,
      stored: this.stored,
      collapsed: this.collapsed,
    });
  }

  private buildHeaders(): HeaderRecord {
    // Not { ...this.base }: on Node 20, adding fields to a spread copy costs microseconds.
    const headers: HeaderRecord = Object.assign({}, this.base);
    if (this.fromStore) headers.age = String(this.age);
    if (this.cacheName !== undefined) {
      headers['cache-status'] = appendCacheStatus(headers['cache-status'], this.cacheStatusMember);
    }
    return headers;
  }
}
