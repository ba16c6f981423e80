import { BrokenCircuitError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { failureReason } from './classify.js';

describe('failureReason()', () => {
  it.each<[string, unknown, boolean, string]>([
    ['a response, by its status', new Response(null, { status: 503 }), true, '503'],
    ['a result without a status', { items: [] }, true, 'result'],
    ['an HTTP error, by its status', Object.assign(new Error('x'), { status: 502 }), false, '502'],
    [
      'a network error, by its code',
      Object.assign(new Error('x'), { code: 'ECONNRESET' }),
      false,
      'ECONNRESET',
    ],
    ['a Bulwark error, by its code', new BrokenCircuitError(), false, 'BULWARK_BROKEN_CIRCUIT'],
    ['an error without a code, by its class', new TypeError('x'), false, 'TypeError'],
    [
      'an error whose code is too long to be a name',
      Object.assign(new Error('x'), { code: 'x'.repeat(65) }),
      false,
      'Error',
    ],
    ['a thrown string', 'boom', false, 'unknown'],
  ])('names %s', (_label, failure, isResult, reason) => {
    expect(failureReason(failure, isResult)).toBe(reason);
  });
});
