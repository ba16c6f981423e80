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

export interface ChaosOutcomeOptions extends ChaosPolicyOptions {
  /**
   * Makes the result the call returns instead of running (a value or a promise of one). It must
   * be of the type the call returns: the policy cannot check that. If it throws or rejects, the
   * call fails with that. Required.
   */
  outcome: (args: ChaosArgs) => unknown;
}

class ChaosOutcomePolicy extends ChaosPolicyBase {
  constructor(
    settings: ChaosSettings,
    private readonly outcome: (args: ChaosArgs) => unknown,
  ) {
    super(settings);
  }

  protected inject(context: Context, _next: Next, args: ChaosArgs): Promise<unknown> {
    if (this.listener !== undefined) {
      emitChaosEvent(this.listener, {
        type: 'chaos-injected',
        policy: 'chaos',
        name: this.name,
        operation: context.operation,
        kind: 'outcome',
      });
    }
    try {
      return Promise.resolve(this.outcome(args));
    } catch (error: unknown) {
      return Promise.reject(error);
    }
  }
}

/**
 * Answers a share of calls with a result of its own, without running them: a dependency that
 * returns something unexpected (a 503 response, an empty list, stale data), on demand.
 *
 * @example
 * const unavailable = chaosOutcome({
 *   rate: 0.05,
 *   outcome: () => new Response(null, { status: 503, headers: { 'retry-after': '1' } }),
 * });
 * const call = pipeline(retry(), unavailable);
 */
export function chaosOutcome(options: ChaosOutcomeOptions): ChaosPolicy {
  const settings = parsePolicyOptions('chaosOutcome', options, ['outcome']);
  checkFunction('outcome', options.outcome);
  return new ChaosOutcomePolicy(settings, options.outcome);
}
