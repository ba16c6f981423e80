import { FakeClock } from '@bulwark/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, systemClock, unrefTimer } from './clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('systemClock', () => {
  it('reads monotonic time from performance.now()', () => {
    const before = performance.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(performance.now());
  });

  it('reads wall-clock time from Date.now()', () => {
    const before = Date.now();
    const now = systemClock.dateNow();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("schedules and clears Node's timers", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push('kept'), 100);
    const cleared = systemClock.setTimeout(() => fired.push('cleared'), 50);
    systemClock.clearTimeout(cleared);
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).toEqual(['kept']);
  });

  it('returns handles that can be unref’d', () => {
    const handle = systemClock.setTimeout(() => undefined, 60_000);
    expect(typeof handle.unref).toBe('function');
    systemClock.clearTimeout(handle);
  });
});

describe('unrefTimer', () => {
  it('starts a timer that does not keep the process alive', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    unrefTimer(clock, callback, 100);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
    await clock.advance(100);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('works with clocks whose handles have no unref()', () => {
    const handle = {};
    const clock: Clock = {
      now: () => 0,
      dateNow: () => 0,
      setTimeout: () => handle,
      clearTimeout: () => undefined,
    };
    expect(unrefTimer(clock, () => undefined, 10)).toBe(handle);
  });
});
