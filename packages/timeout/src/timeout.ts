import {
  type Clock,
  DeadlineExceededError,
  type PolicyEvent,
  type TelemetryListener,
  TimeoutError,
  systemClock,
} from '@bulwark/core';
import {
  checkFunction,
  checkInteger,
  checkOneOf,
  checkClock,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import { DEFAULT_STRATEGY, TimeLimit, type TimeoutStrategy } from './time-limit.js';

/** The longest timeout accepted: Node timers overflow past 2^31 - 1 ms (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export interface TimeoutOptions {
  /** `aggressive` (default) releases the caller at once; `cooperative` waits for the function to stop. */
  strategy?: TimeoutStrategy;
  /** Told on each expiry with a `timeout` event (or `deadline-exceeded` when the deadline was shorter). */
  listener?: TelemetryListener;
  /** Names this policy in events. */
  name?: string;
  clock?: Clock;
}

const OPTION_NAMES = optionNames<TimeoutOptions>({
  strategy: true,
  listener: true,
  name: true,
  clock: true,
});

/**
 * A per-attempt time limit. Inside a deadline it shrinks to what is left of the budget, and an
 * attempt with no budget left is not started.
 */
export class TimeoutPolicy extends TimeLimit {
  constructor(ms: number, options: TimeoutOptions) {
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
      : new TimeoutError(this.ms);
  }

  protected expiredEvent(byDeadline: boolean, operation: string | undefined): PolicyEvent {
    return byDeadline
      ? {
          type: 'deadline-exceeded',
          policy: 'timeout',
          name: this.name,
          operation: operation,
          budgetMs: undefined,
        }
      : {
          type: 'timeout',
          policy: 'timeout',
          name: this.name,
          operation: operation,
          timeoutMs: this.ms,
        };
  }
}

/**
 * Limits each call (each attempt, when placed inside a retry) to `ms` milliseconds.
 *
 * @example
 * const perAttempt = timeout(500);
 * await perAttempt.execute(({ signal }) => fetch(url, { signal }));
 */
export function timeout(ms: number, options: TimeoutOptions = {}): TimeoutPolicy {
  validate('timeout', ms, options);
  return new TimeoutPolicy(ms, options);
}

/** Shared by timeout() and deadline(). */
export function validate(factory: string, ms: unknown, options: TimeoutOptions): void {
  checkInteger('ms', ms, 1, MAX_TIMEOUT_MS);
  checkOptionsObject(factory, options);
  checkKnownOptions(factory, options, OPTION_NAMES);
  if (options.clock !== undefined) checkClock(options.clock);
  if (options.strategy !== undefined)
    checkOneOf('strategy', options.strategy, ['aggressive', 'cooperative']);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (options.name !== undefined) checkString('name', options.name);
}
