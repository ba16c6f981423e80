import { isBulwarkError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { ChaosFaultError, isChaosFaultError } from './errors.js';

describe('ChaosFaultError', () => {
  it('carries a stable code and says it was injected, with or without a policy name', () => {
    expect(new ChaosFaultError(undefined)).toMatchObject({
      name: 'ChaosFaultError',
      code: 'BULWARK_CHAOS_FAULT',
      policy: undefined,
      message: 'fault injected by chaos',
    });
    expect(new ChaosFaultError('payments').message).toBe(
      'fault injected by chaos policy "payments"',
    );
  });

  it('is recognised by its brand, from another installed copy too', () => {
    const error = new ChaosFaultError(undefined);
    expect(isChaosFaultError(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
    const copy = Object.defineProperty(new Error('copy'), Symbol.for('bulwark.error'), {
      value: true,
    });
    Object.defineProperty(copy, 'code', { value: 'BULWARK_CHAOS_FAULT' });
    expect(isChaosFaultError(copy)).toBe(true);
  });

  it('is not mistaken for other errors', () => {
    expect(isChaosFaultError(Object.assign(new Error('x'), { code: 'BULWARK_CHAOS_FAULT' }))).toBe(
      false,
    );
    expect(isChaosFaultError(undefined)).toBe(false);
    expect(isChaosFaultError('BULWARK_CHAOS_FAULT')).toBe(false);
  });
});
