import { randomByte, takeRandomBytes } from '@bulwark/core/internal';
import { writeHexByte } from './random.js';

/** rand_a is 12 bits; a fresh millisecond seeds it below half, leaving room to count up. */
const COUNTER_SEED_MASK = 0x7ff;
const COUNTER_MAX = 0xfff;

let lastMs = -1;
let counter = 0;
const UUID_LENGTH = 36;
/** `tttttttt-tttt-7ccc-vrrr-rrrrrrrrrrrr` as ASCII bytes, the dashes in place. */
const digits = Buffer.alloc(UUID_LENGTH, '-');
let writtenMs = -1;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so IDs sort by
 * creation time and index well. Within one millisecond the 12-bit `rand_a` field is a counter
 * seeded at random (RFC 9562 §6.2, method 1), so IDs made by one process are strictly
 * increasing even in bursts; when the counter runs out, the timestamp moves on by 1 ms.
 */
export function uuidv7(): string {
  const now = Date.now();
  const start = takeRandomBytes(10);
  if (now > lastMs) {
    lastMs = now;
    counter = ((randomByte(start) << 8) | randomByte(start + 1)) & COUNTER_SEED_MASK;
  } else if (++counter > COUNTER_MAX) {
    // The clock went back or 2048+ IDs came in one millisecond: borrow from the next one.
    lastMs++;
    counter = ((randomByte(start) << 8) | randomByte(start + 1)) & COUNTER_SEED_MASK;
  }
  // The timestamp digits (0 to 12) change once per millisecond: written then, not per ID.
  if (writtenMs !== lastMs) writeTimestamp();
  writeHexByte(digits, 14, 0x70 | (counter >>> 8));
  writeHexByte(digits, 16, counter);
  writeHexByte(digits, 19, 0x80 | (randomByte(start + 2) & 0x3f));
  writeHexByte(digits, 21, randomByte(start + 3));
  for (let i = 0; i < 6; i++) writeHexByte(digits, 24 + 2 * i, randomByte(start + 4 + i));
  // One native copy makes a flat string: concatenated, it would be a rope that the response
  // header check and the socket write each flatten again.
  return digits.toString('latin1', 0, UUID_LENGTH);
}

/** Writes the 48-bit timestamp of {@link lastMs}, big-endian, into the first 13 characters. */
function writeTimestamp(): void {
  writtenMs = lastMs;
  // Bitwise operators only reach 32 bits, so split it.
  const high = Math.floor(lastMs / 0x1000000);
  const low = lastMs % 0x1000000;
  writeHexByte(digits, 0, high >>> 16);
  writeHexByte(digits, 2, high >>> 8);
  writeHexByte(digits, 4, high);
  writeHexByte(digits, 6, low >>> 16);
  writeHexByte(digits, 9, low >>> 8);
  writeHexByte(digits, 11, low);
}
