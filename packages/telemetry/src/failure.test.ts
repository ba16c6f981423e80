import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  IsolatedCircuitError,
  TimeoutError,
} from '@bulwark/core';
import { RateLimitedError } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';
import { OUTCOMES, describeFailure, outcomeIndex } from './failure.js';

describe('outcomeIndex', () => {
  it.each([
    ['success', undefined, 'success'],
    ['failure', new Error('x'), 'failure'],
    ['failure', { status: 503 }, 'failure'],
    ['failure', new TimeoutError(10), 'timeout'],
    ['failure', new DeadlineExceededError(10), 'deadline-exceeded'],
    ['failure', new CancelledError(), 'cancelled'],
    ['failure', new BrokenCircuitError(), 'circuit-open'],
    ['failure', new IsolatedCircuitError(), 'circuit-open'],
    ['failure', new BulkheadRejectedError('full', 1, 0), 'bulkhead-rejected'],
    ['failure', new RateLimitedError('limit', 'partner', 10, 100), 'rate-limited'],
  ] as const)('maps a %s with %o to %s', (outcome, error, expected) => {
    expect(OUTCOMES[outcomeIndex(outcome, error)]).toBe(expected);
  });
});

describe('describeFailure', () => {
  it.each([
    ['a result with a status', new Response(null, { status: 503 }), '503'],
    ['a result with a statusCode', { statusCode: 429 }, '429'],
    [
      'a Node system error',
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      'ECONNRESET',
    ],
    ['a Bulwark error', new TimeoutError(10), 'BULWARK_TIMEOUT'],
    ['an error without a code', new RangeError('x'), 'RangeError'],
    ['an axios-style error with a status', Object.assign(new Error('x'), { status: 500 }), 'Error'],
    ['a string', 'boom', '_OTHER'],
    ['undefined', undefined, '_OTHER'],
    [
      'an error with a huge code',
      Object.assign(new Error('x'), { code: 'x'.repeat(100) }),
      'Error',
    ],
  ])('names %s', (_label, failure, expected) => {
    expect(describeFailure(failure)).toBe(expected);
  });
});
