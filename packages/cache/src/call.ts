import type { CacheDirectives } from './cache-control.js';
import type { OriginReply, RequestFacts } from './entry.js';
import type { RequestHeaderInfo } from './headers.js';
import type { CacheRequest, HandleOptions, Origin } from './origin.js';
import type { StoredResponse, VaryMarker } from './stores/store.js';

/** One call through the cache: what was asked, and what the lookup found. */
export class Call {
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

/** The outcome of one origin exchange, shared by every request coalesced onto it. */
export interface Exchange {
  readonly outcome: 'response' | 'not-modified' | 'failure';
  /** The origin's reply (for `not-modified`, the stored response refreshed by the 304). */
  readonly reply: OriginReply | undefined;
  /** What the origin threw, for a failure without a response. */
  readonly error: unknown;
  /** For `not-modified`: the refreshed entry (stored or not). */
  readonly entry: StoredResponse | undefined;
  readonly stored: boolean;
  /** Whether requests other than the leader's may be answered with it. */
  readonly shareable: boolean;
  /** The request fields the reply varies on, and the leader's values of them. */
  readonly varyNames: readonly string[] | undefined;
  readonly leaderVariant: string | undefined;
  /** The leader's caller cancelled it: joined requests must ask again. */
  readonly abortedByCaller: boolean;
}

/** An exchange that ended without a usable response. */
export function failure(
  reply: OriginReply | undefined,
  error: unknown,
  abortedByCaller: boolean,
): Exchange {
  return {
    outcome: 'failure',
    reply,
    error,
    entry: undefined,
    stored: false,
    shareable: false,
    varyNames: undefined,
    leaderVariant: undefined,
    abortedByCaller,
  };
}
