/**
 * Correlation IDs arrive from outside and end up in every log line, so only a conservative
 * shape is accepted: 1 to 128 characters, each an ASCII letter, digit, `.`, `_`, `:` or `-`.
 * That admits UUIDs, ULIDs, W3C trace IDs and the IDs of common proxies (AWS, Heroku, nginx),
 * and excludes everything that can forge or break a log line: whitespace, newlines, escape
 * sequences, quotes, `=`, non-ASCII.
 */
export const MAX_CORRELATION_ID_LENGTH = 128;

const VALID_ID = /^[A-Za-z0-9._:-]+$/;

/** Why an inbound correlation ID was refused. The value itself is never reported. */
export type InvalidIdReason = 'empty' | 'too-long' | 'invalid-characters' | 'multiple-values';

/** True when `value` is a correlation ID Bulwark accepts: 1–128 of `[A-Za-z0-9._:-]`. */
export function isValidCorrelationId(value: unknown): value is string {
  return invalidIdReason(value) === undefined;
}

/** Why `value` is not an acceptable ID, or undefined when it is. */
export function invalidIdReason(value: unknown): InvalidIdReason | undefined {
  if (typeof value !== 'string') return Array.isArray(value) ? 'multiple-values' : 'empty';
  if (value.length === 0) return 'empty';
  // Checked before the pattern, so a hostile 10 MB header is refused without being scanned.
  if (value.length > MAX_CORRELATION_ID_LENGTH) return 'too-long';
  return VALID_ID.test(value) ? undefined : 'invalid-characters';
}
