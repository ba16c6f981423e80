import type { ExecutionContext, Policy } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Frame,
  type FusedLayer,
  type Next,
  checkFunction,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import { isRateLimitedError } from './errors.js';
import { Limiter, type RateLimiter } from './limiter.js';

/** The key of an unkeyed call: the limiter's single, shared limit. */
const UNKEYED = '';

export interface RateLimitPolicyOptions {
  /** The limiter to take permits from: a `tokenBucket()` or a `slidingWindow()`. */
  limiter: RateLimiter;
  /**
   * Which limit a call counts against (per tenant, per downstream API key...). It receives the
   * call's execution context and returns a key, validated as `take()` validates keys. Default:
   * every call counts against the limiter's one unkeyed limit.
   */
  key?: (context: ExecutionContext) => string;
  /** Permits each call takes: an integer from 1 to the limiter's capacity. Default 1. */
  permits?: number;
}

/** A policy that keeps calls within a rate limit. */
export interface RateLimitPolicy extends Policy {
  readonly limiter: RateLimiter;
}

class RateLimitPolicyImpl extends BulwarkPolicy implements RateLimitPolicy, FusedLayer {
  /** @internal */ readonly usesSlot = false;
  /** @internal */ readonly readsClock = false;

  constructor(
    readonly limiter: Limiter<object>,
    private readonly keyOf: ((context: ExecutionContext) => string) | undefined,
    private readonly permits: number,
  ) {
    super(limiter.clock);
  }

  /** Cockatiel's `onFailure` `handled` flag: the limiter's own refusals are its business. */
  protected override handles(error: unknown): boolean {
    return isRateLimitedError(error);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const scope = context.scope;
    if (scope.aborted) return Promise.reject(scope.abortError());
    let key = UNKEYED;
    let waiting;
    try {
      if (this.keyOf !== undefined) key = this.limiter.checkKey(this.keyOf(context));
      waiting = this.limiter.admit(key, this.permits, scope, context.operation);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    if (waiting !== undefined) return waiting.then(() => next.call(context));
    let pending: unknown;
    try {
      pending = next.call(context);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    return Promise.resolve(pending);
  }

  /** @internal Decides synchronously only in memory; Redis and the queue run layer by layer. */
  override fused(): FusedLayer | undefined {
    return this.limiter.inMemory ? this : undefined;
  }

  /**
   * @internal Permits that are there are taken at once. Anything else (a refusal, a queue, a
   * store that answers later, a key function that throws) runs layer by layer, which decides
   * again and reports it.
   */
  fusedEnter(frame: Frame): boolean {
    let key = UNKEYED;
    if (this.keyOf !== undefined) {
      try {
        const given: unknown = this.keyOf(frame);
        if (!this.limiter.isKey(given)) return false;
        key = given;
      } catch {
        return false;
      }
    }
    return this.limiter.tryTake(key, this.permits, frame.operation);
  }

  /** @internal A permit is spent once taken: nothing to give back. */
  fusedSucceeded(_frame: unknown, _index: number, value: unknown): unknown {
    return value;
  }

  /** @internal */
  fusedFailed(_frame: unknown, _index: number, error: unknown): unknown {
    return error;
  }
}

/**
 * Keeps calls within a rate limit: outbound, to stay within a downstream's quota. A call takes
 * its permits before it runs; when they are not there it waits in the limiter's queue (if it has
 * one, for at most `maxWaitMs`) or fails at once with a `RateLimitedError` carrying
 * `retryAfterMs`. Permits are never given back: a call that fails has still used the quota.
 *
 * @example
 * const quota = tokenBucket({ limit: 50, windowMs: 1_000, queue: 100, maxWaitMs: 2_000 });
 * const callPartner = pipeline(rateLimit({ limiter: quota }), retry(), timeout(1_000));
 */
export function rateLimit(options: RateLimitPolicyOptions): RateLimitPolicy {
  checkOptionsObject('rateLimit', options);
  checkKnownOptions('rateLimit', options, ['limiter', 'key', 'permits']);
  const { limiter } = options;
  if (!(limiter instanceof Limiter)) {
    throw new TypeError(
      `expected limiter to be a tokenBucket() or a slidingWindow(), got ${describeValue(limiter)}`,
    );
  }
  if (options.key !== undefined) checkFunction('key', options.key);
  const permits = options.permits === undefined ? 1 : limiter.checkPermits(options.permits);
  return new RateLimitPolicyImpl(limiter as Limiter<object>, options.key, permits);
}
