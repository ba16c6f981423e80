import {
  checkFunction,
  checkInteger,
  checkNumber,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { ChaosListener } from './events.js';
import { randomSeed, seededRandom } from './random.js';
import { type ChaosSwitch, isChaosSwitch } from './switch.js';

/** Polly's default: one call in a thousand, so a policy left at its defaults disturbs little. */
export const DEFAULT_INJECTION_RATE = 0.001;

/** The options every chaos policy and the HTTP interceptor share; `A` is what their callbacks get. */
export interface ChaosSourceOptions<A> {
  /**
   * Whether to inject at all: a boolean, a {@link ChaosSwitch} to flip at run time, or a
   * function asked on every call. Default `true`.
   */
  enabled?: boolean | ChaosSwitch | ((args: A) => boolean);
  /**
   * Seeds the random source (an integer), so the same seed injects into the same calls again.
   * Default: a seed drawn at random, readable as `seed` on the policy, to log and replay.
   */
  seed?: number;
  /** The random source instead, numbers in [0, 1). Not with `seed`. */
  random?: () => number;
  /** Names this policy in its events. */
  name?: string;
  /** Receives a `chaos-injected` event for every injection. */
  listener?: ChaosListener;
}

export const SOURCE_OPTION_NAMES: readonly string[] = [
  'enabled',
  'seed',
  'random',
  'name',
  'listener',
];

/** The validated shared options. */
export interface Source<A> {
  readonly enabled: boolean | ChaosSwitch | ((args: A) => boolean);
  readonly random: () => number;
  /** The seed, unless a `random` function was given. */
  readonly seed: number | undefined;
  readonly name: string | undefined;
  readonly listener: ChaosListener | undefined;
}

/** Validates the options every chaos factory shares, and makes the random source. */
export function parseSource<A>(options: ChaosSourceOptions<A>): Source<A> {
  const { enabled = true, seed, random, name, listener } = options;
  if (typeof enabled !== 'boolean' && typeof enabled !== 'function' && !isChaosSwitch(enabled)) {
    throw new TypeError(
      `expected enabled to be a boolean, a function or a chaosSwitch(), got ${describeValue(enabled)}`,
    );
  }
  if (seed !== undefined && random !== undefined) {
    throw new TypeError('expected either seed or random, got both');
  }
  if (seed !== undefined) checkInteger('seed', seed, -Number.MAX_SAFE_INTEGER);
  if (random !== undefined) checkFunction('random', random);
  if (name !== undefined) checkString('name', name);
  if (listener !== undefined) checkFunction('listener', listener);
  const actualSeed = random === undefined ? (seed ?? randomSeed()) : undefined;
  return {
    enabled,
    random: random ?? seededRandom(actualSeed!),
    seed: actualSeed,
    name,
    listener,
  };
}

/** Whether `enabled` lets this call through to the draw. */
export function isEnabled<A>(enabled: Source<A>['enabled'], args: A): boolean {
  if (typeof enabled === 'boolean') return enabled;
  if (typeof enabled === 'function') return enabled(args) === true;
  return enabled.enabled;
}

/** A fixed rate in [0, 1]. */
export function checkRate(name: string, value: unknown): asserts value is number {
  checkNumber(name, value, 0, 1);
}

/**
 * A rate a function gave: clamped into [0, 1], and anything that is not a number (NaN
 * included) counts as 0. A chaos policy must not fail a call it was not told to fail.
 */
export function clampRate(value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) return 0;
  return value < 1 ? value : 1;
}
