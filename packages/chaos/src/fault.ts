import type { Context, Next } from '@bulwark/core/internal';
import { describeValue } from '@bulwark/core/internal';
import {
  type ChaosArgs,
  type ChaosPolicy,
  ChaosPolicyBase,
  type ChaosPolicyOptions,
  type ChaosSettings,
  parsePolicyOptions,
  proceed,
} from './chaos-policy.js';
import { ChaosFaultError } from './errors.js';
import { emitChaosEvent } from './events.js';

export interface ChaosFaultOptions extends ChaosPolicyOptions {
  /**
   * What the call fails with: an error, thrown as it is each time, or a function asked per
   * injection that returns one (or `undefined` to let this call through after all). Default: a
   * new `ChaosFaultError` per injection.
   */
  error?: Error | ((args: ChaosArgs) => unknown);
}

class ChaosFaultPolicy extends ChaosPolicyBase {
  constructor(
    settings: ChaosSettings,
    private readonly error: Error | ((args: ChaosArgs) => unknown) | undefined,
  ) {
    super(settings);
  }

  protected inject(context: Context, next: Next, args: ChaosArgs): Promise<unknown> {
    const given = this.error;
    let error: unknown;
    if (given === undefined) {
      error = new ChaosFaultError(this.name);
    } else if (typeof given === 'function') {
      try {
        error = given(args);
      } catch (thrown: unknown) {
        return Promise.reject(thrown);
      }
      if (error === undefined) return proceed(context, next);
    } else {
      error = given;
    }
    if (this.listener !== undefined) {
      emitChaosEvent(this.listener, {
        type: 'chaos-injected',
        policy: 'chaos',
        name: this.name,
        operation: context.operation,
        kind: 'fault',
        error,
      });
    }
    return Promise.reject(error);
  }
}

/**
 * Fails a share of calls with an error, without running them: a dependency that throws, on
 * demand. The error can depend on the call (`error: ({ context }) => ...`), for instance to
 * fail only the first attempt of each call.
 *
 * @example
 * const flaky = chaosFault({
 *   rate: 0.1,
 *   error: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
 * });
 * const call = pipeline(retry(), flaky);
 */
export function chaosFault(options: ChaosFaultOptions = {}): ChaosPolicy {
  const settings = parsePolicyOptions('chaosFault', options, ['error']);
  const { error } = options;
  if (error !== undefined && typeof error !== 'function' && !(error instanceof Error)) {
    throw new TypeError(
      `expected error to be an Error or a function returning one, got ${describeValue(error)}`,
    );
  }
  return new ChaosFaultPolicy(settings, error);
}
