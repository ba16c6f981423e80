import { constantBackoff, retryBudget } from '@bulwark/retry';
import { describe, expect, it } from 'vitest';
import type { StandardPipelineOptions } from './options.js';
import { standardPipeline } from './standard-pipeline.js';

const build = (options: unknown) => () => standardPipeline(options as StandardPipelineOptions);

describe('standardPipeline: option errors', () => {
  it.each([
    [
      { deadline: 1_000 },
      'unknown option "deadline" for standardPipeline(); did you mean "deadlineMs"?',
    ],
    [{ attemptTimeout: 500 }, 'did you mean "attemptTimeoutMs"?'],
    [{ breakr: {} }, 'did you mean "breaker"?'],
    [{ retries: 3 }, 'unknown option "retries" for standardPipeline(); expected one of operation'],
  ])('refuses the unknown option in %j, naming the nearest one', (options, message) => {
    expect(build(options)).toThrow(TypeError);
    expect(build(options)).toThrow(message);
  });

  it('refuses retry and hedging together, naming both', () => {
    expect(build({ retry: { maxAttempts: 2 }, hedging: { idempotent: true } })).toThrow(
      'expected retry or hedging, got both',
    );
    expect(build({ retry: true, hedging: { idempotent: true } })).toThrow(TypeError);
  });

  it('lets hedging replace the default retry, and retry: false sit beside it', () => {
    expect(standardPipeline({ hedging: { idempotent: true } }).retry).toBeUndefined();
    expect(standardPipeline({ retry: false, hedging: { idempotent: true } }).hedging).toBeDefined();
  });

  it.each(['retry', 'hedging'])('refuses a budget of the %s stage’s own', (stage) => {
    const options = { [stage]: { idempotent: true, budget: retryBudget() } };
    expect(build(options)).toThrow(
      `unknown option "${stage}.budget" for standardPipeline(); give the retry budget as the top-level budget option`,
    );
  });

  it.each([
    [
      { retry: { maxAttempts: 0 } },
      RangeError,
      'expected maxAttempts to be an integer between 1 and 1000, got 0',
    ],
    [{ retry: { maxAttemps: 4 } }, TypeError, 'unknown option "maxAttemps" for retry()'],
    [
      { breaker: { halfOpenTrials: 0 } },
      RangeError,
      'expected halfOpenTrials to be an integer >= 1, got 0',
    ],
    [{ breaker: { treshold: 3 } }, TypeError, 'unknown option "treshold" for circuitBreaker()'],
    [{ bulkhead: { limit: 0 } }, RangeError, 'expected limit to be an integer >= 1, got 0'],
    [{ hedging: { delay: 10 } }, TypeError, 'idempotent'],
    [{ fallback: {} }, TypeError, 'expected exactly one of value and fn, got neither'],
    [
      { rateLimit: {} },
      TypeError,
      'expected limiter to be a tokenBucket() or a slidingWindow(), got undefined',
    ],
    [
      { budget: { ration: 0.1 } },
      TypeError,
      'unknown option "budget.ration" for retryBudget(); did you mean "ratio"?',
    ],
    [
      { budget: { ratio: -1 } },
      RangeError,
      'expected ratio to be a finite number between 0 and 100, got -1',
    ],
  ])('surfaces the stage package’s own error for %j', (options, Kind, message) => {
    expect(build(options)).toThrow(Kind);
    expect(build(options)).toThrow(message);
  });

  it.each([
    [
      { deadlineMs: 0 },
      RangeError,
      'expected deadlineMs to be an integer between 1 and 2147483647, got 0',
    ],
    [
      { deadlineMs: '1s' },
      TypeError,
      'expected deadlineMs to be an integer between 1 and 2147483647 or false, got "1s"',
    ],
    [
      { attemptTimeoutMs: true },
      TypeError,
      'expected attemptTimeoutMs to be an integer between 1 and 2147483647 or false, got boolean',
    ],
    [
      { attemptTimeoutMs: 1.5 },
      RangeError,
      'expected attemptTimeoutMs to be an integer between 1 and 2147483647, got 1.5',
    ],
    [{ retry: 3 }, TypeError, 'expected retry to be an options object or a boolean, got 3'],
    [
      { breaker: 'on' },
      TypeError,
      'expected breaker to be an options object or a boolean, got "on"',
    ],
    [
      { bulkhead: [] },
      TypeError,
      'expected bulkhead to be an options object or a boolean, got an array',
    ],
    [
      { fallback: true },
      TypeError,
      'expected fallback to be an options object or false, got boolean',
    ],
    [
      { budget: 0.2 },
      TypeError,
      'expected budget to be a retryBudget(), its options or false, got 0.2',
    ],
    [{ operation: '' }, TypeError, 'expected operation to be a non-empty string, got ""'],
    [{ listener: 'log' }, TypeError, 'expected listener to be a function, got "log"'],
    [
      { clock: Date },
      TypeError,
      'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got a function',
    ],
  ])('refuses %j with a message naming what was expected', (options, Kind, message) => {
    expect(build(options)).toThrow(Kind);
    expect(build(options)).toThrow(message);
  });

  it('refuses options that are not an object', () => {
    expect(build(5)).toThrow('expected the options of standardPipeline() to be an object, got 5');
  });

  it('takes a stage’s options and keeps the package’s defaults for the rest', () => {
    const policy = standardPipeline({ retry: { maxAttempts: 5, backoff: constantBackoff(1) } });
    expect(policy.retry?.maxAttempts).toBe(5);
    expect(policy.retry?.budget).toBe(policy.budget);
  });
});
