import { describe, expect, it } from 'vitest';
import {
  RETRYABLE_NETWORK_ERROR_CODES,
  errorCodeIn,
  isRetryableNetworkError,
} from './network-errors.js';

function systemError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('isRetryableNetworkError', () => {
  it.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'ECONNABORTED',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
  ])('retries an error with code %s', (code) => {
    expect(RETRYABLE_NETWORK_ERROR_CODES).toContain(code);
    expect(isRetryableNetworkError(systemError(code))).toBe(true);
  });

  it('finds the code in the cause of fetch\'s TypeError("fetch failed")', () => {
    const error = new TypeError('fetch failed', { cause: systemError('UND_ERR_SOCKET') });
    expect(isRetryableNetworkError(error)).toBe(true);
  });

  it('follows a cause chain several links deep', () => {
    const inner = systemError('ECONNRESET');
    const middle = new Error('request failed', { cause: inner });
    const outer = new Error('client error', { cause: middle });
    expect(isRetryableNetworkError(outer)).toBe(true);
  });

  it('looks inside an AggregateError from a multi-address connect', () => {
    const error = new AggregateError(
      [systemError('ECONNREFUSED'), systemError('ENETUNREACH')],
      'connect failed',
    );
    expect(isRetryableNetworkError(new TypeError('fetch failed', { cause: error }))).toBe(true);
  });

  it('does not retry a DNS name that does not exist, or an abort', () => {
    expect(isRetryableNetworkError(systemError('ENOTFOUND'))).toBe(false);
    expect(isRetryableNetworkError(systemError('UND_ERR_ABORTED'))).toBe(false);
    expect(isRetryableNetworkError(new TypeError('fetch failed'))).toBe(false);
  });

  it('ignores values that are not errors and numeric codes', () => {
    expect(isRetryableNetworkError(undefined)).toBe(false);
    expect(isRetryableNetworkError('ECONNRESET')).toBe(false);
    expect(isRetryableNetworkError({ code: 104 })).toBe(false);
  });

  it('terminates on a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isRetryableNetworkError(a)).toBe(false);
  });

  it('stops following causes after a bounded depth', () => {
    let error: unknown = systemError('ECONNRESET');
    for (let i = 0; i < 20; i++) error = new Error(`wrap ${i}`, { cause: error });
    expect(isRetryableNetworkError(error)).toBe(false);
  });

  it('publishes the codes as a frozen list', () => {
    expect(Object.isFrozen(RETRYABLE_NETWORK_ERROR_CODES)).toBe(true);
  });
});

describe('errorCodeIn', () => {
  it('builds a predicate for a custom list of codes, cause chain included', () => {
    const isNotFound = errorCodeIn(['ENOTFOUND']);
    expect(isNotFound(new Error('x', { cause: systemError('ENOTFOUND') }))).toBe(true);
    expect(isNotFound(systemError('ECONNRESET'))).toBe(false);
  });

  it('rejects a code that is not a string', () => {
    expect(() => errorCodeIn([42 as unknown as string])).toThrow(
      new TypeError('expected codes to hold strings, got number'),
    );
  });
});
