import type { Clock } from '@bulwark/core';
import { type Context, type Next, type Scope, checkNumber } from '@bulwark/core/internal';
import {
  type ChaosArgs,
  type ChaosPolicy,
  ChaosPolicyBase,
  type ChaosPolicyOptions,
  type ChaosSettings,
  parsePolicyOptions,
} from './chaos-policy.js';
import { emitChaosEvent } from './events.js';

/** Polly's default injected latency. */
const DEFAULT_LATENCY_MS = 30_000;
/** Node fires a timer at once when asked for longer than this (its delay is a signed 32-bit count). */
const MAX_LATENCY_MS = 2_147_483_647;

export interface ChaosLatencyOptions extends ChaosPolicyOptions {
  /**
   * How long to hold a call before it runs, in milliseconds: a number from 0 to 2,147,483,647,
   * or a function asked per injection (its answer is clamped into that range; NaN counts as 0).
   * Default 30,000.
   */
  latencyMs?: number | ((args: ChaosArgs) => number);
}

function clampLatency(value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) return 0;
  return value < MAX_LATENCY_MS ? value : MAX_LATENCY_MS;
}

/**
 * Waits `ms` on `clock`, or rejects with the scope's abort error the moment the scope aborts:
 * the timer is cleared and the abort subscription dropped either way, so nothing outlives the
 * wait. The timer keeps the process alive, as the slow call it stands for would.
 */
function wait(clock: Clock, scope: Scope, ms: number): Promise<void> {
  if (scope.aborted) return Promise.reject(scope.abortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    // Neither callback can run before both handles exist: timers and abort listeners never
    // fire synchronously.
    const wake = (): void => {
      unsubscribe();
      resolve();
    };
    const cancel = (): void => {
      clock.clearTimeout(handle);
      unsubscribe();
      reject(scope.abortError());
    };
    const handle = clock.setTimeout(wake, ms);
    const unsubscribe = scope.onAbort(cancel);
  });
}

class ChaosLatencyPolicy extends ChaosPolicyBase {
  constructor(
    settings: ChaosSettings,
    private readonly latencyMs: number | ((args: ChaosArgs) => number),
  ) {
    super(settings);
  }

  protected inject(context: Context, next: Next, args: ChaosArgs): Promise<unknown> {
    let latencyMs: number;
    try {
      const latency = this.latencyMs;
      latencyMs = typeof latency === 'number' ? latency : clampLatency(latency(args));
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    // Never past the deadline: the wait ends there and the call goes on with no time left, so
    // the layer that set the deadline ends it with its own error, as it would end a dependency
    // that slow (a timeout's TimeoutError, which a retry may retry; a deadline's
    // DeadlineExceededError). Failing here would have to guess which of the two it is.
    const remaining = context.remaining();
    const cutByDeadline = remaining <= latencyMs;
    const waitMs = cutByDeadline ? remaining : latencyMs;
    if (this.listener !== undefined) {
      emitChaosEvent(this.listener, {
        type: 'chaos-injected',
        policy: 'chaos',
        name: this.name,
        operation: context.operation,
        kind: 'latency',
        latencyMs: waitMs,
        cutByDeadline,
      });
    }
    return wait(this.clock, context.scope, waitMs).then(() => next.call(context));
  }
}

/**
 * Holds a share of calls for `latencyMs` before they run: a slow dependency, on demand. The
 * wait ends at once when the caller's signal aborts, or a timeout or deadline around it expires
 * (the call then fails with that error and leaves no timer behind), and never runs past the
 * context's deadline: a wait that would reach it ends there, and the call goes on with no time
 * left, for the layer that set the deadline to end.
 *
 * @example
 * const slow = chaosLatency({ rate: 0.05, latencyMs: 2_000, seed: 42 });
 * const call = pipeline(deadline(5_000), retry(), timeout(1_000), slow);
 */
export function chaosLatency(options: ChaosLatencyOptions = {}): ChaosPolicy {
  const settings = parsePolicyOptions('chaosLatency', options, ['latencyMs']);
  const { latencyMs = DEFAULT_LATENCY_MS } = options;
  if (typeof latencyMs !== 'function') checkNumber('latencyMs', latencyMs, 0, MAX_LATENCY_MS);
  return new ChaosLatencyPolicy(settings, latencyMs);
}
