import { randomByte, randomText, takeRandomBytes } from '@bulwark/core/internal';

/** Lowercase two-digit hex for every byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/** The ASCII codes of {@link HEX}: byte `b`'s two digits at `2b` and `2b + 1`. */
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  HEX_CODES[2 * i] = HEX[i]!.charCodeAt(0);
  HEX_CODES[2 * i + 1] = HEX[i]!.charCodeAt(1);
}

/** `count` random bytes as lowercase hex, never all zeros (W3C forbids all-zero IDs). */
export function randomHex(count: number): string {
  for (;;) {
    const start = takeRandomBytes(count);
    let nonZero = 0;
    for (let i = start; i < start + count; i++) nonZero |= randomByte(i);
    if (nonZero !== 0) return randomText(start, count, 'hex');
  }
}

export function hexByte(value: number): string {
  return HEX[value & 0xff]!;
}

/** Writes `value`'s two lowercase hex digits into `target` at `at`. */
export function writeHexByte(target: Uint8Array, at: number, value: number): void {
  const code = 2 * (value & 0xff);
  target[at] = HEX_CODES[code]!;
  target[at + 1] = HEX_CODES[code + 1]!;
}
