import { describe, expect, it, vi } from 'vitest';
import type { BackoffArgs } from './backoff.js';
import type { DelayHintArgs } from './delay-hint.js';
import { type Failure, type RetryRules, type RetryStep, nextStep } from './next-step.js';
import { DO_NOT_RETRY } from './retry-after.js';
import { retryBudget } from './retry-budget.js';

const RETRYABLE = new Error('retryable');
const FATAL = new Error('fatal');
const NOW = Date.UTC(2026, 0, 1);

const error = (value: unknown): Failure => ({ kind: 'error', error: value });
const result = (value: unknown): Failure => ({ kind: 'result', result: value });

/** An empty budget: every retry is refused. */
function emptyBudget() {
  return retryBudget({ ratio: 0, minRetriesPerSecond: 0 });
}

/** Rules that retry RETRYABLE three times with a 100 ms backoff and no hint, by default. */
function rules(overrides: Partial<RetryRules> = {}): RetryRules {
  return {
    maxAttempts: 3,
    isRetryableError: (e) => e === RETRYABLE,
    delayHint: () => undefined,
    maxHintMs: 60_000,
    backoff: () => 100,
    maxDelayMs: 30_000,
    random: () => 0.5,
    budget: undefined,
    dateNow: () => NOW,
    ...overrides,
  };
}

interface Case {
  readonly rules?: Partial<RetryRules>;
  readonly failure?: Failure;
  readonly attempt?: number;
  readonly aborted?: boolean;
  /** Milliseconds left before the deadline; undefined for no deadline. */
  readonly remaining?: number;
}

function decide(c: Case): RetryStep {
  const remaining = c.remaining;
  return nextStep(rules(c.rules), {
    failure: c.failure ?? error(RETRYABLE),
    attempt: c.attempt ?? 1,
    previousDelayMs: 0,
    aborted: c.aborted ?? false,
    context: {
      deadline: remaining === undefined ? Infinity : NOW + remaining,
      remaining: () => remaining ?? Infinity,
    },
  });
}

describe('nextStep: the give-up rules, in order', () => {
  it.each<[string, Case, RetryStep['giveUp']]>([
    ['an error the classifier does not retry', { failure: error(FATAL) }, 'not-retryable'],
    [
      'a non-retryable error on the last attempt (the classifier is asked first)',
      { failure: error(FATAL), attempt: 3 },
      'not-retryable',
    ],
    ['the last attempt failed', { attempt: 3 }, 'max-attempts'],
    ['a failed result on the last attempt', { failure: result('503'), attempt: 3 }, 'max-attempts'],
    [
      'an aborted scope after the last attempt (attempts are counted first)',
      { attempt: 3, aborted: true },
      'max-attempts',
    ],
    ['an aborted scope with attempts left', { aborted: true }, 'aborted'],
    [
      'an aborted scope, even when the server asks for no retry',
      { aborted: true, rules: { delayHint: () => DO_NOT_RETRY } },
      'aborted',
    ],
    [
      'a server that asks for no retry',
      { rules: { delayHint: () => DO_NOT_RETRY } },
      'not-retryable',
    ],
    ['a backoff delay that ends after the deadline', { remaining: 50 }, 'deadline'],
    ['a backoff delay that ends exactly at the deadline', { remaining: 100 }, 'deadline'],
    [
      'a server hint that outlasts the deadline',
      { remaining: 5_000, rules: { delayHint: () => 3_600_000 } },
      'hint-exceeds-deadline',
    ],
    [
      'an uncapped hint past the deadline, though the capped one would fit',
      { remaining: 5_000, rules: { delayHint: () => 10_000, maxHintMs: 1_000 } },
      'hint-exceeds-deadline',
    ],
    ['an empty budget', { rules: { budget: emptyBudget() } }, 'budget-exhausted'],
  ])('gives up on %s', (_name, c, reason) => {
    expect(decide(c)).toEqual({ giveUp: reason });
  });

  it('takes nothing from the budget when an earlier rule gives up', () => {
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 0 });
    const tryAcquireRetry = vi.spyOn(budget, 'tryAcquireRetry');
    expect(decide({ rules: { budget }, remaining: 10 })).toEqual({ giveUp: 'deadline' });
    expect(tryAcquireRetry).not.toHaveBeenCalled();
  });

  it('asks for no hint when it gives up before the hint rule', () => {
    const delayHint = vi.fn(() => 5);
    expect(decide({ rules: { delayHint }, attempt: 3 })).toEqual({ giveUp: 'max-attempts' });
    expect(delayHint).not.toHaveBeenCalled();
  });
});

describe('nextStep: the delay', () => {
  it.each<[string, Case, RetryStep]>([
    [
      'the backoff delay when the server gave no hint',
      {},
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'a failed result retried like an error',
      { failure: result('503') },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'the server hint instead of the backoff',
      { rules: { delayHint: () => 2_000 } },
      { delayMs: 2_000, source: 'server-hint', hint: 2_000 },
    ],
    [
      'a hint of 0: retry at once',
      { rules: { delayHint: () => 0 } },
      { delayMs: 0, source: 'server-hint', hint: 0 },
    ],
    [
      'a hint capped at maxHintMs, with the uncapped hint kept',
      { rules: { delayHint: () => 90_000 } },
      { delayMs: 60_000, source: 'server-hint', hint: 90_000 },
    ],
    [
      'the backoff for a NaN hint',
      { rules: { delayHint: () => Number.NaN } },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'the backoff for a negative hint',
      { rules: { delayHint: () => -1 } },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'the backoff when delayHint throws',
      {
        rules: {
          delayHint: () => {
            throw new Error('odd failure');
          },
        },
      },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'a backoff delay capped at maxDelayMs',
      { rules: { backoff: () => 50_000 } },
      { delayMs: 30_000, source: 'backoff', hint: undefined },
    ],
    [
      '0 for a negative backoff delay',
      { rules: { backoff: () => -5 } },
      { delayMs: 0, source: 'backoff', hint: undefined },
    ],
    [
      'a wait that ends before the deadline',
      { remaining: 101 },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
    [
      'a retry the budget grants',
      { rules: { budget: retryBudget() } },
      { delayMs: 100, source: 'backoff', hint: undefined },
    ],
  ])('waits %s', (_name, c, step) => {
    expect(decide(c)).toEqual(step);
  });

  it('tells the backoff the attempt, the previous delay and the random source', () => {
    const random = () => 0.25;
    const backoff = vi.fn((_args: BackoffArgs) => 7);
    nextStep(rules({ backoff, random }), {
      failure: error(RETRYABLE),
      attempt: 2,
      previousDelayMs: 120,
      aborted: false,
      context: { deadline: Infinity, remaining: () => Infinity },
    });
    expect(backoff).toHaveBeenCalledWith({ attempt: 2, previousDelayMs: 120, random });
  });

  it('tells delayHint the failed value, whether it is a result, the attempt and the wall clock', () => {
    const delayHint = vi.fn((_args: DelayHintArgs) => undefined);
    decide({ rules: { delayHint }, failure: result('503'), attempt: 2 });
    expect(delayHint).toHaveBeenCalledWith({
      error: '503',
      isResult: true,
      attempt: 2,
      dateNow: NOW,
    });
  });
});
