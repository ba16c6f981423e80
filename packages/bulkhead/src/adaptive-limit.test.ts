import { describe, expect, it } from 'vitest';
import { type AdaptiveLimitOptions, adaptiveLimit } from './adaptive-limit.js';

function fails(options: unknown): () => unknown {
  return () => adaptiveLimit(options as AdaptiveLimitOptions);
}

describe('adaptiveLimit', () => {
  it('fills in the documented defaults', () => {
    expect(adaptiveLimit({ algorithm: 'aimd' })).toMatchObject({
      algorithm: 'aimd',
      initial: 20,
      min: 1,
      max: 200,
    });
    expect(adaptiveLimit({ algorithm: 'gradient2' })).toMatchObject({
      algorithm: 'gradient2',
      initial: 20,
      min: 1,
      max: 200,
    });
  });

  it('clamps the default initial limit and raises the default max to fit min and max', () => {
    expect(adaptiveLimit({ algorithm: 'aimd', max: 8 })).toMatchObject({ initial: 8, max: 8 });
    expect(adaptiveLimit({ algorithm: 'aimd', min: 300 })).toMatchObject({
      initial: 300,
      max: 300,
    });
  });

  it('is immutable', () => {
    const limit = adaptiveLimit({ algorithm: 'gradient2', initial: 5 });
    expect(Object.isFrozen(limit)).toBe(true);
  });

  it('rejects options that are not an object', () => {
    expect(fails(undefined)).toThrow(
      new TypeError('expected the options of adaptiveLimit() to be an object, got undefined'),
    );
  });

  it('rejects a missing or unknown algorithm', () => {
    expect(fails({})).toThrow(
      new TypeError('expected algorithm to be one of "aimd", "gradient2", got undefined'),
    );
    expect(fails({ algorithm: 'vegas' })).toThrow(
      new TypeError('expected algorithm to be one of "aimd", "gradient2", got "vegas"'),
    );
  });

  it('rejects an option that belongs to the other algorithm', () => {
    expect(fails({ algorithm: 'aimd', smoothing: 0.5 })).toThrow(
      new TypeError(
        'expected no smoothing option with algorithm "aimd": it applies to "gradient2"',
      ),
    );
    expect(fails({ algorithm: 'gradient2', latencyThresholdMs: 100 })).toThrow(
      new TypeError(
        'expected no latencyThresholdMs option with algorithm "gradient2": it applies to "aimd"',
      ),
    );
  });

  it.each([
    [
      'aimd',
      { algorithm: 'aimd', backofRatio: 0.8 },
      'unknown option "backofRatio" for adaptiveLimit(); did you mean "backoffRatio"? expected one of algorithm, initial, min, max, isDrop, latencyThresholdMs, backoffRatio',
    ],
    [
      'gradient2',
      { algorithm: 'gradient2', tolerence: 2 },
      'unknown option "tolerence" for adaptiveLimit(); did you mean "tolerance"? expected one of algorithm, initial, min, max, isDrop, smoothing, queueSize, longWindow, shortWindow, tolerance',
    ],
  ])(
    'rejects a misspelt %s option, suggesting the name it misspells',
    (_algorithm, options, message) => {
      expect(fails(options)).toThrow(new TypeError(message));
    },
  );

  it('rejects bounds out of range', () => {
    expect(fails({ algorithm: 'aimd', min: 0 })).toThrow(
      new RangeError('expected min to be an integer >= 1, got 0'),
    );
    expect(fails({ algorithm: 'aimd', min: 5, max: 3 })).toThrow(
      new RangeError('expected max to be an integer >= 5, got 3'),
    );
    expect(fails({ algorithm: 'aimd', initial: 201 })).toThrow(
      new RangeError('expected initial to be an integer between 1 and 200, got 201'),
    );
    expect(fails({ algorithm: 'gradient2', initial: 2.5 })).toThrow(
      new RangeError('expected initial to be an integer between 1 and 200, got 2.5'),
    );
    expect(fails({ algorithm: 'gradient2', max: '10' })).toThrow(
      new TypeError('expected max to be an integer >= 1, got "10"'),
    );
  });

  it('rejects an isDrop that is not a function', () => {
    expect(fails({ algorithm: 'aimd', isDrop: true })).toThrow(
      new TypeError('expected isDrop to be a function, got boolean'),
    );
  });

  it('rejects AIMD options out of range', () => {
    expect(fails({ algorithm: 'aimd', latencyThresholdMs: 0 })).toThrow(
      new RangeError('expected latencyThresholdMs to be a finite number >= 1, got 0'),
    );
    expect(fails({ algorithm: 'aimd', backoffRatio: 1 })).toThrow(
      new RangeError('expected backoffRatio to be a finite number between 0.5 and 0.99, got 1'),
    );
    expect(fails({ algorithm: 'aimd', backoffRatio: 0.4 })).toThrow(
      new RangeError('expected backoffRatio to be a finite number between 0.5 and 0.99, got 0.4'),
    );
  });

  it('rejects Gradient2 options out of range', () => {
    expect(fails({ algorithm: 'gradient2', smoothing: 0 })).toThrow(
      new RangeError('expected smoothing to be a finite number between 0.01 and 1, got 0'),
    );
    expect(fails({ algorithm: 'gradient2', queueSize: -1 })).toThrow(
      new RangeError('expected queueSize to be a finite number >= 0, got -1'),
    );
    expect(fails({ algorithm: 'gradient2', shortWindow: 0 })).toThrow(
      new RangeError('expected shortWindow to be an integer >= 1, got 0'),
    );
    expect(fails({ algorithm: 'gradient2', longWindow: 5 })).toThrow(
      new RangeError('expected longWindow to be an integer >= 10, got 5'),
    );
    expect(fails({ algorithm: 'gradient2', tolerance: 0.5 })).toThrow(
      new RangeError('expected tolerance to be a finite number >= 1, got 0.5'),
    );
  });
});
