import { type PolicyEvent, pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { chaosOutcome } from './outcome.js';

describe('chaosOutcome', () => {
  it('answers an injected call with its own result, without running it', async () => {
    const fn = vi.fn(() => ({ items: [1, 2, 3] }));
    const empty = chaosOutcome({ rate: 1, outcome: () => ({ items: [] }) });
    expect(await empty.execute(fn)).toEqual({ items: [] });
    expect(fn).not.toHaveBeenCalled();
  });

  it('waits for an outcome given as a promise, and fails with what the outcome function throws or rejects', async () => {
    expect(
      await chaosOutcome({ rate: 1, outcome: () => Promise.resolve('later') }).execute(() => 'x'),
    ).toBe('later');
    const thrown = new Error('thrown');
    await expect(
      chaosOutcome({
        rate: 1,
        outcome: () => {
          throw thrown;
        },
      }).execute(() => 'x'),
    ).rejects.toBe(thrown);
    const rejected = new Error('rejected');
    await expect(
      chaosOutcome({ rate: 1, outcome: () => Promise.reject(rejected) }).execute(() => 'x'),
    ).rejects.toBe(rejected);
  });

  it('composes with retry: injected 503 results are retried as real ones would be', async () => {
    const clock = new FakeClock();
    const retries: PolicyEvent[] = [];
    let decided = 0;
    const fn = vi.fn(() => ({ status: 200 }));
    const call = pipeline(
      retry({
        clock,
        maxAttempts: 3,
        backoff: constantBackoff(0),
        listener: (e) => retries.push(e),
      }),
      chaosOutcome({ rate: 1, enabled: () => decided++ < 2, outcome: () => ({ status: 503 }) }),
    );
    expect(await call.execute(fn)).toEqual({ status: 200 });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(retries.filter((e) => e.type === 'retry-scheduled')).toHaveLength(2);
  });
});
