import { type Clock, isBulwarkPolicy } from '@bulwark/core';
import { BulwarkPolicy, type Context, type Next, describeValue } from '@bulwark/core/internal';
import type { BreakerFor } from './options.js';

/**
 * The breaker stage when the caller picks a breaker per call (one per origin, per tenant, from a
 * `breakerRegistry()`): asks the hook for this call's breaker and runs the rest of the pipeline
 * through it. It cannot take part in a pipeline's fused path, as the breaker differs per call;
 * the stages inside it (the attempt timeout) then run layer by layer too.
 */
export class BreakerPerCall extends BulwarkPolicy {
  constructor(
    private readonly breakerFor: BreakerFor,
    clock: Clock,
  ) {
    super(clock);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    let breaker: unknown;
    try {
      breaker = this.breakerFor(context);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    if (!isBulwarkPolicy(breaker)) {
      return Promise.reject(
        new TypeError(
          `expected the breaker function to return a circuit breaker, got ${describeValue(breaker)}`,
        ),
      );
    }
    return breaker.invoke(context, next);
  }
}
