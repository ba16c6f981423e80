import type { PolicyEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { FixedSlots } from './slots.js';

describe('FixedSlots', () => {
  it('admits up to the limit and again once a slot is given back', () => {
    const slots = new FixedSlots(2, 1000, 'http-server', undefined);
    expect([slots.tryAcquire(), slots.tryAcquire(), slots.tryAcquire()]).toEqual([
      true,
      true,
      false,
    ]);
    expect(slots.active).toBe(2);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  it('refuses with the bulkhead’s own error and Retry-After hint', () => {
    const slots = new FixedSlots(1, 2500, 'http-server', undefined);
    slots.tryAcquire();
    const error = slots.rejection();
    expect(error.code).toBe('BULWARK_BULKHEAD_REJECTED');
    expect(error.reason).toBe('full');
    expect(error.limit).toBe(1);
    expect(error.queueLimit).toBe(0);
    expect(error.retryAfterMs).toBe(2500);
  });

  it('reports a refusal as the bulkhead does, only when a listener is set', () => {
    const events: PolicyEvent[] = [];
    const slots = new FixedSlots(1, 1000, 'http-server', (e) => events.push(e));
    slots.tryAcquire();
    slots.rejection();
    expect(events).toEqual([
      {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: 'http-server',
        operation: undefined,
        reason: 'full',
        active: 1,
        queued: 0,
        limit: 1,
      },
    ]);
  });
});
