import { type Clock, systemClock } from '@bulwark/core';
import { checkInteger } from '@bulwark/core/internal';
import {
  type CacheDirectives,
  NO_DIRECTIVES,
  parseCacheControl,
  pragmaNoCache,
} from './cache-control.js';
import {
  MAX_KEY_LENGTH,
  UrlNormalizer,
  cacheKey,
  normalizeUrl,
  sameOrigin,
  variantCacheKey,
} from './cache-key.js';
import type { CacheStatus, ForwardReason } from './cache-status.js';
import { Call } from './call.js';
import {
  type OriginReply,
  type StorageDecision,
  type StoragePolicy,
  decideStorage,
  entryBytes,
  mergeNotModified,
  notModifiedMatches,
  privacyVerdict,
} from './entry.js';
import {
  type CacheEvent,
  type CacheListener,
  type CacheMissReason,
  type EventSubject,
  type StaleReason,
  emitCacheEvent,
} from './events.js';
import {
  MAX_LIFETIME_MS,
  ageSeconds,
  currentAgeMs,
  hasExplicitFreshness,
  initialAgeMs,
} from './freshness.js';
import {
  type HeaderRecord,
  type RequestHeaderInfo,
  readRequestHeaders,
  toHeaderRecord,
  unstoredFields,
} from './headers.js';
import { type CacheableMethod, type HttpCacheOptions, validateOptions } from './options.js';
import {
  type CacheRequest,
  type HandleOptions,
  type Origin,
  abortError,
  isInvalidStatus,
  raceSignal,
  toReply,
} from './origin.js';
import { type OriginOutcome, originFailure } from './origin-outcome.js';
import { type CacheResponse, type CacheResult, CacheResults, type Forwarding } from './result.js';
import { Verdict, assess, staleIfErrorAllowed } from './reuse.js';
import { memoryStore } from './stores/memory.js';
import type { CacheStore, StoredRecord, StoredResponse, VaryMarker } from './stores/store.js';
import { variantKey } from './vary.js';

/** Methods whose responses can be cached; GET unless told otherwise. */
export const DEFAULT_METHODS: readonly CacheableMethod[] = ['GET'];
/** Bodies larger than this are not stored: 1 MiB. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
/** Header sections larger than this are not stored: 32 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 32 * 1024;
/** How long a stale entry stays for requests that accept stale responses: 10 minutes. */
export const DEFAULT_KEEP_STALE_MS = 600_000;
/** The RFC 9211 Cache-Status member name. */
export const DEFAULT_CACHE_NAME = 'bulwark';
/** Safe methods (RFC 9110 §9.2.1): they never invalidate. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** A request that keeps finding the request it joined cancelled by its own caller stops joining. */
const MAX_JOINS = 3;
/** URLs whose invalidation is remembered, for entries of other partitions. */
const MAX_REMEMBERED_INVALIDATIONS = 10_000;

const NO_OPTIONS: HandleOptions = {};
const PRAGMA_NO_CACHE: CacheDirectives = { ...NO_DIRECTIVES, noCache: true };

/** A store read: the record, `undefined` for none, or `null` when the store failed. */
type StoreRead = StoredRecord | undefined | null;

/** What the lookup found: a stored response, or why there is none. */
type Lookup =
  | { readonly entry: StoredResponse; readonly missReason: undefined }
  | { readonly entry: undefined; readonly missReason: CacheMissReason };

const URI_MISS: Lookup = Object.freeze({ entry: undefined, missReason: 'uri-miss' as const });
const VARY_MISS: Lookup = Object.freeze({ entry: undefined, missReason: 'vary-miss' as const });
const STORE_ERROR: Lookup = Object.freeze({ entry: undefined, missReason: 'store-error' as const });

function defaultIsFailureResponse(args: { status: number }): boolean {
  return args.status >= 500;
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * The method in upper case. `toUpperCase()` makes a new string even when nothing changes, so the
 * spellings callers send skip it (measured: benchmarks/RESULTS.md, "Design figures").
 */
function upperMethod(method: string): string {
  return method === 'GET' || method === 'HEAD' || method === 'POST' ? method : method.toUpperCase();
}

/** Fails a call whose signal has aborted already, or whose `defaultTtlMs` is out of range. */
function checkHandleOptions(options: HandleOptions): void {
  const signal = options.signal;
  if (signal !== undefined && signal.aborted) throw abortError(signal);
  if (options.defaultTtlMs !== undefined) {
    checkInteger('defaultTtlMs', options.defaultTtlMs, 1, MAX_LIFETIME_MS);
  }
}

/** The request's directives: its Cache-Control, else `Pragma: no-cache` as `no-cache` (RFC 9111 §5.4). */
function requestDirectives(info: Readonly<RequestHeaderInfo>): CacheDirectives {
  if (info.cacheControl !== undefined) return parseCacheControl(info.cacheControl);
  return pragmaNoCache(info.pragma) ? PRAGMA_NO_CACHE : NO_DIRECTIVES;
}

function without(headers: HeaderRecord, unstored: ReadonlySet<string>): HeaderRecord {
  const out: HeaderRecord = {};
  for (const name in headers) if (!unstored.has(name)) out[name] = headers[name]!;
  return out;
}

/**
 * An RFC 9111 HTTP cache in front of any origin function. Transport-neutral: `handle()` takes
 * a request and a function that performs it, so the same cache serves `fetch`, undici or
 * `@bulwark/http-client`.
 */
export class HttpCache {
  readonly type: 'private' | 'shared';
  readonly store: CacheStore;
  private readonly methods: ReadonlySet<string>;
  private readonly partition: ((request: CacheRequest) => string | undefined) | undefined;
  private readonly policy: StoragePolicy;
  private readonly isFailureResponse: (args: { status: number; headers: HeaderRecord }) => boolean;
  private readonly storeFailures: boolean;
  private readonly results: CacheResults;
  private readonly listener: CacheListener | undefined;
  private readonly name: string | undefined;
  private readonly clock: Clock;
  private readonly urls = new UrlNormalizer();
  private readonly flights = new Map<string, Promise<OriginOutcome>>();
  /**
   * URL -> wall-clock ms of its last invalidation. Entries of other partitions cannot be found by
   * key, so a partitioned entry whose request was sent no later than this is treated as gone.
   */
  private readonly invalidatedAt = new Map<string, number>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly markerPrefix = Math.random().toString(36).slice(2, 10);
  private markerSeq = 0;

  constructor(options: HttpCacheOptions) {
    this.type = options.type ?? 'private';
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? memoryStore({ clock: this.clock });
    this.methods = new Set(options.methods ?? DEFAULT_METHODS);
    this.partition = options.partition;
    this.policy = {
      shared: this.type === 'shared',
      maxEntryBytes: options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
      maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
      defaultTtlMs: options.defaultTtlMs,
      staleIfErrorMs: options.staleIfErrorMs ?? 0,
      keepStaleMs: options.keepStaleMs ?? DEFAULT_KEEP_STALE_MS,
    };
    this.isFailureResponse = options.isFailureResponse ?? defaultIsFailureResponse;
    this.storeFailures = options.storeFailureResponses ?? true;
    this.results = new CacheResults(
      options.cacheStatus === false ? undefined : (options.cacheStatus ?? DEFAULT_CACHE_NAME),
      this.policy.shared,
    );
    this.listener = options.listener;
    this.name = options.name;
  }

  /**
   * Answers a request from the store when RFC 9111 allows, else through `origin` (once for all
   * concurrent misses of one key), storing what may be stored. Never fails because of the store;
   * fails only when the origin fails and no stale response may stand in for it.
   */
  async handle(
    request: CacheRequest,
    origin: Origin,
    options: HandleOptions = NO_OPTIONS,
  ): Promise<CacheResult> {
    checkHandleOptions(options);
    const call = this.route(request, origin, options);
    if (!(call instanceof Call)) return call;
    let lookup = this.lookupEntry(call);
    if (isPromiseLike(lookup)) lookup = await lookup;
    const { entry, missReason } = lookup;
    return entry === undefined ? this.miss(call, missReason) : this.answer(call, entry);
  }

  /**
   * Drops the stored responses for `url`: every cached method, in every partition (those of the
   * given partition and of none at once; other partitions' entries are refused when next found).
   */
  async invalidate(url: string, options: { partition?: string } = {}): Promise<void> {
    const normalized = normalizeUrl(url);
    if (normalized === undefined) return;
    await this.dropUrl(normalized, options.partition);
  }

  /** Resolves when background revalidations and store writes started so far have finished. */
  async whenIdle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /**
   * The call to look up, or, for a request the cache does not handle, the origin's answer to it:
   * a method not cached (an unsafe one invalidates what it changed), a URL that is not http(s),
   * a conditional or range request, a key too long to store.
   */
  private route(
    request: CacheRequest,
    origin: Origin,
    options: HandleOptions,
  ): Call | Promise<CacheResult> {
    const method = upperMethod(request.method);
    const info = readRequestHeaders(request.headers);
    const target = this.urls.normalize(request.url);
    const url = target?.url;
    if (!this.methods.has(method)) {
      if (SAFE_METHODS.has(method) || url === undefined) {
        return this.passThrough(request, origin, options, method, 'method');
      }
      return this.forwardUnsafe(request, origin, options, method, url);
    }
    if (url === undefined || info.passThrough) {
      return this.passThrough(request, origin, options, method, 'bypass');
    }
    const partition = this.partition?.(request);
    const key =
      partition === undefined && method === 'GET'
        ? target!.getKey
        : cacheKey(method, url, partition);
    if (key.length > MAX_KEY_LENGTH) {
      return this.passThrough(request, origin, options, method, 'bypass');
    }
    const directives = requestDirectives(info);
    return new Call({ request, origin, options, method, url, key, partition, info, directives });
  }

  /**
   * The stored response for `call`, or why there is none. A response that varies takes two reads
   * (RFC 9111 §4.1): the primary key holds a Vary marker naming the request fields it varies on,
   * and the request's values of them lead to the variant's own key. Records in `call` what it
   * found (`marker`, `entryKey`). Asynchronous only when the store is.
   */
  private lookupEntry(call: Call): Lookup | Promise<Lookup> {
    const record = this.readRecord(call, call.key);
    return isPromiseLike(record)
      ? record.then((primary) => this.fromPrimaryKey(call, primary))
      : this.fromPrimaryKey(call, record);
  }

  private fromPrimaryKey(call: Call, record: StoreRead): Lookup | Promise<Lookup> {
    if (record === null) return STORE_ERROR;
    if (record === undefined) return URI_MISS;
    if (record.kind === 'response') {
      return record.variant === undefined ? this.foundEntry(call, record, call.key) : URI_MISS;
    }
    call.marker = record;
    const variant = variantKey(record.names, call.request.headers);
    const key = variantCacheKey(call.key, record.id, variant);
    const variantRecord = this.readRecord(call, key);
    return isPromiseLike(variantRecord)
      ? variantRecord.then((read) => this.fromVariantKey(call, read, variant, key))
      : this.fromVariantKey(call, variantRecord, variant, key);
  }

  private fromVariantKey(call: Call, record: StoreRead, variant: string, key: string): Lookup {
    if (record === null) return STORE_ERROR;
    if (record?.kind === 'response' && record.variant === variant) {
      return this.foundEntry(call, record, key);
    }
    return VARY_MISS;
  }

  /** The entry stored under `key`, unless another partition's request invalidated its URL since. */
  private foundEntry(call: Call, entry: StoredResponse, key: string): Lookup {
    if (call.partition !== undefined && this.invalidatedAt.size !== 0) {
      const at = this.invalidatedAt.get(call.url);
      if (at !== undefined && entry.requestTime <= at) {
        // Invalidated from another partition (RFC 9111 §4.4 covers every stored response).
        void this.deleteKey(key, call);
        return URI_MISS;
      }
    }
    call.entryKey = key;
    return { entry, missReason: undefined };
  }

  /** A store read: the record, `undefined` for none, or `null` when the store failed. */
  private readRecord(call: Call, key: string): StoreRead | Promise<StoreRead> {
    try {
      const got = this.store.get(key);
      if (!isPromiseLike(got)) return got;
      return got.then(
        (value) => value,
        (error: unknown) => {
          this.storeError(call, 'get', error);
          return null;
        },
      );
    } catch (error: unknown) {
      this.storeError(call, 'get', error);
      return null;
    }
  }

  /**
   * Serves a stored response when it may serve as it is (fresh, or stale as the request or
   * stale-while-revalidate allows); otherwise asks the origin, revalidating it when it can.
   */
  private answer(call: Call, entry: StoredResponse): CacheResult | Promise<CacheResult> {
    const directives = call.directives;
    const ageMs = currentAgeMs(entry, this.clock.dateNow());
    const verdict = assess(entry, ageMs, directives);
    if (verdict === Verdict.Fresh) {
      if (this.listener !== undefined) {
        this.emit(call, { type: 'cache-hit', ageSeconds: ageSeconds(ageMs) });
      }
      return this.results.fromStore(entry, ageMs, 'hit');
    }
    if (verdict === Verdict.StaleAllowed) {
      return this.serveStale(call, entry, ageMs, 'stale', 'max-stale');
    }
    if (verdict === Verdict.StaleWhileRevalidate && !directives.onlyIfCached) {
      this.revalidateInBackground(call, entry);
      return this.serveStale(
        call,
        entry,
        ageMs,
        'stale-while-revalidate',
        'stale-while-revalidate',
      );
    }
    if (directives.onlyIfCached) return this.results.onlyIfCachedMiss();
    const fresh = entry.freshnessMs > ageMs;
    return this.forward(call, entry, fresh ? 'request' : 'stale');
  }

  /** Nothing stored can answer: the origin does, unless the request allows only the store. */
  private miss(call: Call, reason: CacheMissReason): CacheResult | Promise<CacheResult> {
    if (call.directives.onlyIfCached) return this.results.onlyIfCachedMiss();
    return this.forward(call, undefined, reason);
  }

  private serveStale(
    call: Call,
    entry: StoredResponse,
    ageMs: number,
    cacheStatus: CacheStatus,
    reason: StaleReason,
  ): CacheResponse {
    if (this.listener !== undefined) {
      this.emit(call, {
        type: 'cache-stale-served',
        reason,
        ageSeconds: ageSeconds(ageMs),
        error: undefined,
      });
    }
    return this.results.fromStore(entry, ageMs, cacheStatus);
  }

  /** Forwards a request the cache does not handle, storing nothing. */
  private async passThrough(
    request: CacheRequest,
    origin: Origin,
    options: HandleOptions,
    method: string,
    forwardReason: ForwardReason,
  ): Promise<CacheResult> {
    const requestTime = this.clock.dateNow();
    const raw = await origin({
      method,
      url: request.url,
      headers: toHeaderRecord(request.headers),
      signal: options.signal,
    });
    const reply = toReply(raw, requestTime, this.clock.dateNow());
    return this.results.fromOrigin(reply, 'bypass', {
      reason: forwardReason,
      status: reply.status,
      stored: false,
      collapsed: false,
    });
  }

  /** Forwards an unsafe request and, when it succeeds, invalidates what it changed (RFC 9111 §4.4). */
  private async forwardUnsafe(
    request: CacheRequest,
    origin: Origin,
    options: HandleOptions,
    method: string,
    url: string,
  ): Promise<CacheResult> {
    const result = await this.passThrough(request, origin, options, method, 'method');
    if (result.status >= 200 && result.status < 400) {
      const partition = this.partition?.(request);
      const targets = new Set([url]);
      for (const field of ['location', 'content-location']) {
        const value = result.headers[field];
        if (value === undefined) continue;
        const target = normalizeUrl(value, url);
        // Only the same origin: a response must not evict another origin's entries (RFC 9111 §4.4).
        if (target !== undefined && sameOrigin(target, url)) targets.add(target);
      }
      for (const target of targets) {
        await this.dropUrl(target, partition, options.operation);
        if (this.listener !== undefined) {
          this.emit(
            { method, url: target, operation: options.operation },
            {
              type: 'cache-invalidated',
              cause: method,
            },
          );
        }
      }
    }
    return result;
  }

  private async dropUrl(
    url: string,
    partition: string | undefined,
    operation?: string,
  ): Promise<void> {
    const deletions: Array<Promise<void>> = [];
    const invalidated = this.invalidatedAt;
    invalidated.delete(url);
    invalidated.set(url, this.clock.dateNow());
    // Bounded: the oldest invalidation goes first. Forgetting one can only let an entry of
    // another partition, stored before it, be served until it expires.
    if (invalidated.size > MAX_REMEMBERED_INVALIDATIONS) {
      invalidated.delete(invalidated.keys().next().value!);
    }
    for (const method of this.methods) {
      const subject: EventSubject = { method, url, operation };
      deletions.push(this.deleteKey(cacheKey(method, url, partition), subject));
      if (partition !== undefined) {
        deletions.push(this.deleteKey(cacheKey(method, url, undefined), subject));
      }
    }
    await Promise.all(deletions);
  }

  private async deleteKey(key: string, subject: EventSubject): Promise<void> {
    try {
      await this.store.delete(key);
    } catch (error: unknown) {
      this.storeError(subject, 'delete', error);
    }
  }

  /**
   * Asks the origin, joining a request already in flight for the same key when there is one.
   * `entry` is the caller's stored response, if any, for revalidation and stale-if-error.
   */
  private async forward(
    call: Call,
    entry: StoredResponse | undefined,
    reason: CacheMissReason,
  ): Promise<CacheResult> {
    if (this.listener !== undefined) this.emit(call, { type: 'cache-miss', reason });
    const forwardReason: ForwardReason = reason === 'store-error' ? 'uri-miss' : reason;
    const signal = call.options.signal;
    const flightKey = call.flightKey;
    for (let joins = 0; ; joins++) {
      const inFlight = joins < MAX_JOINS ? this.flights.get(flightKey) : undefined;
      if (inFlight === undefined) {
        const outcome = await this.startFlight(call, entry, flightKey, signal);
        return this.toResult(call, entry, outcome, forwardReason, false);
      }
      if (this.listener !== undefined) this.emit(call, { type: 'cache-coalesced' });
      const outcome = await raceSignal(inFlight, signal);
      if (outcome.abortedByCaller) continue;
      if (!this.canShare(call, outcome)) {
        // The response is not for us (it varies, or is private to the leader): ask on our own.
        const own = await this.originOutcome(call, entry, signal);
        return this.toResult(call, entry, own, forwardReason, false);
      }
      return this.toResult(call, entry, outcome, forwardReason, true);
    }
  }

  private canShare(call: Call, outcome: OriginOutcome): boolean {
    if (outcome.kind === 'failure') return true;
    if (!outcome.shareable) return false;
    return (
      outcome.varyNames === undefined ||
      variantKey(outcome.varyNames, call.request.headers) === outcome.leaderVariant
    );
  }

  private startFlight(
    call: Call,
    entry: StoredResponse | undefined,
    flightKey: string,
    signal: AbortSignal | undefined,
  ): Promise<OriginOutcome> {
    const flight = this.originOutcome(call, entry, signal);
    if (!this.flights.has(flightKey)) {
      this.flights.set(flightKey, flight);
      void flight.then(() => {
        if (this.flights.get(flightKey) === flight) this.flights.delete(flightKey);
      });
    }
    return flight;
  }

  private revalidateInBackground(call: Call, entry: StoredResponse): void {
    const flightKey = call.flightKey;
    // Once per key: a revalidation (or a miss) already in flight will refresh the entry.
    if (this.flights.has(flightKey)) return;
    const flight = this.startFlight(call, entry, flightKey, undefined);
    this.track(
      flight.then((outcome) => {
        if (this.listener === undefined) return;
        this.emit(call, {
          type: 'cache-revalidated',
          outcome:
            outcome.kind === 'not-modified'
              ? 'not-modified'
              : outcome.kind === 'response'
                ? 'modified'
                : 'failed',
          background: true,
        });
      }),
    );
  }

  /** One origin request and what it means for the store. Never rejects. */
  private async originOutcome(
    call: Call,
    entry: StoredResponse | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OriginOutcome> {
    try {
      return await this.ask(call, entry, signal);
    } catch (error: unknown) {
      // The origin failed, or a callback (isFailureResponse, partition) threw.
      return originFailure(undefined, error, signal !== undefined && signal.aborted);
    }
  }

  private async ask(
    call: Call,
    entry: StoredResponse | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OriginOutcome> {
    const headers = toHeaderRecord(call.request.headers);
    const conditional =
      entry !== undefined && (entry.etag !== undefined || entry.lastModified !== undefined);
    if (conditional) {
      if (entry.etag !== undefined) headers['if-none-match'] = entry.etag;
      if (entry.lastModified !== undefined) headers['if-modified-since'] = entry.lastModified;
    }
    const requestTime = this.clock.dateNow();
    const raw = await call.origin({ method: call.method, url: call.request.url, headers, signal });
    const reply = toReply(raw, requestTime, this.clock.dateNow());

    if (reply.status === 304 && conditional) {
      if (!notModifiedMatches(entry, reply.headers)) {
        // The 304 is about another representation: ask again, unconditionally.
        return this.ask(call, undefined, signal);
      }
      return this.refresh(call, entry, reply);
    }
    if (isInvalidStatus(reply.status)) return originFailure(reply, undefined, false);
    let decision: StorageDecision | undefined;
    if (this.isFailureResponse({ status: reply.status, headers: reply.headers })) {
      decision = this.failureToStore(call, entry, reply);
      if (decision === undefined) return originFailure(reply, undefined, false);
    } else {
      decision = decideStorage(reply, call.facts, this.policyFor(call), call.request.headers);
    }
    if (decision.entry !== undefined) {
      this.storeEntry(call, decision);
    } else {
      if (this.listener !== undefined) {
        this.emit(call, {
          type: 'cache-not-stored',
          status: reply.status,
          reason: decision.reason,
        });
      }
      // The stored response is outdated now, whether or not its successor may be kept.
      if (entry !== undefined && call.entryKey !== undefined) {
        this.track(this.deleteKey(call.entryKey, call));
      }
    }
    if (conditional && this.listener !== undefined) {
      this.emit(call, { type: 'cache-revalidated', outcome: 'modified', background: false });
    }
    const shareable =
      privacyVerdict(
        reply,
        parseCacheControl(reply.headers['cache-control']),
        call.facts,
        this.policy.shared,
      ) === undefined;
    const varyNames = decision.vary.kind === 'names' ? decision.vary.names : undefined;
    return {
      kind: 'response',
      reply,
      error: undefined,
      entry: undefined,
      stored: decision.entry !== undefined,
      shareable,
      varyNames,
      leaderVariant:
        varyNames === undefined ? undefined : variantKey(varyNames, call.request.headers),
      abortedByCaller: false,
    };
  }

  /**
   * How to store a failure response, or `undefined` to keep it a failure: one that states its
   * own freshness is stored like any response (RFC 9111 §3), unless `storeFailureResponses` is
   * off, or the stored response may still stand in for it (stale-if-error), which the failure
   * must then not replace.
   */
  private failureToStore(
    call: Call,
    entry: StoredResponse | undefined,
    reply: OriginReply,
  ): StorageDecision | undefined {
    if (!this.storeFailures) return undefined;
    const directives = parseCacheControl(reply.headers['cache-control']);
    if (!hasExplicitFreshness(directives, reply.headers, this.policy.shared)) return undefined;
    if (entry !== undefined) {
      const ageMs = currentAgeMs(entry, this.clock.dateNow());
      if (staleIfErrorAllowed(entry, ageMs, call.directives, this.policy.staleIfErrorMs)) {
        return undefined;
      }
    }
    const decision = decideStorage(reply, call.facts, this.policyFor(call), call.request.headers);
    return decision.entry === undefined ? undefined : decision;
  }

  /** A 304 refreshed the stored response (RFC 9111 §4.3.4). */
  private refresh(call: Call, entry: StoredResponse, notModified: OriginReply): OriginOutcome {
    const merged = mergeNotModified(entry, notModified, this.policy.shared);
    const decision = decideStorage(merged, call.facts, this.policyFor(call), call.request.headers);
    let served: StoredResponse;
    if (decision.entry !== undefined) {
      served = decision.entry;
      this.storeEntry(call, decision);
    } else {
      // Validated, so it may be served this once, but the 304 says it must not be kept.
      if (call.entryKey !== undefined) this.track(this.deleteKey(call.entryKey, call));
      served = {
        ...entry,
        headers: without(merged.headers, unstoredFields(this.policy.shared)),
        requestTime: merged.requestTime,
        responseTime: merged.responseTime,
        initialAgeMs: initialAgeMs(merged.headers, merged.requestTime, merged.responseTime),
        freshnessMs: 0,
      };
    }
    if (this.listener !== undefined) {
      this.emit(call, { type: 'cache-revalidated', outcome: 'not-modified', background: false });
    }
    return {
      kind: 'not-modified',
      reply: merged,
      error: undefined,
      entry: served,
      stored: decision.entry !== undefined,
      shareable: decision.entry !== undefined,
      varyNames: entry.variant === undefined ? undefined : call.marker?.names,
      leaderVariant: entry.variant,
      abortedByCaller: false,
    };
  }

  /** Turns an origin outcome into this caller's result. */
  private toResult(
    call: Call,
    entry: StoredResponse | undefined,
    outcome: OriginOutcome,
    forwardReason: ForwardReason,
    collapsed: boolean,
  ): CacheResult {
    switch (outcome.kind) {
      case 'not-modified': {
        const served = outcome.entry!;
        const ageMs = currentAgeMs(served, this.clock.dateNow());
        return this.results.fromStore(served, ageMs, 'revalidated', {
          reason: forwardReason,
          status: 304,
          stored: outcome.stored,
          collapsed,
        });
      }
      case 'response': {
        const reply = outcome.reply!;
        return this.results.fromOrigin(reply, 'miss', {
          reason: forwardReason,
          status: reply.status,
          stored: outcome.stored,
          collapsed,
        });
      }
      case 'failure':
        return this.failureResult(call, entry, outcome, forwardReason, collapsed);
    }
  }

  /**
   * A failed origin request, as this caller's result: the stored response when stale-if-error
   * lets it stand in, else the failure response, else the error.
   */
  private failureResult(
    call: Call,
    entry: StoredResponse | undefined,
    outcome: OriginOutcome,
    forwardReason: ForwardReason,
    collapsed: boolean,
  ): CacheResult {
    const signal = call.options.signal;
    if (signal !== undefined && signal.aborted) throw abortError(signal);
    const reply = outcome.reply;
    const failure: unknown = reply !== undefined ? reply.status : outcome.error;
    if (entry !== undefined) {
      const ageMs = currentAgeMs(entry, this.clock.dateNow());
      if (staleIfErrorAllowed(entry, ageMs, call.directives, this.policy.staleIfErrorMs)) {
        if (this.listener !== undefined) {
          this.emit(call, {
            type: 'cache-stale-served',
            reason: 'stale-if-error',
            ageSeconds: ageSeconds(ageMs),
            error: failure,
          });
        }
        const forwarding: Forwarding = {
          reason: forwardReason,
          status: reply?.status,
          stored: false,
          collapsed,
        };
        return this.results.fromStore(entry, ageMs, 'stale-if-error', forwarding, failure);
      }
      if (this.listener !== undefined) {
        this.emit(call, { type: 'cache-revalidated', outcome: 'failed', background: false });
      }
    }
    if (reply === undefined) throw outcome.error;
    return this.results.fromOrigin(reply, 'miss', {
      reason: forwardReason,
      status: reply.status,
      stored: false,
      collapsed,
    });
  }

  private policyFor(call: Call): StoragePolicy {
    const defaultTtlMs = call.options.defaultTtlMs;
    return defaultTtlMs === undefined ? this.policy : { ...this.policy, defaultTtlMs };
  }

  /** Writes an entry, and for a response that varies, the marker that leads to it. */
  private storeEntry(call: Call, decision: Extract<StorageDecision, { ttlMs: number }>): void {
    const { entry, ttlMs, vary } = decision;
    if (vary.kind === 'names') {
      const now = this.clock.dateNow();
      const existing = call.marker;
      const reuse = existing !== undefined && existing.names.join() === vary.names.join();
      const expiresAt = Math.max(reuse ? existing.expiresAt : 0, now + ttlMs);
      const marker: VaryMarker = {
        kind: 'vary',
        names: vary.names,
        id: reuse ? existing.id : `${this.markerPrefix}.${(this.markerSeq++).toString(36)}`,
        expiresAt,
      };
      call.marker = marker;
      this.write(call, call.key, marker, Math.max(1, Math.ceil(expiresAt - now)));
      this.write(call, variantCacheKey(call.key, marker.id, entry.variant!), entry, ttlMs);
    } else {
      this.write(call, call.key, entry, ttlMs);
    }
    if (this.listener !== undefined) {
      this.emit(call, {
        type: 'cache-stored',
        status: entry.status,
        bytes: entryBytes(entry),
        ttlMs,
      });
    }
  }

  private write(call: Call, key: string, record: StoredRecord, ttlMs: number): void {
    try {
      const pending = this.store.set(key, record, ttlMs);
      if (isPromiseLike(pending)) {
        this.track(pending.catch((error: unknown) => this.storeError(call, 'set', error)));
      }
    } catch (error: unknown) {
      this.storeError(call, 'set', error);
    }
  }

  private track(promise: Promise<unknown>): void {
    this.background.add(promise);
    void promise.then(() => this.background.delete(promise));
  }

  private storeError(
    subject: EventSubject,
    storeOperation: 'get' | 'set' | 'delete',
    error: unknown,
  ): void {
    if (this.listener !== undefined) {
      this.emit(subject, { type: 'cache-store-error', storeOperation, error });
    }
  }

  private emit(
    subject: EventSubject,
    event: DistributiveOmit<CacheEvent, 'policy' | 'name' | 'operation' | 'method' | 'url'>,
  ): void {
    emitCacheEvent(this.listener!, {
      ...event,
      policy: 'cache',
      name: this.name,
      operation: subject.operation,
      method: subject.method,
      url: subject.url,
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Creates an HTTP cache. Private by default; `type: 'shared'` for a cache serving many users.
 *
 * @example
 * const cache = httpCache({ staleIfErrorMs: 60_000 });
 * const res = await cache.handle({ method: 'GET', url }, async ({ headers, signal }) => {
 *   const r = await fetch(url, { headers, signal });
 *   return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
 * });
 */
export function httpCache(options: HttpCacheOptions = {}): HttpCache {
  validateOptions(options);
  return new HttpCache(options);
}
