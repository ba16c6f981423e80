import { isBulwarkError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { RateLimitedError, isRateLimitedError } from './errors.js';

describe('RateLimitedError', () => {
  it('carries a stable code, the policy and the wait, and no key', () => {
    const error = new RateLimitedError('queue-full', 'partner-api', 50, 1_250);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'RateLimitedError',
      code: 'BULWARK_RATE_LIMITED',
      reason: 'queue-full',
      policy: 'partner-api',
      limit: 50,
      retryAfterMs: 1_250,
    });
    expect(error.message).toBe(
      'rate limit "partner-api" exceeded and its queue is full; retry after 1250 ms',
    );
  });

  it('is recognised by its brand, as core recognises every Bulwark error', () => {
    const error = new RateLimitedError('limit', 'default', 1, 1);
    expect(isRateLimitedError(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
    // Another installed copy of the package makes an equal error under the registered symbol.
    const copy = Object.defineProperty(new Error('copy'), Symbol.for('bulwark.error'), {
      value: true,
    });
    Object.defineProperty(copy, 'code', { value: 'BULWARK_RATE_LIMITED' });
    expect(isRateLimitedError(copy)).toBe(true);
  });

  it('is not mistaken for other errors', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'BULWARK_RATE_LIMITED' });
    expect(isRateLimitedError(lookalike)).toBe(false);
    expect(isRateLimitedError(undefined)).toBe(false);
    expect(isRateLimitedError('BULWARK_RATE_LIMITED')).toBe(false);
  });
});
