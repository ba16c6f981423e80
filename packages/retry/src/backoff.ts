import {
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';

/** exponentialBackoff() defaults: AWS's "full jitter" from 100 ms, doubling, up to 10 s. */
const DEFAULT_INITIAL_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 10_000;
const DEFAULT_FACTOR = 2;
const DEFAULT_JITTER: Jitter = 'full';
/** linearBackoff() adds this much per attempt unless told otherwise. */
const DEFAULT_STEP_MS = 100;
/** constantBackoff() waits this long unless told otherwise. */
const DEFAULT_CONSTANT_DELAY_MS = 100;
/** No single backoff delay may exceed a day: beyond that, a caller wants a job queue, not a retry. */
const DELAY_LIMIT_MS = 86_400_000;
/** Growth factors above this reach any cap within a couple of attempts; they are typos. */
const FACTOR_LIMIT = 100;
/** AWS's decorrelated jitter draws the next delay from [initial, 3 × previous]. */
const DECORRELATED_GROWTH = 3;
/**
 * `factor ** exponent` is Infinity long before 10,000 attempts; beyond this exponent every
 * factor > 1 has passed any cap, so the exponent is clamped and no overflow reaches arithmetic.
 */
const EXPONENT_LIMIT = 1_100;

const JITTERS = ['none', 'full', 'decorrelated'] as const;
export type Jitter = (typeof JITTERS)[number];

/** What a backoff is told when the policy asks it for the next delay. */
export interface BackoffArgs {
  /** The attempt that just failed, counting from 1: the delay before attempt `attempt + 1`. */
  readonly attempt: number;
  /** The delay this backoff returned for the previous retry of the same call, 0 before the first. */
  readonly previousDelayMs: number;
  /** The policy's random source, returning numbers in [0, 1). Injectable for tests. */
  readonly random: () => number;
}

/**
 * How long to wait before the next attempt, in milliseconds. Backoffs are plain values: the
 * policy keeps the per-call state (`previousDelayMs`), so one backoff serves every call. The
 * policy caps whatever a backoff returns by `maxDelayMs` and treats NaN or a negative as 0.
 */
export type Backoff = (args: BackoffArgs) => number;

export interface ExponentialBackoffOptions {
  /** The delay after the first failure, before jitter. Default 100. */
  initialDelayMs?: number;
  /** The largest delay this backoff returns. Default 10,000. */
  maxDelayMs?: number;
  /** Growth per attempt, for 'none' and 'full' jitter. Default 2. */
  factor?: number;
  /** 'none', 'full' (a uniform draw in [0, delay)) or AWS's 'decorrelated'. Default 'full'. */
  jitter?: Jitter;
}

export interface LinearBackoffOptions {
  /** The delay after the first failure. Default 100. */
  initialDelayMs?: number;
  /** Added for every further attempt. Default 100. */
  stepMs?: number;
  /** The largest delay this backoff returns. Default 10,000. */
  maxDelayMs?: number;
}

const EXPONENTIAL_OPTION_NAMES = optionNames<ExponentialBackoffOptions>({
  initialDelayMs: true,
  maxDelayMs: true,
  factor: true,
  jitter: true,
});
const LINEAR_OPTION_NAMES = optionNames<LinearBackoffOptions>({
  initialDelayMs: true,
  stepMs: true,
  maxDelayMs: true,
});

function checkDelay(name: string, value: unknown): asserts value is number {
  checkNumber(name, value, 0, DELAY_LIMIT_MS);
}

function checkMaxAtLeastInitial(initialDelayMs: number, maxDelayMs: number): void {
  if (maxDelayMs < initialDelayMs) {
    throw new RangeError(
      `expected maxDelayMs to be >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`,
    );
  }
}

/** Attempts counted from 1 become an exponent from 0; garbage counts as the first attempt. */
function exponentOf(attempt: number): number {
  const exponent = attempt - 1;
  if (!(exponent > 0)) return 0;
  return exponent < EXPONENT_LIMIT ? exponent : EXPONENT_LIMIT;
}

/** The same delay every time. */
export function constantBackoff(delayMs: number = DEFAULT_CONSTANT_DELAY_MS): Backoff {
  checkDelay('delayMs', delayMs);
  return () => delayMs;
}

/** `initialDelayMs + stepMs × (attempt − 1)`, up to `maxDelayMs`. */
export function linearBackoff(options: LinearBackoffOptions = {}): Backoff {
  checkOptionsObject('linearBackoff', options);
  checkKnownOptions('linearBackoff', options, LINEAR_OPTION_NAMES);
  const {
    initialDelayMs = DEFAULT_INITIAL_DELAY_MS,
    stepMs = DEFAULT_STEP_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
  } = options;
  checkDelay('initialDelayMs', initialDelayMs);
  checkDelay('stepMs', stepMs);
  checkDelay('maxDelayMs', maxDelayMs);
  checkMaxAtLeastInitial(initialDelayMs, maxDelayMs);
  return ({ attempt }) => {
    // Both terms are bounded (a day, and 10^3 attempts in practice), so the sum stays finite.
    const delay = initialDelayMs + stepMs * exponentOf(attempt);
    return delay < maxDelayMs ? delay : maxDelayMs;
  };
}

/**
 * `initialDelayMs × factor^(attempt − 1)`, up to `maxDelayMs`, with jitter so that clients that
 * failed together do not retry together:
 * - 'none': the plain exponential delay;
 * - 'full': a uniform draw in [0, exponential delay) (AWS "full jitter");
 * - 'decorrelated': a uniform draw in [initialDelayMs, 3 × the previous delay], capped (AWS
 *   "decorrelated jitter"); `factor` does not apply.
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  checkOptionsObject('exponentialBackoff', options);
  checkKnownOptions('exponentialBackoff', options, EXPONENTIAL_OPTION_NAMES);
  const {
    initialDelayMs = DEFAULT_INITIAL_DELAY_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    factor = DEFAULT_FACTOR,
    jitter = DEFAULT_JITTER,
  } = options;
  checkDelay('initialDelayMs', initialDelayMs);
  checkDelay('maxDelayMs', maxDelayMs);
  checkMaxAtLeastInitial(initialDelayMs, maxDelayMs);
  checkNumber('factor', factor, 1, FACTOR_LIMIT);
  checkOneOf('jitter', jitter, JITTERS);

  const capped = (attempt: number): number => {
    // 0 × Infinity is NaN: a zero initial delay stays zero without touching the power.
    if (initialDelayMs === 0) return 0;
    const delay = initialDelayMs * factor ** exponentOf(attempt);
    return delay < maxDelayMs ? delay : maxDelayMs;
  };

  switch (jitter) {
    case 'none':
      return ({ attempt }) => capped(attempt);
    case 'full':
      return ({ attempt, random }) => Math.floor(random() * capped(attempt));
    case 'decorrelated':
      return ({ previousDelayMs, random }) => {
        const previous = previousDelayMs > initialDelayMs ? previousDelayMs : initialDelayMs;
        const upper = previous * DECORRELATED_GROWTH;
        const delay = Math.floor(initialDelayMs + random() * (upper - initialDelayMs));
        return delay < maxDelayMs ? delay : maxDelayMs;
      };
  }
}
