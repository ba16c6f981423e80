import type { CompleteRecord, IdempotencyRecord, InProgressRecord } from '../record.js';

/** Bumped when the stored shape changes, so an old record is refused rather than misread. */
const VERSION = 1;

/**
 * The stored text of a claim. Deterministic (fixed key order), because completing and releasing
 * compare the stored value with it byte for byte.
 */
export function encodeClaim(claim: InProgressRecord): string {
  return JSON.stringify({
    v: VERSION,
    state: claim.state,
    token: claim.token,
    fingerprint: claim.fingerprint,
    startedAt: claim.startedAt,
  });
}

export function encodeComplete(record: CompleteRecord): string {
  return JSON.stringify({
    v: VERSION,
    state: record.state,
    fingerprint: record.fingerprint,
    status: record.status,
    headers: record.headers,
    body: Buffer.from(record.body.buffer, record.body.byteOffset, record.body.byteLength).toString(
      'base64',
    ),
    completedAt: record.completedAt,
  });
}

function isHeaders(value: unknown): value is Record<string, string | string[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const v of Object.values(value as Record<string, unknown>)) {
    if (typeof v === 'string') continue;
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) continue;
    return false;
  }
  return true;
}

/** Reads a stored record; throws on anything else, which the store reports as unavailable. */
export function decodeRecord(text: string): IdempotencyRecord {
  const data = JSON.parse(text) as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || data['v'] !== VERSION) {
    throw new TypeError('unrecognised idempotency record');
  }
  const { state, fingerprint } = data;
  if (typeof fingerprint !== 'string') throw new TypeError('unrecognised idempotency record');
  if (
    state === 'in_progress' &&
    typeof data['token'] === 'string' &&
    typeof data['startedAt'] === 'number'
  ) {
    return { state, token: data['token'], fingerprint, startedAt: data['startedAt'] };
  }
  if (
    state === 'complete' &&
    typeof data['status'] === 'number' &&
    isHeaders(data['headers']) &&
    typeof data['body'] === 'string' &&
    typeof data['completedAt'] === 'number'
  ) {
    return {
      state,
      fingerprint,
      status: data['status'],
      headers: data['headers'],
      body: Buffer.from(data['body'], 'base64'),
      completedAt: data['completedAt'],
    };
  }
  throw new TypeError('unrecognised idempotency record');
}
