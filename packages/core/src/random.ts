import { getRandomValues } from 'node:crypto';

/**
 * One process-wide pool of CSPRNG bytes for the IDs and tokens Bulwark makes per request
 * (correlation and trace IDs, span IDs per outbound attempt, idempotency claim tokens). A fill
 * has a fixed cost however few bytes it draws, so the pool is as large as one `getRandomValues`
 * call allows ("Design figures" in benchmarks/RESULTS.md); drawn one ID at a time, each would
 * cost a system call.
 */
const POOL_SIZE = 65536;

const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * Advances the pool by `count` bytes (at most 64 KiB) and returns the offset of the first one.
 * The bytes stay valid until the next call, so read them at once.
 */
export function takeRandomBytes(count: number): number {
  if (offset + count > POOL_SIZE) {
    getRandomValues(pool);
    offset = 0;
  }
  const start = offset;
  offset += count;
  return start;
}

/** The byte at `index` of the pool (valid right after {@link takeRandomBytes}). */
export function randomByte(index: number): number {
  return pool[index]!;
}

/**
 * `count` pool bytes from `start` as text. One native call makes a flat string: one built by
 * concatenation is a rope that every later reader (header validation, the socket write)
 * flattens first.
 */
export function randomText(start: number, count: number, encoding: 'hex' | 'base64url'): string {
  return pool.toString(encoding, start, start + count);
}

/** `count` fresh random bytes as text: a token or an ID with no constraint on its bits. */
export function randomString(count: number, encoding: 'hex' | 'base64url'): string {
  return randomText(takeRandomBytes(count), count, encoding);
}
