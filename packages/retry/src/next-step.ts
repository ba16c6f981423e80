import type { GiveUpReason, RetryDelaySource } from '@bulwark/core';
import type { Backoff } from './backoff.js';
import type { DelayHintFn } from './delay-hint.js';
import { DO_NOT_RETRY } from './retry-after.js';
import type { RetryBudget } from './retry-budget.js';

/**
 * A failed attempt: the error it threw, or the result the classifier counted as a failure. Made
 * only once an attempt has failed, so a call that succeeds never builds one.
 */
export type Failure =
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'result'; readonly result: unknown };

/** The thrown error or the returned result, as events and `delayHint` receive it. */
export function failedValue(failure: Failure): unknown {
  return failure.kind === 'error' ? failure.error : failure.result;
}

/** What a retry policy decides with: its options, checked once. */
export interface RetryRules {
  readonly maxAttempts: number;
  /** Whether the classifier retries a thrown error (cancellations and spent deadlines never are). */
  readonly isRetryableError: (error: unknown) => boolean;
  readonly delayHint: DelayHintFn;
  readonly maxHintMs: number;
  readonly backoff: Backoff;
  readonly maxDelayMs: number;
  readonly random: () => number;
  readonly budget: RetryBudget | undefined;
  /** Wall-clock milliseconds, for hints given as HTTP dates. */
  readonly dateNow: () => number;
}

/** Where a call stands after attempt `attempt` failed. */
export interface StepArgs {
  readonly failure: Failure;
  /** The attempt that failed, counting from 1. */
  readonly attempt: number;
  /** The backoff's delay before the previous retry of this call, 0 before the first. */
  readonly previousDelayMs: number;
  /** Whether the call's scope has aborted (the caller, a timeout or the deadline). */
  readonly aborted: boolean;
  /** The call's deadline (`Infinity` for none) and the milliseconds left before it. */
  readonly context: { readonly deadline: number; remaining(): number };
}

/** Wait `delayMs`, then run the next attempt. */
export interface RetryDelay {
  readonly giveUp?: undefined;
  readonly delayMs: number;
  readonly source: RetryDelaySource;
  /** The server's hint before `maxHintMs` capped it; undefined when the delay is the backoff's. */
  readonly hint: number | undefined;
}

/** Stop, and surface the last failure (or, for 'aborted', the scope's abort error). */
export interface RetryGiveUp {
  readonly giveUp: GiveUpReason;
}

export type RetryStep = RetryGiveUp | RetryDelay;

/**
 * What to do after a failed attempt. The rules run in order and the first that applies decides;
 * the delay comes last. The only effect is the last rule's: it takes a retry from the budget.
 */
export function nextStep(rules: RetryRules, args: StepArgs): RetryStep {
  const { failure, attempt, context } = args;
  // A thrown error the classifier does not retry ends the call; a failed result was retryable
  // by definition (the classifier's result predicate picked it).
  if (failure.kind === 'error' && !rules.isRetryableError(failure.error)) {
    return { giveUp: 'not-retryable' };
  }
  // `maxAttempts` counts every attempt, the first included.
  if (attempt >= rules.maxAttempts) return { giveUp: 'max-attempts' };
  // Nobody waits for the answer any more: no retry can change that.
  if (args.aborted) return { giveUp: 'aborted' };

  const hint = hintFor(rules, failure, attempt);
  // The server said this request must not be repeated (a negative gRPC pushback).
  if (hint === DO_NOT_RETRY) return { giveUp: 'not-retryable' };
  const delay: RetryDelay =
    hint !== undefined
      ? { delayMs: hint < rules.maxHintMs ? hint : rules.maxHintMs, source: 'server-hint', hint }
      : { delayMs: backoffDelay(rules, attempt, args.previousDelayMs), source: 'backoff', hint };
  // The server's own estimate, not the capped delay, says whether waiting can pay off before
  // the deadline; a wait that ends at or after the deadline never does.
  if (context.deadline !== Infinity && (hint ?? delay.delayMs) >= context.remaining()) {
    return { giveUp: hint === undefined ? 'deadline' : 'hint-exceeds-deadline' };
  }
  // Taken last, so a call that gives up for another reason leaves the budget alone.
  if (rules.budget !== undefined && !rules.budget.tryAcquireRetry()) {
    return { giveUp: 'budget-exhausted' };
  }
  return delay;
}

/** The server's hint, sanitised: a number >= 0, DO_NOT_RETRY, or undefined. */
function hintFor(
  rules: RetryRules,
  failure: Failure,
  attempt: number,
): number | typeof DO_NOT_RETRY | undefined {
  let hint: unknown;
  try {
    hint = rules.delayHint({
      error: failedValue(failure),
      isResult: failure.kind === 'result',
      attempt,
      dateNow: rules.dateNow(),
    });
  } catch {
    // A hint extractor that trips over an odd failure must not replace that failure.
    return undefined;
  }
  if (hint === DO_NOT_RETRY) return hint;
  return typeof hint === 'number' && hint >= 0 ? hint : undefined;
}

/** The backoff's delay, never NaN, negative or above `maxDelayMs`. */
function backoffDelay(rules: RetryRules, attempt: number, previousDelayMs: number): number {
  const delay = rules.backoff({ attempt, previousDelayMs, random: rules.random });
  if (!(delay > 0)) return 0;
  return delay < rules.maxDelayMs ? delay : rules.maxDelayMs;
}
