import type { CompleteRecord, IdempotencyRecord, InProgressRecord } from '../record.js';

/**
 * Where idempotency records live. Every method may answer synchronously (memory) or with a
 * promise (Redis). A method that throws or rejects makes the request answer 503: a request is
 * never run when the store cannot say whether it already ran.
 */
export interface IdempotencyStore {
  /**
   * Atomically stores `claim` under `key` for `lockMs` unless a record is there. Returns the
   * record that is there, or `undefined` when this call made the claim.
   */
  claim(
    key: string,
    claim: InProgressRecord,
    lockMs: number,
  ): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  /**
   * Replaces `claim` with `record`, kept for `ttlMs`, if `claim` is still what is stored (it may
   * have expired and been claimed by another request). Returns whether it did.
   */
  complete(
    key: string,
    claim: InProgressRecord,
    record: CompleteRecord,
    ttlMs: number,
  ): boolean | Promise<boolean>;
  /** Deletes `claim` if it is still what is stored. Returns whether it did. */
  release(key: string, claim: InProgressRecord): boolean | Promise<boolean>;
}
