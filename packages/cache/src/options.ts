import type { Clock } from '@bulwark/core';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { CacheListener } from './events.js';
import { MAX_LIFETIME_MS } from './freshness.js';
import type { HeaderRecord } from './headers.js';
import type { CacheRequest } from './origin.js';
import type { CacheStore } from './stores/store.js';

export type CacheableMethod = 'GET' | 'HEAD';

export interface HttpCacheOptions {
  /** `private` (default): one client's cache. `shared`: honours s-maxage, never stores `private`. */
  type?: 'private' | 'shared';
  /** Where entries live. Default: a `memoryStore()` of its own. */
  store?: CacheStore;
  /** Methods whose responses are cached. Default `['GET']`. */
  methods?: readonly CacheableMethod[];
  /**
   * A per-caller key part (a user or tenant id): callers with different partitions never share
   * an entry, nor a coalesced request.
   */
  partition?: (request: CacheRequest) => string | undefined;
  /**
   * Opt-in freshness, in ms, for responses with a heuristically cacheable status that state none
   * (no max-age, s-maxage or Expires). Off by default: such responses are then fresh only by the
   * Last-Modified heuristic.
   */
  defaultTtlMs?: number;
  /** Opt-in stale-if-error window, in ms, for responses that do not state one. Default 0 (off). */
  staleIfErrorMs?: number;
  /**
   * How long an entry stays in the store once stale, for requests that accept stale responses
   * (max-stale, a stale-if-error request directive). Default 10 minutes. A response's own
   * stale-while-revalidate / stale-if-error windows, and its validators, can keep it longer.
   */
  keepStaleMs?: number;
  /** Which origin responses count as failures for stale-if-error. Default: 5xx. */
  isFailureResponse?: (args: { status: number; headers: HeaderRecord }) => boolean;
  /**
   * Whether a failure response that states its own freshness (max-age, s-maxage in a shared
   * cache, Expires) is stored, as RFC 9111 §3 allows, when no stored response may stand in for
   * it. Default `true`; `false` never stores a failure response.
   */
  storeFailureResponses?: boolean;
  /** Bodies larger than this are not stored. Default 1 MiB. */
  maxEntryBytes?: number;
  /** Header sections larger than this are not stored. Default 32 KiB. */
  maxHeaderBytes?: number;
  /** The RFC 9211 Cache-Status member name, or `false` to add no Cache-Status field. */
  cacheStatus?: string | false;
  /** Told of hits, misses, stale responses served, revalidations, stores and store errors. */
  listener?: CacheListener;
  /** Names this cache in events. */
  name?: string;
  clock?: Clock;
}

const OPTION_NAMES: readonly string[] = [
  'type',
  'store',
  'methods',
  'partition',
  'defaultTtlMs',
  'staleIfErrorMs',
  'keepStaleMs',
  'isFailureResponse',
  'storeFailureResponses',
  'maxEntryBytes',
  'maxHeaderBytes',
  'cacheStatus',
  'listener',
  'name',
  'clock',
];

/** Checks the options of `httpCache()`, throwing TypeError or RangeError naming what is wrong. */
export function validateOptions(options: HttpCacheOptions): void {
  checkOptionsObject('httpCache', options);
  checkKnownOptions('httpCache', options, OPTION_NAMES);
  if (options.type !== undefined) checkOneOf('type', options.type, ['private', 'shared']);
  if (options.store !== undefined) {
    const store = options.store as Partial<CacheStore> | null;
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof store.get !== 'function' ||
      typeof store.set !== 'function' ||
      typeof store.delete !== 'function'
    ) {
      throw new TypeError(
        `expected store to be a CacheStore with get(), set() and delete(), got ${describeValue(options.store)}`,
      );
    }
  }
  if (options.methods !== undefined) {
    if (!Array.isArray(options.methods) || options.methods.length === 0) {
      throw new TypeError(
        `expected methods to be a non-empty array of "GET", "HEAD", got ${describeValue(options.methods)}`,
      );
    }
    for (const method of options.methods) checkOneOf('methods[]', method, ['GET', 'HEAD']);
  }
  if (options.partition !== undefined) checkFunction('partition', options.partition);
  if (options.defaultTtlMs !== undefined) {
    checkInteger('defaultTtlMs', options.defaultTtlMs, 1, MAX_LIFETIME_MS);
  }
  if (options.staleIfErrorMs !== undefined) {
    checkInteger('staleIfErrorMs', options.staleIfErrorMs, 0, MAX_LIFETIME_MS);
  }
  if (options.keepStaleMs !== undefined) {
    checkInteger('keepStaleMs', options.keepStaleMs, 0, MAX_LIFETIME_MS);
  }
  if (options.isFailureResponse !== undefined) {
    checkFunction('isFailureResponse', options.isFailureResponse);
  }
  if (options.storeFailureResponses !== undefined) {
    checkBoolean('storeFailureResponses', options.storeFailureResponses);
  }
  if (options.maxEntryBytes !== undefined) checkInteger('maxEntryBytes', options.maxEntryBytes, 0);
  if (options.maxHeaderBytes !== undefined) {
    checkInteger('maxHeaderBytes', options.maxHeaderBytes, 256);
  }
  if (options.cacheStatus !== undefined && options.cacheStatus !== false) {
    checkString('cacheStatus', options.cacheStatus, 64);
    if (!/^[A-Za-z*][A-Za-z0-9_\-.:%*/]*$/.test(options.cacheStatus)) {
      throw new RangeError(
        `expected cacheStatus to be a structured-field token, got ${describeValue(options.cacheStatus)}`,
      );
    }
  }
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (options.name !== undefined) checkString('name', options.name);
}
