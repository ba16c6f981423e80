import { randomText, takeRandomBytes } from '@bulwark/core/internal';

/** rand_a is 12 bits: within one millisecond, the ids of this process count up in it. */
const COUNTER_LIMIT = 0x1000;
let lastMs = -1;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, 12 bits of a counter, 62 random bits.
 * Stable for the life of a message, unique without coordination, and sorted by creation time:
 * across processes by the millisecond, within one process exactly (RFC 9562's method 1, a
 * counter seeded at random each millisecond; past its end, the time moves on by a millisecond).
 */
export function uuidv7(nowMs: number): string {
  let ms = Math.floor(nowMs);
  if (ms <= lastMs) {
    ms = lastMs;
    if (++counter === COUNTER_LIMIT) {
      ms++;
      counter = 0;
    }
  } else {
    // Seeded in the lower half, so a busy millisecond has room to count before it overflows.
    counter = Math.floor(Math.random() * (COUNTER_LIMIT / 2));
  }
  lastMs = ms;
  const time = ms.toString(16).padStart(12, '0').slice(-12);
  // Eight random bytes, of which 62 bits are used after the variant's two.
  const random = randomText(takeRandomBytes(8), 8, 'hex');
  const variant = ((parseInt(random[0]!, 16) & 0x3) | 0x8).toString(16);
  return (
    `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-` +
    `${variant}${random.slice(1, 4)}-${random.slice(4, 16)}`
  );
}
