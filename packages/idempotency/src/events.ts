/** What `begin()` decided for one request. */
export interface IdempotencyDecisionEvent {
  readonly type: 'idempotency-decision';
  readonly outcome:
    | 'bypass'
    | 'proceed'
    | 'replay'
    | 'missing'
    | 'invalid'
    | 'conflict'
    | 'mismatch'
    | 'unavailable';
  readonly method: string;
  /** The store's error, for `unavailable`. */
  readonly error: unknown;
}

/** What became of a claim once the handler was done. */
export interface IdempotencyCompletionEvent {
  readonly type: 'idempotency-completion';
  /**
   * `stored`: the response is kept for replay; `released`: the key is free again (the request
   * failed, its client left, or `shouldStore` said no); `too-large`: the key is free again
   * because the response exceeded `maxBodyBytes`; `claim-lost`:
   * the claim expired (the handler outlived `lockTimeoutMs`) and was not stored; `store-error`:
   * the store failed (the key stays claimed until the lock times out).
   */
  readonly outcome: 'stored' | 'released' | 'too-large' | 'claim-lost' | 'store-error';
  /** The response status, when there was a response. */
  readonly status: number | undefined;
  readonly error: unknown;
}

export type IdempotencyEvent = IdempotencyDecisionEvent | IdempotencyCompletionEvent;

/** Receives idempotency telemetry. Called synchronously; whatever it throws is ignored. */
export type IdempotencyListener = (event: IdempotencyEvent) => void;

export function emitIdempotency(listener: IdempotencyListener, event: IdempotencyEvent): void {
  try {
    listener(event);
  } catch {
    // Telemetry must never change what a request gets.
  }
}
