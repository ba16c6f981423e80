import { describe, expect, it } from 'vitest';
import {
  IDEMPOTENT_METHODS,
  KEYED_METHODS,
  isIdempotentMethod,
  isKeyedMethod,
  normalizeMethod,
} from './methods.js';

describe('methods', () => {
  it('names the idempotent methods of RFC 9110 and the ones a key makes retryable', () => {
    expect(IDEMPOTENT_METHODS).toEqual(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
    expect(KEYED_METHODS).toEqual(['POST', 'PATCH']);
    expect(IDEMPOTENT_METHODS.every(isIdempotentMethod)).toBe(true);
    expect(KEYED_METHODS.some(isIdempotentMethod)).toBe(false);
    expect(isKeyedMethod('POST')).toBe(true);
    expect(isKeyedMethod('PUT')).toBe(false);
    expect(isIdempotentMethod('CONNECT')).toBe(false);
  });

  it('upper-cases methods', () => {
    for (const m of ['get', 'post', 'put', 'delete', 'patch', 'head', 'options', 'Purge']) {
      expect(normalizeMethod(m)).toBe(m.toUpperCase());
      expect(normalizeMethod(m.toUpperCase())).toBe(m.toUpperCase());
    }
  });
});
