/** A claim on a key: the request is running somewhere. */
export interface InProgressRecord {
  readonly state: 'in_progress';
  /** Random per claim: only the claimant can complete or release it. */
  readonly token: string;
  readonly fingerprint: string;
  /** Wall-clock ms when the claim was made. */
  readonly startedAt: number;
}

/** The stored outcome of a request, replayed to later duplicates. */
export interface CompleteRecord {
  readonly state: 'complete';
  readonly fingerprint: string;
  readonly status: number;
  /** Only the headers listed in `replayHeaders`, lowercase. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Uint8Array;
  /** Wall-clock ms when the response was stored. */
  readonly completedAt: number;
}

export type IdempotencyRecord = InProgressRecord | CompleteRecord;
