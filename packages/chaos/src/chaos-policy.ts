import { type Clock, type ExecutionContext, type Policy, systemClock } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  checkClock,
  checkFunction,
  checkKnownOptions,
  checkOptionsObject,
} from '@bulwark/core/internal';
import type { ChaosListener } from './events.js';
import {
  type ChaosSourceOptions,
  DEFAULT_INJECTION_RATE,
  SOURCE_OPTION_NAMES,
  type Source,
  checkRate,
  clampRate,
  isEnabled,
  parseSource,
} from './injection.js';

/** What every callback of a chaos policy receives. */
export interface ChaosArgs {
  /** The execution context of the call the policy is deciding about. */
  readonly context: ExecutionContext;
}

/** The options every chaos policy takes. */
export interface ChaosPolicyOptions extends ChaosSourceOptions<ChaosArgs> {
  /**
   * The share of calls to inject into, in [0, 1]: a number, or a function asked on every call
   * (its answer is clamped into [0, 1], and NaN counts as 0). Default 0.001.
   */
  rate?: number | ((args: ChaosArgs) => number);
  /** The clock latency is measured on, and the pipeline's when this policy leads it. Default: the system clock. */
  clock?: Clock;
}

const POLICY_OPTION_NAMES: readonly string[] = [...SOURCE_OPTION_NAMES, 'rate', 'clock'];

/** A chaos policy: it composes in `pipeline()` like any other. */
export interface ChaosPolicy extends Policy {
  /**
   * The seed of the policy's random source (given, or drawn at construction), to log and pass
   * as `seed` to replay the same injections; undefined when the policy was given `random`.
   */
  readonly seed: number | undefined;
}

/** The validated options of one chaos policy: its own (`extra`), then the shared ones. */
export interface ChaosSettings {
  readonly source: Source<ChaosArgs>;
  readonly rate: number | ((args: ChaosArgs) => number);
  readonly clock: Clock;
}

/**
 * Validates a chaos factory's options: the shared ones and `rate`, with `own` naming the
 * options only this factory takes (which it checks itself).
 */
export function parsePolicyOptions(
  factory: string,
  options: ChaosPolicyOptions,
  own: readonly string[],
): ChaosSettings {
  checkOptionsObject(factory, options);
  checkKnownOptions(factory, options, [...own, ...POLICY_OPTION_NAMES]);
  const { rate = DEFAULT_INJECTION_RATE, clock = systemClock } = options;
  if (typeof rate === 'function') checkFunction('rate', rate);
  else checkRate('rate', rate);
  checkClock(clock);
  return { source: parseSource(options), rate, clock };
}

/** Runs the rest of the pipeline as if this policy were not there. */
export function proceed(context: Context, next: Next): Promise<unknown> {
  try {
    return Promise.resolve(next.call(context));
  } catch (error: unknown) {
    return Promise.reject(error);
  }
}

/**
 * What the four chaos policies share: decide per call (enabled? then one draw against the
 * rate), and inject, or get out of the way.
 */
export abstract class ChaosPolicyBase extends BulwarkPolicy implements ChaosPolicy {
  readonly seed: number | undefined;
  protected readonly name: string | undefined;
  /** Build an event only when this is set: with no listener, an injection allocates nothing for it. */
  protected readonly listener: ChaosListener | undefined;
  private readonly source: Source<ChaosArgs>;
  private readonly rate: number | ((args: ChaosArgs) => number);
  /** Whether deciding needs the arguments object: only when a callback decides. */
  private readonly decidesByCallback: boolean;

  protected constructor(settings: ChaosSettings) {
    super(settings.clock);
    this.source = settings.source;
    this.rate = settings.rate;
    this.seed = settings.source.seed;
    this.name = settings.source.name;
    this.listener = settings.source.listener;
    this.decidesByCallback =
      typeof settings.rate === 'function' || typeof settings.source.enabled === 'function';
  }

  /** Nothing that fails through a chaos policy is handled by it, its own injections included. */
  protected override handles(_error: unknown): boolean {
    return false;
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const args = this.decidesByCallback ? { context } : undefined;
    if (!this.decide(args)) return proceed(context, next);
    return this.inject(context, next, args ?? { context });
  }

  /** Injects into this call. Must return a promise and never throw synchronously. */
  protected abstract inject(context: Context, next: Next, args: ChaosArgs): Promise<unknown>;

  /** One draw per enabled call, whatever the rate: the same seed then replays the same calls. */
  private decide(args: ChaosArgs | undefined): boolean {
    const enabled = this.source.enabled;
    if (enabled !== true && !isEnabled(enabled, args!)) return false;
    const draw = this.source.random();
    const rate = this.rate;
    return draw < (typeof rate === 'number' ? rate : clampRate(rate(args!)));
  }
}
