import { getRandomValues } from 'node:crypto';

/**
 * Random bytes for IDs, drawn from a pool refilled in one call: `getRandomValues` per ID would
 * cost a system call each time, and outbound calls generate a span ID per attempt.
 */
const POOL_SIZE = 4096;

const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** Lowercase two-digit hex for every byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/** Advances the pool by `count` bytes and returns the offset of the first one. */
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

/** `count` random bytes as lowercase hex, never all zeros (W3C forbids all-zero IDs). */
export function randomHex(count: number): string {
  for (;;) {
    const start = takeRandomBytes(count);
    let hex = '';
    let nonZero = 0;
    for (let i = start; i < start + count; i++) {
      const byte = pool[i]!;
      nonZero |= byte;
      hex += HEX[byte]!;
    }
    if (nonZero !== 0) return hex;
  }
}

export function hexByte(value: number): string {
  return HEX[value & 0xff]!;
}
