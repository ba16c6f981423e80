import { isCancelledError } from '@bulwark/core';
import {
  checkFunction,
  checkInteger,
  checkNumber,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import { AimdLimit } from './aimd.js';
import { Gradient2Limit } from './gradient2.js';
import type { LimitAlgorithm } from './limit-algorithm.js';

export const DEFAULT_INITIAL_LIMIT = 20;
export const DEFAULT_MIN_LIMIT = 1;
export const DEFAULT_MAX_LIMIT = 200;
/** AIMD: a call slower than this counts as a sign of overload (Netflix's default timeout). */
export const DEFAULT_LATENCY_THRESHOLD_MS = 5000;
export const DEFAULT_BACKOFF_RATIO = 0.9;
export const DEFAULT_SMOOTHING = 0.2;
/** Gradient2: how far the limit may grow past the current one while latency stays flat. */
export const DEFAULT_QUEUE_SIZE = 4;
export const DEFAULT_LONG_WINDOW = 600;
export const DEFAULT_SHORT_WINDOW = 10;
export const DEFAULT_TOLERANCE = 1.5;

export type AdaptiveAlgorithm = 'aimd' | 'gradient2';
const ALGORITHMS: readonly AdaptiveAlgorithm[] = ['aimd', 'gradient2'];

const OWN_OPTIONS: Record<AdaptiveAlgorithm, readonly string[]> = {
  aimd: ['latencyThresholdMs', 'backoffRatio'],
  gradient2: ['smoothing', 'queueSize', 'longWindow', 'shortWindow', 'tolerance'],
};

/** Every option each algorithm takes, for the unknown-option check. */
const OPTION_NAMES: Record<AdaptiveAlgorithm, readonly string[]> = {
  aimd: optionNames<AimdLimitOptions>({
    algorithm: true,
    initial: true,
    min: true,
    max: true,
    isDrop: true,
    latencyThresholdMs: true,
    backoffRatio: true,
  }),
  gradient2: optionNames<Gradient2LimitOptions>({
    algorithm: true,
    initial: true,
    min: true,
    max: true,
    isDrop: true,
    smoothing: true,
    queueSize: true,
    longWindow: true,
    shortWindow: true,
    tolerance: true,
  }),
};

/** Arguments of {@link AdaptiveLimitCommonOptions.isDrop}. */
export interface IsDropArgs {
  /** What the call threw. */
  readonly error: unknown;
}

export interface AdaptiveLimitCommonOptions {
  /** The limit to start from. Default 20, clamped into [min, max]. */
  initial?: number;
  /** The limit never goes below this. Default 1. */
  min?: number;
  /** The limit never goes above this. Default 200 (or `min`, if larger). */
  max?: number;
  /**
   * Whether a failure signals overload (a "drop"). AIMD cuts the limit on drops. Failures for
   * which it returns false are left out of the measurements altogether. Calls the caller
   * cancelled are always left out. Default: every other failure is a drop.
   */
  isDrop?: (args: IsDropArgs) => boolean;
}

/** Additive increase, multiplicative decrease: simple and loss-driven. */
export interface AimdLimitOptions extends AdaptiveLimitCommonOptions {
  algorithm: 'aimd';
  /** A call slower than this counts as a drop. Default 5000 ms. */
  latencyThresholdMs?: number;
  /** What the limit is multiplied by on a drop (it falls by at least 1). Default 0.9. */
  backoffRatio?: number;
}

/** Netflix's Gradient2: latency-driven, reacts to queueing before anything fails. */
export interface Gradient2LimitOptions extends AdaptiveLimitCommonOptions {
  algorithm: 'gradient2';
  /** How much of each new estimate is taken (0.01 to 1). Default 0.2. */
  smoothing?: number;
  /** Headroom added to the estimate while latency is flat, so the limit can grow. Default 4. */
  queueSize?: number;
  /** Samples in the long-term (baseline) latency average. Default 600. */
  longWindow?: number;
  /** Samples in the short-term latency average (1 = the latest call only). Default 10. */
  shortWindow?: number;
  /** How much slower than the baseline calls may get before the limit falls. Default 1.5. */
  tolerance?: number;
}

export type AdaptiveLimitOptions = AimdLimitOptions | Gradient2LimitOptions;

/** A validated adaptive-limit configuration; each bulkhead given it runs its own copy. */
export interface AdaptiveLimit {
  readonly algorithm: AdaptiveAlgorithm;
  readonly initial: number;
  readonly min: number;
  readonly max: number;
}

function dropsEverything(): boolean {
  return true;
}

export class AdaptiveLimitConfig implements AdaptiveLimit {
  constructor(
    readonly algorithm: AdaptiveAlgorithm,
    readonly initial: number,
    readonly min: number,
    readonly max: number,
    /** @internal */ readonly isDrop: (args: IsDropArgs) => boolean,
    /** @internal */ readonly create: () => LimitAlgorithm,
  ) {
    Object.freeze(this);
  }

  /** @internal Whether a failure feeds the algorithm (as a drop) or is left out. */
  countsAsDrop(error: unknown): boolean {
    if (isCancelledError(error)) return false;
    if (this.isDrop === dropsEverything) return true;
    try {
      return this.isDrop({ error }) === true;
    } catch {
      // A broken classifier must not change the outcome of the call it classifies.
      return true;
    }
  }
}

/**
 * A concurrency limit that adapts to the downstream's behaviour, for `bulkhead({ limit })`.
 * Pick `'gradient2'` to shed load as soon as latency shows queueing, `'aimd'` for a simple
 * limit driven by failures, timeouts and a latency threshold.
 *
 * @example
 * const policy = bulkhead({ limit: adaptiveLimit({ algorithm: 'gradient2', max: 100 }), queue: 50 });
 */
export function adaptiveLimit(options: AdaptiveLimitOptions): AdaptiveLimit {
  checkOptionsObject('adaptiveLimit', options);
  const algorithm: unknown = options.algorithm;
  checkOneOf('algorithm', algorithm, ALGORITHMS);
  for (const other of ALGORITHMS) {
    if (other === algorithm) continue;
    for (const key of OWN_OPTIONS[other]) {
      if ((options as unknown as Record<string, unknown>)[key] !== undefined) {
        throw new TypeError(
          `expected no ${key} option with algorithm "${algorithm}": it applies to "${other}"`,
        );
      }
    }
  }
  checkKnownOptions('adaptiveLimit', options, OPTION_NAMES[algorithm]);

  const min = options.min ?? DEFAULT_MIN_LIMIT;
  checkInteger('min', min, 1, Infinity);
  const max = options.max ?? Math.max(DEFAULT_MAX_LIMIT, min);
  checkInteger('max', max, min, Infinity);
  const initial = options.initial ?? Math.min(Math.max(DEFAULT_INITIAL_LIMIT, min), max);
  checkInteger('initial', initial, min, max);
  const isDrop = options.isDrop ?? dropsEverything;
  checkFunction('isDrop', isDrop);

  if (options.algorithm === 'aimd') {
    const latencyThresholdMs = options.latencyThresholdMs ?? DEFAULT_LATENCY_THRESHOLD_MS;
    checkNumber('latencyThresholdMs', latencyThresholdMs, 1, Infinity);
    const backoffRatio = options.backoffRatio ?? DEFAULT_BACKOFF_RATIO;
    checkNumber('backoffRatio', backoffRatio, 0.5, 0.99);
    const settings = { initial, min, max, latencyThresholdMs, backoffRatio };
    return new AdaptiveLimitConfig(
      algorithm,
      initial,
      min,
      max,
      isDrop,
      () => new AimdLimit(settings),
    );
  }

  const smoothing = options.smoothing ?? DEFAULT_SMOOTHING;
  checkNumber('smoothing', smoothing, 0.01, 1);
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  checkNumber('queueSize', queueSize, 0, Infinity);
  const shortWindow = options.shortWindow ?? DEFAULT_SHORT_WINDOW;
  checkInteger('shortWindow', shortWindow, 1, Infinity);
  const longWindow = options.longWindow ?? Math.max(DEFAULT_LONG_WINDOW, shortWindow);
  checkInteger('longWindow', longWindow, shortWindow, Infinity);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  checkNumber('tolerance', tolerance, 1, Infinity);
  const settings = { initial, min, max, smoothing, queueSize, longWindow, shortWindow, tolerance };
  return new AdaptiveLimitConfig(
    algorithm,
    initial,
    min,
    max,
    isDrop,
    () => new Gradient2Limit(settings),
  );
}
