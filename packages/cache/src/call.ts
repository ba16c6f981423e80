import type { CacheDirectives } from './cache-control.js';
import type { RequestFacts } from './entry.js';
import type { EventSubject } from './events.js';
import type { RequestHeaderInfo } from './headers.js';
import type { CacheRequest, HandleOptions, Origin } from './origin.js';
import type { VaryMarker } from './stores/store.js';

/** One call through the cache: what was asked, and what the lookup found. */
export class Call implements EventSubject {
  /** The Vary marker found under the primary key, if any. */
  marker: VaryMarker | undefined = undefined;
  /** Where the stored response found was kept (the primary key, or a variant key). */
  entryKey: string | undefined = undefined;

  constructor(
    readonly request: CacheRequest,
    readonly origin: Origin,
    readonly options: HandleOptions,
    readonly method: string,
    readonly url: string,
    readonly key: string,
    readonly partition: string | undefined,
    readonly info: Readonly<RequestHeaderInfo>,
    readonly directives: CacheDirectives,
  ) {}

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
