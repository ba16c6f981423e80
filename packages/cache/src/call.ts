import type { CacheDirectives } from './cache-control.js';
import type { RequestFacts } from './entry.js';
import type { EventSubject } from './events.js';
import type { RequestHeaderInfo } from './headers.js';
import type { CacheRequest, HandleOptions, Origin } from './origin.js';
import type { VaryMarker } from './stores/store.js';

/** A request the cache handles, as routing read it. */
export interface RoutedRequest {
  readonly request: CacheRequest;
  readonly origin: Origin;
  readonly options: HandleOptions;
  /** Upper case. */
  readonly method: string;
  /** Normalised. */
  readonly url: string;
  /** The primary cache key: method, URL and partition. */
  readonly key: string;
  readonly partition: string | undefined;
  /** The request's cache-relevant header fields. */
  readonly info: Readonly<RequestHeaderInfo>;
  /** Its Cache-Control (or Pragma: no-cache) directives. */
  readonly directives: CacheDirectives;
}

/** One call through the cache: what was asked, and what the lookup found. */
export class Call implements RoutedRequest, EventSubject {
  readonly request: CacheRequest;
  readonly origin: Origin;
  readonly options: HandleOptions;
  readonly method: string;
  readonly url: string;
  readonly key: string;
  readonly partition: string | undefined;
  readonly info: Readonly<RequestHeaderInfo>;
  readonly directives: CacheDirectives;
  /** The Vary marker found under the primary key, if any. */
  marker: VaryMarker | undefined = undefined;
  /** Where the stored response found was kept (the primary key, or a variant key). */
  entryKey: string | undefined = undefined;

  constructor(routed: RoutedRequest) {
    this.request = routed.request;
    this.origin = routed.origin;
    this.options = routed.options;
    this.method = routed.method;
    this.url = routed.url;
    this.key = routed.key;
    this.partition = routed.partition;
    this.info = routed.info;
    this.directives = routed.directives;
  }

  get operation(): string | undefined {
    return this.options.operation;
  }

  /** Requests coalesce only with requests carrying the same credentials. */
  get flightKey(): string {
    const { authorization, cookie } = this.info;
    if (authorization === undefined && cookie === undefined) return this.key;
    return `${this.key}\u0001${authorization ?? ''}\u0001${cookie ?? ''}`;
  }

  get facts(): RequestFacts {
    return { directives: this.directives, authorization: this.info.authorization !== undefined };
  }
}
