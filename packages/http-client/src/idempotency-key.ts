import { randomUUID } from 'node:crypto';
import { describeValue } from '@bulwark/core/internal';

/** The header the IETF draft names; servers read it case-insensitively. */
export const DEFAULT_IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** A key longer than this is a bug, not a key (a UUID is 36 characters). */
const MAX_KEY_LENGTH = 255;
// RFC 8941 sf-string: printable ASCII, with `"` and `\` escaped.
const PRINTABLE = /^[\x20-\x7e]+$/;
const QUOTED = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"$/;

/** A fresh key: a random UUID as an RFC 8941 string, as the Idempotency-Key draft specifies. */
export function generateIdempotencyKey(): string {
  return `"${randomUUID()}"`;
}

/**
 * A caller's key as an RFC 8941 string: a value already in quotes is checked and kept; anything
 * else is quoted, with `"` and `\` escaped. Throws for empty, non-ASCII or overlong keys.
 */
export function formatIdempotencyKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(
      `expected idempotencyKey to be a non-empty string, 'auto' or false, got ${describeValue(key)}`,
    );
  }
  if (key.length > MAX_KEY_LENGTH || !PRINTABLE.test(key)) {
    throw new RangeError(
      `expected idempotencyKey to be at most ${MAX_KEY_LENGTH} printable ASCII characters, got ${describeValue(key)}`,
    );
  }
  if (QUOTED.test(key)) return key;
  return `"${key.replace(/["\\]/g, '\\$&')}"`;
}
