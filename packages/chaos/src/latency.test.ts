import { getEventListeners } from 'node:events';
import {
  type PolicyEvent,
  isCancelledError,
  isDeadlineExceededError,
  isTimeoutError,
  pipeline,
} from '@bulwark/core';
import { BulwarkPolicy, type Context, type Next } from '@bulwark/core/internal';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock, settle } from '@bulwark/testing';
import { deadline, timeout } from '@bulwark/timeout';
import { describe, expect, it, vi } from 'vitest';
import type { ChaosEvent, ChaosLatencyEvent } from './events.js';
import { chaosLatency } from './latency.js';

/** Whether `promise` has settled, without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  return (
    (await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      settle().then(() => pending),
    ])) !== pending
  );
}

/**
 * Sets a deadline in the context without arming anything to enforce it, as a policy that only
 * passes a budget on would: the latency must end at the deadline on its own.
 */
class DeadlineOnly extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly budgetMs: number,
  ) {
    super(clock);
  }
  protected run(context: Context, next: Next): Promise<unknown> {
    const scoped = context.withScope(context.scope, this.clock.now() + this.budgetMs);
    return Promise.resolve(next.call(scoped));
  }
}

describe('chaosLatency', () => {
  it('holds an injected call for latencyMs on the clock, then runs it', async () => {
    const clock = new FakeClock();
    const fn = vi.fn(() => 'done');
    const call = chaosLatency({ rate: 1, latencyMs: 1_000, clock }).execute(fn);
    await clock.advance(999);
    expect(fn).not.toHaveBeenCalled();
    expect(await isSettled(call)).toBe(false);
    await clock.advance(1);
    expect(await call).toBe('done');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends the wait at once when the caller aborts, leaving no timer and no listener', async () => {
    const clock = new FakeClock();
    const fn = vi.fn(() => 'done');
    const controller = new AbortController();
    const call = chaosLatency({ rate: 1, latencyMs: 60_000, clock }).execute(fn, controller.signal);
    await settle();
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('user left'));
    const error: unknown = await call.catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect((error as { reason: Error }).reason.message).toBe('user left');
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(fn).not.toHaveBeenCalled();
  });

  it('fails at once, with no timer, when the caller has aborted already', async () => {
    const clock = new FakeClock();
    const call = chaosLatency({ rate: 1, latencyMs: 1_000, clock }).execute(
      () => 'done',
      AbortSignal.abort(),
    );
    await expect(call).rejects.toSatisfy(isCancelledError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends the wait at a deadline policy’s deadline, where the deadline fails the call with its own error', async () => {
    const clock = new FakeClock();
    const events: ChaosEvent[] = [];
    const fn = vi.fn(() => 'done');
    const call = pipeline(
      deadline(500, { clock }),
      chaosLatency({ rate: 1, latencyMs: 1_000, clock, listener: (e) => events.push(e) }),
    )
      .execute(fn)
      .catch((e: unknown) => e);
    await clock.advance(499);
    expect(await isSettled(call)).toBe(false);
    await clock.advance(1);
    expect(isDeadlineExceededError(await call)).toBe(true);
    expect(fn).not.toHaveBeenCalled();
    expect(events).toMatchObject([{ kind: 'latency', latencyMs: 500, cutByDeadline: true }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends the wait at a deadline nobody enforces, and the call goes on then', async () => {
    const clock = new FakeClock();
    const events: ChaosEvent[] = [];
    const call = pipeline(
      new DeadlineOnly(clock, 300),
      chaosLatency({ rate: 1, latencyMs: 1_000, clock, listener: (e) => events.push(e) }),
    ).execute(() => clock.now());
    await clock.advance(299);
    expect(await isSettled(call)).toBe(false);
    await clock.advance(1);
    expect(await call).toBe(300);
    expect(events).toMatchObject([{ latencyMs: 300, cutByDeadline: true }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs the call after the latency when the deadline leaves room for it', async () => {
    const clock = new FakeClock();
    const events: ChaosEvent[] = [];
    const call = pipeline(
      deadline(2_000, { clock }),
      chaosLatency({ rate: 1, latencyMs: 1_000, clock, listener: (e) => events.push(e) }),
    ).execute(() => clock.now());
    await clock.advance(1_000);
    expect(await call).toBe(1_000);
    expect(events).toMatchObject([{ latencyMs: 1_000, cutByDeadline: false }]);
  });

  it('asks a latency function per injection, and waits not at all for what is not a positive number', async () => {
    const clock = new FakeClock();
    const answers = [250, NaN, -5, 'soon'];
    let i = 0;
    const events: ChaosLatencyEvent[] = [];
    const policy = chaosLatency({
      rate: 1,
      clock,
      latencyMs: () => answers[i++] as number,
      listener: (e) => events.push(e as ChaosLatencyEvent),
    });
    const first = policy.execute(() => clock.now());
    await clock.advance(250);
    expect(await first).toBe(250);
    for (let n = 0; n < 3; n++) expect(await policy.execute(() => clock.now())).toBe(250);
    expect(events.map((e) => e.latencyMs)).toEqual([250, 0, 0, 0]);
  });

  it('composes with retry and an attempt timeout: a slow first attempt times out and is retried', async () => {
    const clock = new FakeClock();
    const retries: PolicyEvent[] = [];
    const attempts: number[] = [];
    const call = pipeline(
      retry({
        clock,
        maxAttempts: 3,
        backoff: constantBackoff(0),
        listener: (e) => retries.push(e),
      }),
      timeout(500, { clock }),
      chaosLatency({
        rate: ({ context }) => (context.attempt === 1 ? 1 : 0),
        latencyMs: 2_000,
        clock,
      }),
    ).execute(({ attempt }) => {
      attempts.push(attempt);
      return 'fast enough';
    });
    await clock.advance(500);
    expect(await call).toBe('fast enough');
    expect(attempts).toEqual([2]);
    const scheduled = retries.filter((e) => e.type === 'retry-scheduled');
    expect(scheduled).toHaveLength(1);
    expect(isTimeoutError((scheduled[0] as { error: unknown }).error)).toBe(true);
    // The timeout's own timer is unref'd and may stay armed; the injected wait's is gone.
    expect(clock.referencedTimers).toBe(0);
  });
});
