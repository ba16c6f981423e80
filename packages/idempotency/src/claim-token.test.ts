import { describe, expect, it } from 'vitest';
import { claimToken } from './claim-token.js';

describe('claimToken', () => {
  it('gives 128-bit base64url tokens, all different across many pool refills', () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const token = claimToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      tokens.add(token);
    }
    expect(tokens.size).toBe(10_000);
  });
});
