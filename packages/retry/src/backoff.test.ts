import { describe, expect, it } from 'vitest';
import { type Backoff, constantBackoff, exponentialBackoff, linearBackoff } from './backoff.js';

const fixed = (value: number) => () => value;

function delays(backoff: Backoff, count: number, random: () => number = fixed(0.5)): number[] {
  const out: number[] = [];
  let previousDelayMs = 0;
  for (let attempt = 1; attempt <= count; attempt++) {
    previousDelayMs = backoff({ attempt, previousDelayMs, random });
    out.push(previousDelayMs);
  }
  return out;
}

/** A seeded generator (mulberry32): the same 10,000 "random" draws on every run, so no flake. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectSaneFor10000Attempts(backoff: Backoff, max: number, random: () => number): void {
  const bad: Array<[attempt: number, delay: number]> = [];
  let previousDelayMs = 0;
  for (let attempt = 1; attempt <= 10_000; attempt++) {
    const delay = backoff({ attempt, previousDelayMs, random });
    if (!Number.isFinite(delay) || delay < 0 || delay > max) bad.push([attempt, delay]);
    previousDelayMs = delay;
  }
  expect(bad).toEqual([]);
  expect(previousDelayMs).toBeGreaterThan(0);
}

describe('constantBackoff', () => {
  it('returns the same delay for every attempt', () => {
    expect(delays(constantBackoff(250), 4)).toEqual([250, 250, 250, 250]);
  });

  it('defaults to 100 ms', () => {
    expect(delays(constantBackoff(), 2)).toEqual([100, 100]);
  });

  it('rejects a negative, infinite or non-number delay with the exact message', () => {
    expect(() => constantBackoff(-1)).toThrow(
      new RangeError('expected delayMs to be a finite number between 0 and 86400000, got -1'),
    );
    expect(() => constantBackoff(Infinity)).toThrow(RangeError);
    expect(() => constantBackoff('5' as unknown as number)).toThrow(
      new TypeError('expected delayMs to be a number between 0 and 86400000, got "5"'),
    );
  });
});

describe('linearBackoff', () => {
  it('grows by stepMs per attempt and stops at maxDelayMs', () => {
    const backoff = linearBackoff({ initialDelayMs: 100, stepMs: 50, maxDelayMs: 260 });
    expect(delays(backoff, 6)).toEqual([100, 150, 200, 250, 260, 260]);
  });

  it('stays finite and bounded after 10,000 attempts', () => {
    expectSaneFor10000Attempts(linearBackoff({ maxDelayMs: 5000 }), 5000, Math.random);
  });

  it('rejects maxDelayMs below initialDelayMs with the exact message', () => {
    expect(() => linearBackoff({ initialDelayMs: 500, maxDelayMs: 100 })).toThrow(
      new RangeError('expected maxDelayMs to be >= initialDelayMs (500), got 100'),
    );
  });

  it('rejects a negative step', () => {
    expect(() => linearBackoff({ stepMs: -5 })).toThrow(
      new RangeError('expected stepMs to be a finite number between 0 and 86400000, got -5'),
    );
  });
});

describe('exponentialBackoff', () => {
  it("doubles from initialDelayMs up to maxDelayMs with jitter 'none'", () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 'none' });
    expect(delays(backoff, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('grows by the given factor', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 10, factor: 3, jitter: 'none' });
    expect(delays(backoff, 4)).toEqual([10, 30, 90, 270]);
  });

  it('uses full jitter by default: a draw in [0, exponential delay)', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 10_000 });
    expect(delays(backoff, 3, fixed(0))).toEqual([0, 0, 0]);
    expect(delays(backoff, 3, fixed(0.5))).toEqual([50, 100, 200]);
    expect(delays(backoff, 3, fixed(0.999_999))).toEqual([99, 199, 399]);
  });

  it('keeps full jitter inside [0, cap) with a real random source', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 800 });
    for (let attempt = 1; attempt <= 50; attempt++) {
      const delay = backoff({ attempt, previousDelayMs: 0, random: Math.random });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(800, 100 * 2 ** (attempt - 1)));
    }
  });

  it('draws decorrelated jitter from [initialDelayMs, 3 × previous delay], capped', () => {
    const backoff = exponentialBackoff({
      initialDelayMs: 100,
      maxDelayMs: 1000,
      jitter: 'decorrelated',
    });
    // First retry: previous is taken as initialDelayMs, so the range is [100, 300].
    expect(backoff({ attempt: 1, previousDelayMs: 0, random: fixed(0) })).toBe(100);
    expect(backoff({ attempt: 1, previousDelayMs: 0, random: fixed(0.5) })).toBe(200);
    // After 200: [100, 600].
    expect(backoff({ attempt: 2, previousDelayMs: 200, random: fixed(0.5) })).toBe(350);
    // Past the cap.
    expect(backoff({ attempt: 3, previousDelayMs: 900, random: fixed(0.9) })).toBe(1000);
    expect(delays(backoff, 5, fixed(0.999))).toEqual([299, 896, 1000, 1000, 1000]);
  });

  it.each(['none', 'full', 'decorrelated'] as const)(
    "never returns NaN, Infinity or more than maxDelayMs in 10,000 attempts (jitter '%s')",
    (jitter) => {
      const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 30_000, jitter });
      expectSaneFor10000Attempts(backoff, 30_000, seeded(0x5eed));
      expectSaneFor10000Attempts(backoff, 30_000, fixed(0.999_999_9));
    },
  );

  it('stays at 0 with a zero initial delay instead of computing 0 × Infinity', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 0, jitter: 'none' });
    expect(backoff({ attempt: 10_000, previousDelayMs: 0, random: fixed(0.5) })).toBe(0);
  });

  it('treats a garbage attempt number as the first attempt', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, jitter: 'none' });
    expect(backoff({ attempt: Number.NaN, previousDelayMs: 0, random: fixed(0) })).toBe(100);
    expect(backoff({ attempt: -3, previousDelayMs: 0, random: fixed(0) })).toBe(100);
  });

  it('rejects bad options with exact messages', () => {
    expect(() => exponentialBackoff({ jitter: 'half' as 'full' })).toThrow(
      new TypeError('expected jitter to be one of "none", "full", "decorrelated", got "half"'),
    );
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(
      new RangeError('expected factor to be a finite number between 1 and 100, got 0.5'),
    );
    expect(() => exponentialBackoff({ initialDelayMs: Number.NaN })).toThrow(
      new TypeError('expected initialDelayMs to be a number between 0 and 86400000, got NaN'),
    );
    expect(() => exponentialBackoff({ maxDelayMs: 50 })).toThrow(
      new RangeError('expected maxDelayMs to be >= initialDelayMs (100), got 50'),
    );
    expect(() => exponentialBackoff(null as unknown as object)).toThrow(
      new TypeError('expected the options of exponentialBackoff() to be an object, got null'),
    );
  });
});

describe('backoff options', () => {
  it.each<[string, () => unknown, string]>([
    [
      'exponentialBackoff',
      () => exponentialBackoff({ jiter: 'none' } as never),
      'unknown option "jiter" for exponentialBackoff(); did you mean "jitter"? expected one of initialDelayMs, maxDelayMs, factor, jitter',
    ],
    [
      'linearBackoff',
      () => linearBackoff({ step: 50 } as never),
      'unknown option "step" for linearBackoff(); did you mean "stepMs"? expected one of initialDelayMs, stepMs, maxDelayMs',
    ],
  ])('%s rejects a misspelt option, suggesting the name it misspells', (_name, build, message) => {
    expect(build).toThrow(new TypeError(message));
  });
});
