import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  TimeoutError,
} from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import {
  RETRYABLE_STATUS_CODES,
  anyOf,
  defaultClassifier,
  isRetryableError,
  retryableStatus,
  statusOf,
} from './classify.js';

describe('statusOf', () => {
  it('reads status, statusCode, and the same on a response property', () => {
    expect(statusOf({ status: 503 })).toBe(503);
    expect(statusOf({ statusCode: 429 })).toBe(429);
    expect(statusOf({ response: { status: 502 } })).toBe(502);
    expect(statusOf({ response: { statusCode: 504 } })).toBe(504);
    expect(statusOf(new Response(null, { status: 500 }))).toBe(500);
  });

  it('ignores values without a numeric status', () => {
    expect(statusOf(undefined)).toBeUndefined();
    expect(statusOf(503)).toBeUndefined();
    expect(statusOf({ status: '503' })).toBeUndefined();
    expect(statusOf({ response: null })).toBeUndefined();
  });
});

describe('retryableStatus', () => {
  it('retries 408, 425, 429, 500, 502, 503 and 504 by default', () => {
    const retryable = retryableStatus();
    for (const status of [408, 425, 429, 500, 502, 503, 504]) {
      expect(retryable({ status })).toBe(true);
    }
    expect([...RETRYABLE_STATUS_CODES]).toEqual([408, 425, 429, 500, 502, 503, 504]);
  });

  it('does not retry success, client errors, 501 or 505', () => {
    const retryable = retryableStatus();
    for (const status of [200, 204, 301, 400, 401, 403, 404, 409, 422, 501, 505]) {
      expect(retryable({ status })).toBe(false);
    }
  });

  it('takes a custom list of codes', () => {
    const retryable = retryableStatus([409]);
    expect(retryable({ statusCode: 409 })).toBe(true);
    expect(retryable({ statusCode: 503 })).toBe(false);
  });

  it('ignores statuses outside the table instead of reading past it', () => {
    const retryable = retryableStatus();
    expect(retryable({ status: -1 })).toBe(false);
    expect(retryable({ status: 5030 })).toBe(false);
    expect(retryable({ status: 503.5 })).toBe(false);
  });

  it('rejects codes that are not HTTP statuses', () => {
    expect(() => retryableStatus([1000])).toThrow(
      new RangeError('expected codes to hold HTTP status codes between 100 and 999, got 1000'),
    );
    expect(() => retryableStatus([50.5])).toThrow(RangeError);
  });
});

describe('isRetryableError', () => {
  it('retries network errors, also wrapped in a cause', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isRetryableError(reset)).toBe(true);
    expect(isRetryableError(new TypeError('fetch failed', { cause: reset }))).toBe(true);
  });

  it("retries Bulwark's per-attempt TimeoutError", () => {
    expect(isRetryableError(new TimeoutError(500))).toBe(true);
  });

  it('retries errors that carry a retryable status (axios, got, ky)', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { response: { status: 503 } }))).toBe(
      true,
    );
    expect(isRetryableError(Object.assign(new Error('x'), { statusCode: 404 }))).toBe(false);
  });

  it('never retries a cancellation or an exceeded deadline', () => {
    expect(isRetryableError(new CancelledError())).toBe(false);
    expect(isRetryableError(new DeadlineExceededError(1000))).toBe(false);
  });

  it('does not retry an open circuit or a full bulkhead', () => {
    expect(isRetryableError(new BrokenCircuitError())).toBe(false);
    expect(isRetryableError(new BulkheadRejectedError('full', 10, 0))).toBe(false);
  });

  it('does not retry an open circuit, a full bulkhead or a spent deadline even when caused by a network error', () => {
    const cause = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const withCause = <T extends Error>(error: T): T => Object.assign(error, { cause });
    expect(isRetryableError(withCause(new BrokenCircuitError()))).toBe(false);
    expect(isRetryableError(withCause(new BulkheadRejectedError('full', 10, 0)))).toBe(false);
    expect(isRetryableError(new DeadlineExceededError(100, undefined, { cause }))).toBe(false);
    expect(isRetryableError(withCause(new CancelledError()))).toBe(false);
  });

  it('does not retry an ordinary error', () => {
    expect(isRetryableError(new Error('bad input'))).toBe(false);
    expect(isRetryableError(new TypeError('x is not a function'))).toBe(false);
  });
});

describe('anyOf', () => {
  it('is true when any predicate is', () => {
    const predicate = anyOf(
      (e) => e === 1,
      (e) => e === 2,
    );
    expect(predicate(1)).toBe(true);
    expect(predicate(2)).toBe(true);
    expect(predicate(3)).toBe(false);
  });

  it('rejects an argument that is not a function', () => {
    expect(() => anyOf(() => true, 'x' as unknown as () => boolean)).toThrow(
      new TypeError('expected anyOf argument 2 to be a function'),
    );
  });
});

describe('defaultClassifier', () => {
  it('retries retryable errors and results with a retryable status', () => {
    expect(defaultClassifier.error?.(new TimeoutError(10))).toBe(true);
    expect(defaultClassifier.result?.({ status: 503 })).toBe(true);
    expect(defaultClassifier.result?.({ status: 200 })).toBe(false);
    expect(defaultClassifier.result?.('ok')).toBe(false);
  });
});
