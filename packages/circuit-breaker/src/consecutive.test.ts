import { BrokenCircuitError } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from './circuit-breaker.js';
import { consecutive } from './consecutive.js';

const boom = (): never => {
  throw new Error('boom');
};

describe('consecutive()', () => {
  it('opens on the threshold-th failure in a row and not before', async () => {
    const breaker = circuitBreaker({
      strategy: consecutive({ threshold: 3 }),
      clock: new FakeClock(),
    });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('starts counting again after a success', async () => {
    const breaker = circuitBreaker({
      strategy: consecutive({ threshold: 3 }),
      clock: new FakeClock(),
    });
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await breaker.execute(() => 'ok');
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    expect(breaker.view().failures).toBe(2);
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('defaults to a threshold of 5', async () => {
    const breaker = circuitBreaker({ strategy: consecutive(), clock: new FakeClock() });
    for (let i = 0; i < 4; i++) await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });

  it('is the default strategy of circuitBreaker()', async () => {
    const breaker = circuitBreaker({ clock: new FakeClock() });
    for (let i = 0; i < 5; i++) await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view()).toMatchObject({ state: 'open', strategy: 'consecutive', failures: 5 });
  });

  it('rejects a misspelt option instead of opening at the default threshold', () => {
    expect(() => consecutive({ treshold: 3 } as never)).toThrow(
      new TypeError(
        'unknown option "treshold" for consecutive(); did you mean "threshold"? expected one of threshold',
      ),
    );
  });

  it('rejects bad options with exact messages', () => {
    expect(() => consecutive({ threshold: 0 })).toThrow(
      new RangeError('expected threshold to be an integer >= 1, got 0'),
    );
    expect(() => consecutive({ threshold: 1.5 })).toThrow(
      new RangeError('expected threshold to be an integer >= 1, got 1.5'),
    );
    expect(() => consecutive({ threshold: '3' as unknown as number })).toThrow(
      new TypeError('expected threshold to be an integer >= 1, got "3"'),
    );
    expect(() => consecutive(null as unknown as object)).toThrow(
      new TypeError('expected the options of consecutive() to be an object, got null'),
    );
  });
});
