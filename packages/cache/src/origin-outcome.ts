import type { OriginReply } from './entry.js';
import type { StoredResponse } from './stores/store.js';

/**
 * What one origin request came to, and what it means for the store: shared by every request
 * coalesced onto it. Never a rejection: a failure is an outcome too.
 */
export interface OriginOutcome {
  readonly kind: 'response' | 'not-modified' | 'failure';
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

/** An origin request that ended without a usable response. */
export function originFailure(
  reply: OriginReply | undefined,
  error: unknown,
  abortedByCaller: boolean,
): OriginOutcome {
  return {
    kind: 'failure',
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
