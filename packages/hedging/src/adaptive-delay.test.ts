import { describe, expect, it } from 'vitest';
import {
  type AdaptiveDelayEstimator,
  type AdaptiveDelayOptions,
  adaptiveDelay,
} from './adaptive-delay.js';

/** The estimator behind the public interface, whose recording side the hedger drives. */
function estimator(options: AdaptiveDelayOptions = {}): AdaptiveDelayEstimator {
  return adaptiveDelay(options) as AdaptiveDelayEstimator;
}

describe('adaptiveDelay()', () => {
  it('uses the fallback delay until minSamples latencies are in, then their percentile', () => {
    const delay = estimator({ fallbackDelayMs: 750, minSamples: 10 });
    for (let i = 0; i < 9; i++) delay.record(20, 0);
    expect(delay.delayAt(0)).toBe(750);
    delay.record(20, 0);
    expect(delay.delayAt(0)).toBeGreaterThanOrEqual(20);
    expect(delay.delayAt(0)).toBeLessThan(22);
  });

  it('reads the chosen percentile, refreshed every 16 samples', () => {
    const delay = estimator({ percentile: 50, minSamples: 1 });
    for (let round = 0; round < 16; round++) for (let i = 1; i <= 100; i++) delay.record(i, 0);
    expect(delay.currentMs).toBeGreaterThanOrEqual(50);
    expect(delay.currentMs).toBeLessThan(55);
  });

  it('halves its counts every half-life, and falls back again when too few are left', () => {
    const delay = estimator({ fallbackDelayMs: 300, minSamples: 20, halfLifeMs: 1_000 });
    for (let i = 0; i < 40; i++) delay.record(10, 0);
    expect(delay.samples).toBe(40);
    expect(delay.delayAt(999)).toBeLessThan(11);
    expect(delay.delayAt(1_000)).toBeLessThan(11);
    expect(delay.samples).toBe(20);
    expect(delay.delayAt(2_000)).toBe(300);
    expect(delay.samples).toBe(10);
  });

  it('forgets everything after a long idle time instead of scaling forever', () => {
    const delay = estimator({ minSamples: 1, halfLifeMs: 100 });
    delay.record(10, 0);
    delay.delayAt(1_000_000);
    expect(delay.samples).toBe(0);
  });

  it('shows its settings and its current delay', () => {
    expect(adaptiveDelay()).toMatchObject({
      percentile: 95,
      fallbackDelayMs: 2_000,
      minSamples: 20,
      halfLifeMs: 10_000,
      currentMs: 2_000,
      samples: 0,
    });
  });

  it.each<[string, AdaptiveDelayOptions, Error]>([
    [
      'a percentile of 100',
      { percentile: 100 },
      new RangeError(
        'expected percentile to be a number greater than 0 and less than 100, got 100',
      ),
    ],
    [
      'a percentile above 100',
      { percentile: 101 },
      new RangeError(
        'expected percentile to be a number greater than 0 and less than 100, got 101',
      ),
    ],
    [
      'a percentile of 0',
      { percentile: 0 },
      new RangeError('expected percentile to be a number greater than 0 and less than 100, got 0'),
    ],
    [
      'a NaN percentile',
      { percentile: Number.NaN },
      new TypeError('expected percentile to be a number greater than 0 and less than 100, got NaN'),
    ],
    [
      'a negative fallback delay',
      { fallbackDelayMs: -1 },
      new RangeError(
        'expected fallbackDelayMs to be a finite number between 0 and 2147483647, got -1',
      ),
    ],
    [
      'a NaN fallback delay',
      { fallbackDelayMs: Number.NaN },
      new TypeError('expected fallbackDelayMs to be a number between 0 and 2147483647, got NaN'),
    ],
    [
      'minSamples 0',
      { minSamples: 0 },
      new RangeError('expected minSamples to be an integer between 1 and 1000000, got 0'),
    ],
    [
      'a half-life under 100 ms',
      { halfLifeMs: 10 },
      new RangeError('expected halfLifeMs to be a finite number between 100 and 86400000, got 10'),
    ],
    [
      'a misspelt option',
      { percentil: 99 } as AdaptiveDelayOptions,
      new TypeError(
        'unknown option "percentil" for adaptiveDelay(); did you mean "percentile"? expected one of percentile, fallbackDelayMs, minSamples, halfLifeMs',
      ),
    ],
  ])('refuses %s, naming what was expected and what was given', (_label, options, error) => {
    expect(() => adaptiveDelay(options)).toThrow(error);
  });
});
