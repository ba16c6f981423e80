import { describe, expect, it } from 'vitest';
import {
  MAX_CORRELATION_ID_LENGTH,
  invalidIdReason,
  isValidCorrelationId,
} from './correlation-id.js';

describe('isValidCorrelationId', () => {
  it.each([
    ['a UUID', '0190b6b5-9c4e-7a3b-8f1e-2d3c4b5a6978'],
    ['a ULID', '01ARZ3NDEKTSV4RRFFQ69G5FAV'],
    ['a W3C trace ID', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['a dotted, colon-separated ID', 'edge-1.eu:req_42'],
    ['one character', 'x'],
    ['exactly 128 characters', 'a'.repeat(MAX_CORRELATION_ID_LENGTH)],
  ])('accepts %s', (_label, id) => {
    expect(isValidCorrelationId(id)).toBe(true);
  });

  it.each([
    ['an empty string', '', 'empty'],
    ['129 characters', 'a'.repeat(129), 'too-long'],
    ['a 10 KB value', 'a'.repeat(10 * 1024), 'too-long'],
    ['a newline (log forging)', 'abc\ninjected=1', 'invalid-characters'],
    ['a carriage return', 'abc\r', 'invalid-characters'],
    ['an ANSI escape sequence', '\u001b[31mred', 'invalid-characters'],
    ['non-ASCII letters', 'réquest', 'invalid-characters'],
    ['an emoji', 'id-😀', 'invalid-characters'],
    ['spaces', 'a b', 'invalid-characters'],
    ['quotes and braces', '"}{', 'invalid-characters'],
    ['a NUL byte', 'a\u0000b', 'invalid-characters'],
  ] as const)('refuses %s', (_label, id, reason) => {
    expect(isValidCorrelationId(id)).toBe(false);
    expect(invalidIdReason(id)).toBe(reason);
  });

  it('refuses non-strings, and several values as multiple-values', () => {
    expect(isValidCorrelationId(undefined)).toBe(false);
    expect(isValidCorrelationId(42)).toBe(false);
    expect(invalidIdReason(['a', 'b'])).toBe('multiple-values');
  });
});
