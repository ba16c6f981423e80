import { type PolicyEvent, isBulwarkError, pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { isChaosFaultError } from './errors.js';
import type { ChaosEvent } from './events.js';
import { chaosFault } from './fault.js';

describe('chaosFault', () => {
  it('fails an injected call with a ChaosFaultError that says it was injected, without running it', async () => {
    const fn = vi.fn(() => 'done');
    const error: unknown = await chaosFault({ rate: 1, name: 'orders-down' })
      .execute(fn)
      .catch((e: unknown) => e);
    expect(isChaosFaultError(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'ChaosFaultError',
      code: 'BULWARK_CHAOS_FAULT',
      policy: 'orders-down',
      message: 'fault injected by chaos policy "orders-down"',
    });
    expect(fn).not.toHaveBeenCalled();
  });

  it('throws the given error itself, every time', async () => {
    const error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const policy = chaosFault({ rate: 1, error });
    await expect(policy.execute(() => 'done')).rejects.toBe(error);
    await expect(policy.execute(() => 'done')).rejects.toBe(error);
  });

  it('asks an error function per injection, and lets the call through when it returns undefined', async () => {
    const events: ChaosEvent[] = [];
    const policy = chaosFault({
      rate: 1,
      listener: (e) => events.push(e),
      error: ({ context }) =>
        context.operation === 'write' ? new Error(`no ${context.operation}s today`) : undefined,
    });
    await expect(pipeline({ operation: 'write' }, policy).execute(() => 'done')).rejects.toThrow(
      'no writes today',
    );
    expect(await pipeline({ operation: 'read' }, policy).execute(() => 'done')).toBe('done');
    expect(events.map((e) => e.operation)).toEqual(['write']);
  });

  it('fails the call with what an error function throws', async () => {
    const bug = new Error('bug in the error function');
    const policy = chaosFault({
      rate: 1,
      error: () => {
        throw bug;
      },
    });
    await expect(policy.execute(() => 'done')).rejects.toBe(bug);
  });

  it('composes with retry: faults injected into the first calls are retried, and the call succeeds', async () => {
    const clock = new FakeClock();
    const retries: PolicyEvent[] = [];
    let decided = 0;
    const fn = vi.fn(() => 'done');
    const call = pipeline(
      retry({
        clock,
        maxAttempts: 4,
        backoff: constantBackoff(0),
        classify: { error: isChaosFaultError },
        listener: (e) => retries.push(e),
      }),
      chaosFault({ rate: 1, enabled: () => decided++ < 2 }),
    );
    expect(await call.execute(fn)).toBe('done');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(expect.objectContaining({ attempt: 3 }));
    expect(retries.filter((e) => e.type === 'retry-scheduled')).toHaveLength(2);
  });
});
