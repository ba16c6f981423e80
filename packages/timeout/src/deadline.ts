import { DeadlineExceededError, type PolicyEvent, systemClock } from '@bulwark/core';
import { DEFAULT_STRATEGY, TimeLimit } from './time-limit.js';
import { type TimeoutOptions, validate } from './timeout.js';

export type DeadlineOptions = TimeoutOptions;

/**
 * One time budget for a whole operation: retries, backoff sleeps and every attempt inside it.
 * Inner layers see the absolute deadline in their context: attempt timeouts shrink to what is
 * left, a retry does not sleep past it, and the remaining budget can be sent on the wire.
 * Nested deadlines keep the shorter one.
 */
export class DeadlinePolicy extends TimeLimit {
  constructor(ms: number, options: DeadlineOptions) {
    super(
      ms,
      options.strategy ?? DEFAULT_STRATEGY,
      options.clock ?? systemClock,
      options.name,
      options.listener,
    );
  }

  /** @internal */
  expiredError(byDeadline: boolean, operation: string | undefined): Error {
    return byDeadline
      ? new DeadlineExceededError(undefined, `deadline exceeded during ${operation ?? 'the call'}`)
      : new DeadlineExceededError(this.ms);
  }

  protected expiredEvent(byDeadline: boolean, operation: string | undefined): PolicyEvent {
    return {
      type: 'deadline-exceeded',
      policy: 'timeout',
      name: this.name,
      operation: operation,
      budgetMs: byDeadline ? undefined : this.ms,
    };
  }
}

/**
 * Gives the whole operation inside it a budget of `ms` milliseconds.
 *
 * @example
 * const policy = pipeline(deadline(2_000), retry(), timeout(500));
 */
export function deadline(ms: number, options: DeadlineOptions = {}): DeadlinePolicy {
  validate('deadline', ms, options);
  return new DeadlinePolicy(ms, options);
}
