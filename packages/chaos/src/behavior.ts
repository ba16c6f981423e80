import type { Context, Next } from '@bulwark/core/internal';
import { checkFunction } from '@bulwark/core/internal';
import {
  type ChaosArgs,
  type ChaosPolicy,
  ChaosPolicyBase,
  type ChaosPolicyOptions,
  type ChaosSettings,
  parsePolicyOptions,
} from './chaos-policy.js';
import { emitChaosEvent } from './events.js';

export interface ChaosBehaviorOptions extends ChaosPolicyOptions {
  /**
   * Runs before the call (which waits for a promise it returns): drop a pooled connection,
   * evict a cache entry, restart a worker. If it throws or rejects, the call fails with that and
   * does not run. Required.
   */
  behavior: (args: ChaosArgs) => unknown;
}

class ChaosBehaviorPolicy extends ChaosPolicyBase {
  constructor(
    settings: ChaosSettings,
    private readonly behavior: (args: ChaosArgs) => unknown,
  ) {
    super(settings);
  }

  protected inject(context: Context, next: Next, args: ChaosArgs): Promise<unknown> {
    if (this.listener !== undefined) {
      emitChaosEvent(this.listener, {
        type: 'chaos-injected',
        policy: 'chaos',
        name: this.name,
        operation: context.operation,
        kind: 'behavior',
      });
    }
    let done: unknown;
    try {
      done = this.behavior(args);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    return Promise.resolve(done).then(() => next.call(context));
  }
}

/**
 * Runs a behaviour of its own before a share of calls, then runs the call: disturb something
 * the call depends on (a pooled connection, a cache entry, a worker) and see how it copes.
 *
 * @example
 * const pool = createPool();
 * const dropConnection = chaosBehavior({ rate: 0.01, behavior: () => pool.destroyOne() });
 * const call = pipeline(retry(), dropConnection);
 */
export function chaosBehavior(options: ChaosBehaviorOptions): ChaosPolicy {
  const settings = parsePolicyOptions('chaosBehavior', options, ['behavior']);
  checkFunction('behavior', options.behavior);
  return new ChaosBehaviorPolicy(settings, options.behavior);
}
