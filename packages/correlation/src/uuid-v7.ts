import { hexByte, randomByte, takeRandomBytes } from './random.js';

/** rand_a is 12 bits; a fresh millisecond seeds it below half, leaving room to count up. */
const COUNTER_SEED_MASK = 0x7ff;
const COUNTER_MAX = 0xfff;

let lastMs = -1;
let counter = 0;

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
  return (
    timestampPrefix() +
    hexByte(0x70 | (counter >>> 8)) +
    hexByte(counter) +
    '-' +
    hexByte(0x80 | (randomByte(start + 2) & 0x3f)) +
    hexByte(randomByte(start + 3)) +
    '-' +
    hexByte(randomByte(start + 4)) +
    hexByte(randomByte(start + 5)) +
    hexByte(randomByte(start + 6)) +
    hexByte(randomByte(start + 7)) +
    hexByte(randomByte(start + 8)) +
    hexByte(randomByte(start + 9))
  );
}

let prefixMs = -1;
let prefix = '';

/**
 * `tttttttt-tttt-`, the 48-bit timestamp of {@link lastMs}, big-endian: formatted once per
 * millisecond rather than per ID (a busy server makes many IDs in one).
 */
function timestampPrefix(): string {
  if (prefixMs !== lastMs) {
    prefixMs = lastMs;
    // Bitwise operators only reach 32 bits, so split it.
    const high = Math.floor(lastMs / 0x1000000);
    const low = lastMs % 0x1000000;
    prefix =
      hexByte(high >>> 16) +
      hexByte(high >>> 8) +
      hexByte(high) +
      hexByte(low >>> 16) +
      '-' +
      hexByte(low >>> 8) +
      hexByte(low) +
      '-';
  }
  return prefix;
}
