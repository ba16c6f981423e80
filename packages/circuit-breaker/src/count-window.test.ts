import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from './circuit-breaker.js';
import { countWindow } from './count-window.js';

const boom = (): never => {
  throw new Error('boom');
};

describe('countWindow()', () => {
  it('opens when the failure ratio of the window reaches failureRatio, not before', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 10, failureRatio: 0.3, minimumCalls: 10 }),
      clock,
    });
    for (let i = 0; i < 8; i++) await breaker.execute(() => 'ok');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    // 2 of 10 failed: 0.2 < 0.3.
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    // The oldest success slid out: 3 of 10 = 0.3 reaches the ratio.
    expect(breaker.state).toBe('open');
  });

  it('judges no ratio before minimumCalls calls', async () => {
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 10, failureRatio: 0.5, minimumCalls: 4 }),
      clock: new FakeClock(),
    });
    for (let i = 0; i < 3; i++) await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('closed');
    expect(breaker.view()).toMatchObject({ calls: 3, failures: 3, failureRatio: 1 });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });

  it('defaults minimumCalls to the window size', async () => {
    const breaker = circuitBreaker({ strategy: countWindow({ size: 5 }), clock: new FakeClock() });
    for (let i = 0; i < 4; i++) await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });

  it('forgets calls older than the last size calls', async () => {
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 4, failureRatio: 0.75, minimumCalls: 4 }),
      clock: new FakeClock(),
    });
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    expect(breaker.view()).toMatchObject({ calls: 4, failures: 0 });
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('counts calls slower than slowCallMs and opens when their ratio reaches slowCallRatio', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 4, minimumCalls: 4, slowCallMs: 100, slowCallRatio: 0.5 }),
      clock,
    });
    const call = (ms: number) =>
      breaker.execute(async () => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
        return 'ok';
      });
    const runFor = async (ms: number) => {
      const p = call(ms);
      await clock.advance(ms);
      await p;
    };
    await runFor(100); // exactly the threshold is not slow
    await runFor(10);
    await runFor(101);
    expect(breaker.view()).toMatchObject({ calls: 3, slowCalls: 1, failures: 0 });
    await runFor(10);
    // 1 of 4 slow: 0.25 < 0.5.
    expect(breaker.state).toBe('closed');
    await runFor(500);
    // The oldest (100 ms, not slow) slid out: 2 of 4 slow.
    expect(breaker.view()).toMatchObject({ state: 'open', slowCalls: 2, slowCallRatio: 0.5 });
  });

  it('counts a slow failure both as a failure and as slow', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: countWindow({ size: 10, minimumCalls: 10, slowCallMs: 50 }),
      clock,
    });
    const p = breaker.execute(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 60));
      throw new Error('late and wrong');
    });
    const settled = expect(p).rejects.toThrow('late and wrong');
    await clock.advance(60);
    await settled;
    expect(breaker.view()).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it('shows no slow-call figures without a slow-call rule', async () => {
    const breaker = circuitBreaker({ strategy: countWindow(), clock: new FakeClock() });
    await breaker.execute(() => 'ok');
    expect(breaker.view()).toMatchObject({
      calls: 1,
      slowCalls: undefined,
      slowCallRatio: undefined,
    });
  });

  it.each<[string, object, string, string]>([
    ['its own', { minimumCall: 10 }, 'minimumCall', 'minimumCalls'],
    [
      'of the slow-call rule',
      { slowCallMs: 100, slowCallRation: 0.5 },
      'slowCallRation',
      'slowCallRatio',
    ],
  ])(
    'rejects a misspelt option %s, suggesting the name it misspells',
    (_which, options, key, intended) => {
      expect(() => countWindow(options)).toThrow(
        new TypeError(
          `unknown option "${key}" for countWindow(); did you mean "${intended}"? expected one of size, failureRatio, minimumCalls, slowCallMs, slowCallRatio`,
        ),
      );
    },
  );

  it('rejects bad options with exact messages', () => {
    expect(() => countWindow({ size: 0 })).toThrow(
      new RangeError('expected size to be an integer between 1 and 100000, got 0'),
    );
    expect(() => countWindow({ failureRatio: 0 })).toThrow(
      new RangeError('expected failureRatio to be a number > 0 and <= 1, got 0'),
    );
    expect(() => countWindow({ failureRatio: 1.5 })).toThrow(
      new RangeError('expected failureRatio to be a number > 0 and <= 1, got 1.5'),
    );
    expect(() => countWindow({ failureRatio: 'half' as unknown as number })).toThrow(
      new TypeError('expected failureRatio to be a number > 0 and <= 1, got "half"'),
    );
    expect(() => countWindow({ size: 10, minimumCalls: 11 })).toThrow(
      new RangeError('expected minimumCalls to be an integer between 1 and 10, got 11'),
    );
    expect(() => countWindow({ slowCallMs: -1 })).toThrow(
      new RangeError('expected slowCallMs to be a finite number >= 0, got -1'),
    );
    expect(() => countWindow({ slowCallRatio: 0.5 })).toThrow(
      new TypeError('expected slowCallMs to be a number >= 0, got undefined'),
    );
    expect(() => countWindow({ slowCallMs: 10, slowCallRatio: 0 })).toThrow(
      new RangeError('expected slowCallRatio to be a number > 0 and <= 1, got 0'),
    );
    expect(() => countWindow([] as unknown as object)).toThrow(
      new TypeError('expected the options of countWindow() to be an object, got an array'),
    );
  });
});
