import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { isRetryBudget, retryBudget } from './retry-budget.js';

describe('retryBudget', () => {
  it('allows ratio × first attempts as retries, with no reserve', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000, clock });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.available).toBe(2);
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
    expect(budget.available).toBe(0);
  });

  it('keeps a reserve of minRetriesPerSecond × window for quiet clients', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 3000, clock });
    expect(budget.available).toBe(3);
    expect([1, 2, 3, 4].map(() => budget.tryAcquireRetry())).toEqual([true, true, true, false]);
  });

  it('refills once the retries it granted leave the window', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1000, clock });
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
    await clock.advance(999);
    expect(budget.tryAcquireRetry()).toBe(false);
    await clock.advance(1);
    expect(budget.tryAcquireRetry()).toBe(true);
  });

  it('forgets first attempts that left the window too', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.5, minRetriesPerSecond: 0, windowMs: 1000, clock });
    for (let i = 0; i < 4; i++) budget.recordRequest();
    expect(budget.available).toBe(2);
    await clock.advance(500);
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.available).toBe(3);
    await clock.advance(500);
    expect(budget.state).toMatchObject({ requests: 2, available: 1 });
  });

  it('empties the whole window after a long idle gap in bounded work', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000, clock });
    for (let i = 0; i < 5; i++) budget.recordRequest();
    await clock.advance(1e12);
    expect(budget.state).toMatchObject({ requests: 0, retries: 0, available: 0 });
  });

  it('counts fractional ratios without floating-point loss', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.29, minRetriesPerSecond: 0, clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(budget.available).toBe(29);
  });

  it('exposes a read-only snapshot for metrics', () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.5, minRetriesPerSecond: 2, windowMs: 2000, clock });
    budget.recordRequest();
    budget.recordRequest();
    budget.tryAcquireRetry();
    expect(budget.state).toEqual({
      available: 4,
      requests: 2,
      retries: 1,
      ratio: 0.5,
      minRetriesPerSecond: 2,
      windowMs: 2000,
    });
  });

  it('ignores a clock that steps back', async () => {
    let now = 5000;
    const clock = new FakeClock();
    vi.spyOn(clock, 'now').mockImplementation(() => now);
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000, clock });
    budget.recordRequest();
    now = 1000;
    budget.recordRequest();
    expect(budget.available).toBe(2);
    now = 5000;
    expect(budget.available).toBe(2);
  });

  it('uses Finagle-like defaults: ratio 0.2, 10 retries a second, a 10 s window', () => {
    expect(retryBudget({ clock: new FakeClock() }).state).toEqual({
      available: 100,
      requests: 0,
      retries: 0,
      ratio: 0.2,
      minRetriesPerSecond: 10,
      windowMs: 10_000,
    });
  });

  it('rejects bad options with exact messages', () => {
    expect(() => retryBudget({ ratio: -0.1 })).toThrow(
      new RangeError('expected ratio to be a finite number between 0 and 100, got -0.1'),
    );
    expect(() => retryBudget({ minRetriesPerSecond: Infinity })).toThrow(
      new RangeError(
        'expected minRetriesPerSecond to be a finite number between 0 and 1000000, got Infinity',
      ),
    );
    expect(() => retryBudget({ windowMs: 10 })).toThrow(
      new RangeError('expected windowMs to be a finite number between 100 and 3600000, got 10'),
    );
    expect(() => retryBudget({ clock: {} as FakeClock })).toThrow(
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
      ),
    );
    expect(() => retryBudget('x' as unknown as object)).toThrow(
      new TypeError('expected the options of retryBudget() to be an object, got "x"'),
    );
  });

  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() => retryBudget({ ration: 0.1 } as never)).toThrow(
      new TypeError(
        'unknown option "ration" for retryBudget(); did you mean "ratio"? expected one of ratio, minRetriesPerSecond, windowMs, clock',
      ),
    );
  });

  it('is recognised by isRetryBudget, and other objects are not', () => {
    expect(isRetryBudget(retryBudget())).toBe(true);
    expect(isRetryBudget({ available: 3 })).toBe(false);
  });
});
