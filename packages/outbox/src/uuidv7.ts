import { randomText, takeRandomBytes } from '@bulwark/core/internal';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Stable for the life
 * of a message, unique without coordination, and sorted by creation time, which keeps the
 * dead-letter table's and inboxes' indexes append-mostly.
 */
export function uuidv7(nowMs: number): string {
  const time = Math.floor(nowMs).toString(16).padStart(12, '0').slice(-12);
  // Ten random bytes, of which 74 bits are used: 12 (rand_a), then 62 (rand_b) after the variant.
  const random = randomText(takeRandomBytes(10), 10, 'hex');
  const variant = ((parseInt(random[3]!, 16) & 0x3) | 0x8).toString(16);
  return (
    `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(0, 3)}-` +
    `${variant}${random.slice(4, 7)}-${random.slice(7, 19)}`
  );
}
