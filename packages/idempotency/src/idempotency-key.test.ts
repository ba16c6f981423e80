import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from './idempotency-key.js';

describe('parseIdempotencyKey', () => {
  it('accepts an RFC 8941 string and unquotes it', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"', 256)).toEqual({
      ok: true,
      key: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    });
  });

  it('unescapes \\" and \\\\ inside a string', () => {
    expect(parseIdempotencyKey('"a\\"b\\\\c"', 256)).toEqual({ ok: true, key: 'a"b\\c' });
  });

  it('accepts a bare token, including a UUID that starts with a digit', () => {
    expect(parseIdempotencyKey('123e4567-e89b-12d3-a456-426614174000', 256)).toEqual({
      ok: true,
      key: '123e4567-e89b-12d3-a456-426614174000',
    });
    expect(parseIdempotencyKey('order:42/v1', 256)).toEqual({ ok: true, key: 'order:42/v1' });
  });

  it('treats the quoted and bare forms of a key as the same key', () => {
    expect(parseIdempotencyKey('"abc"', 256)).toEqual(parseIdempotencyKey('abc', 256));
  });

  it('trims surrounding spaces', () => {
    expect(parseIdempotencyKey('  "abc"  ', 256)).toEqual({ ok: true, key: 'abc' });
  });

  it('accepts a single value given as an array and refuses several', () => {
    expect(parseIdempotencyKey(['"abc"'], 256)).toEqual({ ok: true, key: 'abc' });
    expect(parseIdempotencyKey(['"a"', '"b"'], 256)).toEqual({ ok: false, problem: 'multiple' });
  });

  it('refuses an empty value or an empty string', () => {
    expect(parseIdempotencyKey('', 256)).toEqual({ ok: false, problem: 'empty' });
    expect(parseIdempotencyKey('   ', 256)).toEqual({ ok: false, problem: 'empty' });
    expect(parseIdempotencyKey('""', 256)).toEqual({ ok: false, problem: 'empty' });
  });

  it('refuses control characters, DEL and non-ASCII in either form', () => {
    for (const value of ['"ab\u0001c"', 'ab\u0000c', '"a\nb"', 'a\tb', '"abc\u007f"', '"clé"']) {
      expect(parseIdempotencyKey(value, 256)).toEqual({ ok: false, problem: 'characters' });
    }
  });

  it('refuses malformed strings and tokens', () => {
    for (const value of [
      '"abc',
      '"abc"def',
      '"abc";a=1',
      '"a\\b"',
      '"abc\\"',
      'a b',
      'a,b',
      '"a", "b"',
      'a"b',
      'a;b',
      '(abc)',
    ]) {
      expect(parseIdempotencyKey(value, 256)).toEqual({ ok: false, problem: 'syntax' });
    }
  });

  it('refuses a key longer than maxLength once unquoted, and accepts one exactly at it', () => {
    expect(parseIdempotencyKey('a'.repeat(256), 256)).toEqual({ ok: true, key: 'a'.repeat(256) });
    expect(parseIdempotencyKey(`"${'a'.repeat(256)}"`, 256)).toMatchObject({ ok: true });
    expect(parseIdempotencyKey('a'.repeat(257), 256)).toEqual({ ok: false, problem: 'too-long' });
    expect(parseIdempotencyKey(`"${'\\"'.repeat(257)}"`, 256)).toEqual({
      ok: false,
      problem: 'too-long',
    });
  });

  it('refuses a 100 KB value by its length, even when it also has control characters', () => {
    const huge = `"${'\u0001'.repeat(100 * 1024)}"`;
    expect(parseIdempotencyKey(huge, 256)).toEqual({ ok: false, problem: 'too-long' });
  });
});
