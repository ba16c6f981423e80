import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from './circuit-breaker.js';
import { timeWindow } from './time-window.js';

const boom = (): never => {
  throw new Error('boom');
};

function setup(options: Parameters<typeof timeWindow>[0]) {
  const clock = new FakeClock();
  const breaker = circuitBreaker({ strategy: timeWindow(options), clock });
  const fail = (n: number) => {
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) all.push(expect(breaker.execute(boom)).rejects.toThrow('boom'));
    return Promise.all(all);
  };
  const succeed = async (n: number) => {
    for (let i = 0; i < n; i++) await breaker.execute(() => 'ok');
  };
  return { clock, breaker, fail, succeed };
}

describe('timeWindow()', () => {
  it('opens when the failure ratio over the window reaches failureRatio, not before', async () => {
    const { clock, breaker, fail, succeed } = setup({
      windowMs: 1000,
      buckets: 10,
      failureRatio: 0.5,
      minimumThroughput: 4,
    });
    await succeed(3);
    await clock.advance(300);
    await fail(2);
    // 2 of 5.
    expect(breaker.state).toBe('closed');
    await clock.advance(300);
    await fail(1);
    // 3 of 6 reaches 0.5.
    expect(breaker.state).toBe('open');
  });

  it('judges no ratio while the window holds fewer than minimumThroughput calls', async () => {
    const { breaker, fail } = setup({ windowMs: 1000, minimumThroughput: 5 });
    await fail(4);
    expect(breaker.view()).toMatchObject({ state: 'closed', calls: 4, failures: 4 });
    await fail(1);
    expect(breaker.state).toBe('open');
  });

  it('drops buckets as they fall out of the window', async () => {
    const { clock, breaker, fail } = setup({ windowMs: 1000, buckets: 10, minimumThroughput: 100 });
    await fail(3); // bucket [0, 100)
    await clock.advance(500);
    await fail(2); // bucket [500, 600)
    await clock.advance(499); // t = 999
    expect(breaker.view()).toMatchObject({ calls: 5, failures: 5 });
    await clock.advance(1); // t = 1000: the first bucket leaves
    expect(breaker.view()).toMatchObject({ calls: 2, failures: 2 });
    await clock.advance(500); // t = 1500: the second leaves
    expect(breaker.view()).toMatchObject({ calls: 0, failures: 0, failureRatio: undefined });
  });

  it('does not open on failures that have left the window', async () => {
    const { clock, breaker, fail, succeed } = setup({
      windowMs: 1000,
      buckets: 4,
      failureRatio: 0.5,
      minimumThroughput: 4,
    });
    await fail(3);
    await clock.advance(1000);
    await fail(1);
    await succeed(2);
    // Only the last 3 calls are in the window: 1 failure of 3 and below the minimum.
    expect(breaker.view()).toMatchObject({ state: 'closed', calls: 3, failures: 1 });
  });

  it('clears everything after a gap longer than the window', async () => {
    const { clock, breaker, fail } = setup({ windowMs: 1000, buckets: 10, minimumThroughput: 50 });
    await fail(5);
    await clock.advance(25_000);
    await fail(1);
    expect(breaker.view()).toMatchObject({ calls: 1, failures: 1 });
  });

  it('counts slow calls and opens when their ratio reaches slowCallRatio', async () => {
    const { clock, breaker } = setup({
      windowMs: 10_000,
      minimumThroughput: 2,
      slowCallMs: 200,
      slowCallRatio: 1,
    });
    const slowCall = async () => {
      const p = breaker.execute(async () => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 250));
        return 'ok';
      });
      await clock.advance(250);
      await p;
    };
    await slowCall();
    expect(breaker.view()).toMatchObject({ state: 'closed', slowCalls: 1, calls: 1 });
    await slowCall();
    expect(breaker.view()).toMatchObject({ state: 'open', slowCalls: 2, slowCallRatio: 1 });
  });

  it('defaults to a 30 s window in 10 buckets with a minimum throughput of 20', async () => {
    const { clock, breaker, fail } = setup({});
    await fail(19);
    expect(breaker.state).toBe('closed');
    await clock.advance(29_999);
    await fail(1);
    expect(breaker.state).toBe('open');
  });

  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() => timeWindow({ window: 10_000 } as never)).toThrow(
      new TypeError(
        'unknown option "window" for timeWindow(); did you mean "windowMs"? expected one of windowMs, buckets, failureRatio, minimumThroughput, slowCallMs, slowCallRatio',
      ),
    );
  });

  it('rejects bad options with exact messages', () => {
    expect(() => timeWindow({ windowMs: 0 })).toThrow(
      new RangeError('expected windowMs to be an integer >= 1, got 0'),
    );
    expect(() => timeWindow({ windowMs: 5, buckets: 6 })).toThrow(
      new RangeError('expected buckets to be an integer between 1 and 5, got 6'),
    );
    expect(() => timeWindow({ buckets: 1001 })).toThrow(
      new RangeError('expected buckets to be an integer between 1 and 1000, got 1001'),
    );
    expect(() => timeWindow({ minimumThroughput: 0 })).toThrow(
      new RangeError('expected minimumThroughput to be an integer >= 1, got 0'),
    );
    expect(() => timeWindow({ failureRatio: -0.1 })).toThrow(
      new RangeError('expected failureRatio to be a number > 0 and <= 1, got -0.1'),
    );
    expect(() => timeWindow({ slowCallMs: Infinity })).toThrow(
      new RangeError('expected slowCallMs to be a finite number >= 0, got Infinity'),
    );
    expect(() => timeWindow('fast' as unknown as object)).toThrow(
      new TypeError('expected the options of timeWindow() to be an object, got "fast"'),
    );
  });
});
