import {
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import { LatencyHistogram } from './latency-histogram.js';

/** The Tail at Scale's choice: hedge the slowest 5% of attempts. */
const DEFAULT_PERCENTILE = 95;
/** Until enough latencies are in: Polly's default hedging delay, late enough to add little load. */
const DEFAULT_FALLBACK_DELAY_MS = 2_000;
/** The fewest samples for a 95th percentile to have one sample above it. */
const DEFAULT_MIN_SAMPLES = 20;
/** Every ten seconds the counts halve, so the delay follows what the downstream does now. */
const DEFAULT_HALF_LIFE_MS = 10_000;
const MAX_DELAY_MS = 2_147_483_647;
const MAX_MIN_SAMPLES = 1_000_000;
const MIN_HALF_LIFE_MS = 100;
const MAX_HALF_LIFE_MS = 86_400_000;
/**
 * The percentile is read from the histogram again after this many new samples (or a halving):
 * a walk over every bucket is cheap, but not on every call, and one sample moves it little.
 */
const RECOMPUTE_EVERY = 16;
/** After this many halvings in a row nothing measurable is left: clear rather than scale. */
const MAX_HALVINGS = 64;

const OPTION_NAMES: readonly string[] = [
  'percentile',
  'fallbackDelayMs',
  'minSamples',
  'halfLifeMs',
];

export interface AdaptiveDelayOptions {
  /** Which percentile of recent latencies to hedge after: greater than 0, less than 100. Default 95. */
  percentile?: number;
  /** The delay until `minSamples` latencies are in, in milliseconds. Default 2,000. */
  fallbackDelayMs?: number;
  /** How many recent latencies (after fading) the percentile needs. Default 20. */
  minSamples?: number;
  /** Every `halfLifeMs` the recorded counts halve, so old latencies fade. Default 10,000. */
  halfLifeMs?: number;
}

/**
 * A hedging delay that follows the downstream: a percentile of the latencies the hedger has seen
 * recently. Give one to `hedging({ delay })`; share it between hedgers that call the same
 * downstream on the same clock, so they learn together.
 */
export interface AdaptiveDelay {
  readonly percentile: number;
  readonly fallbackDelayMs: number;
  readonly minSamples: number;
  readonly halfLifeMs: number;
  /** The delay a call would use now: the percentile, or `fallbackDelayMs` with too few samples. */
  readonly currentMs: number;
  /** Recent latencies in the histogram, counted after fading (so possibly fractional). */
  readonly samples: number;
}

/**
 * The estimator behind {@link adaptiveDelay}. Time comes from the hedger, as the clock readings
 * it takes anyway, so an idle estimator costs nothing and fades as soon as it is used again.
 */
export class AdaptiveDelayEstimator implements AdaptiveDelay {
  private readonly histogram = new LatencyHistogram();
  private readonly quantile: number;
  /** When the counts next halve (NaN until the first reading). */
  private nextHalvingAt = Number.NaN;
  private sinceComputed = 0;
  currentMs: number;

  constructor(
    readonly percentile: number,
    readonly fallbackDelayMs: number,
    readonly minSamples: number,
    readonly halfLifeMs: number,
  ) {
    this.quantile = percentile / 100;
    this.currentMs = fallbackDelayMs;
  }

  get samples(): number {
    return this.histogram.total;
  }

  /** @internal The delay for a call starting at `now`. */
  delayAt(now: number): number {
    if (!(now < this.nextHalvingAt)) this.fade(now);
    return this.currentMs;
  }

  /** @internal One attempt's latency, observed at `now`. */
  record(latencyMs: number, now: number): void {
    if (!(now < this.nextHalvingAt)) this.fade(now);
    this.histogram.record(latencyMs);
    // Up to minSamples every sample counts, so the fallback gives way the moment there are enough.
    if (++this.sinceComputed >= RECOMPUTE_EVERY || this.histogram.total <= this.minSamples) {
      this.recompute();
    }
  }

  /** Halves the counts once per half-life that has passed since the last halving. */
  private fade(now: number): void {
    if (Number.isNaN(this.nextHalvingAt)) {
      this.nextHalvingAt = now + this.halfLifeMs;
      return;
    }
    // A clock that stepped back leaves the counts as they are.
    if (now < this.nextHalvingAt) return;
    const halvings = Math.floor((now - this.nextHalvingAt) / this.halfLifeMs) + 1;
    this.histogram.scale(halvings > MAX_HALVINGS ? 0 : 0.5 ** halvings);
    this.nextHalvingAt += halvings * this.halfLifeMs;
    this.recompute();
  }

  private recompute(): void {
    this.sinceComputed = 0;
    this.currentMs =
      this.histogram.total < this.minSamples
        ? this.fallbackDelayMs
        : this.histogram.quantile(this.quantile);
  }
}

/**
 * A delay for `hedging()` that adapts: the `percentile` of the latencies of recent answers
 * (default the 95th, as in "The Tail at Scale"), kept in log-scale buckets (about 9% wide) whose
 * counts halve every `halfLifeMs`. Memory is fixed, whatever the traffic. Until `minSamples`
 * latencies are in (and again whenever fading leaves fewer), the delay is `fallbackDelayMs`.
 *
 * @example
 * const hedger = hedging({ idempotent: true, delay: adaptiveDelay({ percentile: 90 }) });
 */
export function adaptiveDelay(options: AdaptiveDelayOptions = {}): AdaptiveDelay {
  checkOptionsObject('adaptiveDelay', options);
  checkKnownOptions('adaptiveDelay', options, OPTION_NAMES);
  const {
    percentile = DEFAULT_PERCENTILE,
    fallbackDelayMs = DEFAULT_FALLBACK_DELAY_MS,
    minSamples = DEFAULT_MIN_SAMPLES,
    halfLifeMs = DEFAULT_HALF_LIFE_MS,
  } = options;
  checkPercentile(percentile);
  checkNumber('fallbackDelayMs', fallbackDelayMs, 0, MAX_DELAY_MS);
  checkInteger('minSamples', minSamples, 1, MAX_MIN_SAMPLES);
  checkNumber('halfLifeMs', halfLifeMs, MIN_HALF_LIFE_MS, MAX_HALF_LIFE_MS);
  return new AdaptiveDelayEstimator(percentile, fallbackDelayMs, minSamples, halfLifeMs);
}

/** A percentile strictly between 0 and 100: neither end is a delay that hedging can use. */
function checkPercentile(value: unknown): asserts value is number {
  const expected = 'expected percentile to be a number greater than 0 and less than 100';
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${expected}, got ${describeValue(value)}`);
  }
  if (!(value > 0 && value < 100)) throw new RangeError(`${expected}, got ${describeValue(value)}`);
}
