import { describe, expect, it } from 'vitest';
import { formatIdempotencyKey, generateIdempotencyKey } from './idempotency-key.js';

describe('Idempotency-Key values (RFC 8941 strings)', () => {
  it('generates a different quoted UUID each time', () => {
    const a = generateIdempotencyKey();
    expect(a).toMatch(/^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/);
    expect(generateIdempotencyKey()).not.toBe(a);
  });

  it('quotes a caller key, escaping quotes and backslashes', () => {
    expect(formatIdempotencyKey('order-42')).toBe('"order-42"');
    expect(formatIdempotencyKey('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('keeps a key that is already a valid quoted string', () => {
    expect(formatIdempotencyKey('"already"')).toBe('"already"');
    expect(formatIdempotencyKey('"esc\\"aped"')).toBe('"esc\\"aped"');
  });

  it('refuses empty, non-string, non-ASCII and overlong keys', () => {
    expect(() => formatIdempotencyKey('')).toThrow(
      new TypeError(`expected idempotencyKey to be a non-empty string, 'auto' or false, got ""`),
    );
    expect(() => formatIdempotencyKey(42)).toThrow(TypeError);
    expect(() => formatIdempotencyKey('clé')).toThrow(
      new RangeError(
        'expected idempotencyKey to be at most 255 printable ASCII characters, got "clé"',
      ),
    );
    expect(() => formatIdempotencyKey('a\nb')).toThrow(RangeError);
    expect(() => formatIdempotencyKey('k'.repeat(256))).toThrow(RangeError);
    expect(formatIdempotencyKey('k'.repeat(255))).toHaveLength(257);
  });
});
