import type { PolicyEvent } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { adaptiveLimit } from './adaptive-limit.js';
import { AimdLimit } from './aimd.js';
import { bulkhead } from './bulkhead.js';
import { sleep } from './test-helpers.js';

const settings = { initial: 10, min: 2, max: 12, latencyThresholdMs: 100, backoffRatio: 0.9 };

describe('AimdLimit', () => {
  it('adds 1 per fast success while at least half the limit is in flight', () => {
    const aimd = new AimdLimit(settings);
    expect(aimd.update(10, 5, false)).toBe(11);
    expect(aimd.update(10, 6, false)).toBe(12);
  });

  it('does not grow while app-limited (fewer than half the limit in flight)', () => {
    const aimd = new AimdLimit(settings);
    expect(aimd.update(10, 4, false)).toBe(10);
  });

  it('multiplies by backoffRatio, rounding down, on a drop', () => {
    const aimd = new AimdLimit(settings);
    expect(aimd.update(10, 1, true)).toBe(9);
    expect(aimd.update(10, 1, true)).toBe(8);
  });

  it('falls by at least 1 even when the ratio barely moves a small limit', () => {
    const aimd = new AimdLimit({ ...settings, initial: 3, min: 1, backoffRatio: 0.99 });
    expect(aimd.update(10, 1, true)).toBe(2);
    expect(aimd.update(10, 1, true)).toBe(1);
  });

  it('treats a call slower than the threshold as a drop, and one exactly at it as fine', () => {
    const aimd = new AimdLimit(settings);
    expect(aimd.update(101, 10, false)).toBe(9);
    expect(aimd.update(100, 10, false)).toBe(10);
  });

  it('stays within [min, max]', () => {
    const aimd = new AimdLimit(settings);
    for (let i = 0; i < 20; i++) aimd.update(10, 100, false);
    expect(aimd.limit).toBe(12);
    for (let i = 0; i < 50; i++) aimd.update(10, 100, true);
    expect(aimd.limit).toBe(2);
  });
});

describe('bulkhead with an AIMD limit', () => {
  function setup(options: { initial: number; min?: number; max?: number }) {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = bulkhead({
      limit: adaptiveLimit({
        algorithm: 'aimd',
        latencyThresholdMs: 100,
        min: 1,
        max: 50,
        ...options,
      }),
      queue: 100,
      clock,
      listener: (e) => events.push(e),
    });
    return { clock, events, policy };
  }

  it('decreases the limit when a call takes longer than the latency threshold', async () => {
    const { clock, events, policy } = setup({ initial: 10 });
    const call = policy.execute(() => sleep(clock, 150));
    await clock.advance(150);
    await call;
    expect(policy.limit).toBe(9);
    expect(events).toEqual([
      {
        type: 'bulkhead-limit',
        policy: 'bulkhead',
        name: undefined,
        operation: undefined,
        from: 10,
        to: 9,
      },
    ]);
  });

  it('decreases the limit when a call fails', async () => {
    const { policy } = setup({ initial: 10 });
    await expect(policy.execute(() => Promise.reject(new Error('503')))).rejects.toThrow('503');
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(policy.limit).toBe(8);
  });

  it('increases the limit by 1 per call that succeeds under the threshold under load', async () => {
    const { clock, policy } = setup({ initial: 2 });
    const calls = [policy.execute(() => sleep(clock, 50)), policy.execute(() => sleep(clock, 50))];
    await clock.advance(50);
    await Promise.all(calls);
    expect(policy.limit).toBe(4);
  });

  it('does not increase the limit while traffic stays below half of it', async () => {
    const { clock, policy } = setup({ initial: 10 });
    for (let i = 0; i < 5; i++) {
      const call = policy.execute(() => sleep(clock, 10));
      await clock.advance(10);
      await call;
    }
    expect(policy.limit).toBe(10);
  });

  it('keeps the limit within min and max', async () => {
    const { clock, policy } = setup({ initial: 3, min: 2, max: 4 });
    for (let wave = 0; wave < 3; wave++) {
      const calls = [1, 2, 3, 4].map(() => policy.execute(() => sleep(clock, 10)));
      await clock.runAll();
      await Promise.all(calls);
    }
    expect(policy.limit).toBe(4);
    for (let i = 0; i < 5; i++) {
      await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    }
    expect(policy.limit).toBe(2);
  });
});
