import type { AnyPolicy } from '@bulwark/core';

/**
 * The stages of the standard pipeline as policies you already hold, each optional. `outer` and
 * `perAttempt` are places for a caller's own policies: outermost of all, and inside the retry
 * (around each attempt, outside its breaker).
 */
export interface StandardStages {
  readonly outer?: AnyPolicy | undefined;
  readonly rateLimit?: AnyPolicy | undefined;
  readonly bulkhead?: AnyPolicy | undefined;
  readonly deadline?: AnyPolicy | undefined;
  readonly fallback?: AnyPolicy | undefined;
  /** The retry, or the hedging in its place. */
  readonly retry?: AnyPolicy | undefined;
  readonly perAttempt?: AnyPolicy | undefined;
  readonly breaker?: AnyPolicy | undefined;
  readonly attemptTimeout?: AnyPolicy | undefined;
}

/**
 * The stages that are present, in the standard order, outermost first: the one place that order
 * is written, for `standardPipeline()` and for `@bulwark/http-client`, so the two cannot drift.
 * Pass the result to `pipeline()`.
 */
export function standardOrder(stages: StandardStages): AnyPolicy[] {
  const ordered = [
    stages.outer,
    stages.rateLimit,
    stages.bulkhead,
    stages.deadline,
    stages.fallback,
    stages.retry,
    stages.perAttempt,
    stages.breaker,
    stages.attemptTimeout,
  ];
  return ordered.filter((policy): policy is AnyPolicy => policy !== undefined);
}
