import { describe, expect, it } from 'vitest';
import { randomByte, randomString, randomText, takeRandomBytes } from './random.js';

describe('the random pool', () => {
  it('gives distinct 128-bit base64url strings across several refills of the pool', () => {
    const tokens = new Set<string>();
    // 10,000 × 16 bytes is about 2.4 pools of 64 KiB.
    for (let i = 0; i < 10_000; i++) {
      const token = randomString(16, 'base64url');
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      tokens.add(token);
    }
    expect(tokens.size).toBe(10_000);
  });

  it('encodes the very bytes it handed out, and never hands the same bytes out twice', () => {
    const first = takeRandomBytes(8);
    const bytes = Array.from({ length: 8 }, (_, i) => randomByte(first + i));
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(randomText(first, 8, 'hex')).toBe(hex);
    expect(takeRandomBytes(8)).not.toBe(first);
  });
});
