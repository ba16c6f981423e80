import {
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkObject,
  optionNames,
} from '@bulwark/core/internal';

export const DEFAULT_BACKOFF_FACTOR = 2;
export const DEFAULT_BACKOFF_MAX_MS = 300_000;
export const MAX_BACKOFF_FACTOR = 100;

/**
 * Lengthens the break each time a half-open trial fails, so a downstream that stays down is
 * probed less and less often. The break returns to `breakDurationMs` once the breaker closes.
 */
export interface BreakBackoffOptions {
  /** Each re-open multiplies the previous break by this, in [1, 100]. Default 2. */
  factor?: number;
  /** The longest break, in ms, at least `breakDurationMs`. Default 300 000 (or `breakDurationMs` if longer). */
  maxMs?: number;
}

const OPTION_NAMES = optionNames<BreakBackoffOptions>({ factor: true, maxMs: true });

export interface BreakBackoff {
  readonly factor: number;
  readonly maxMs: number;
}

/** Checks `breakBackoff` as `factory` (whose option it is, for messages) was given it. */
export function parseBreakBackoff(
  options: BreakBackoffOptions | undefined,
  breakDurationMs: number,
  factory: string,
): BreakBackoff | undefined {
  if (options === undefined) return undefined;
  checkObject('breakBackoff', options);
  checkKnownOptions(factory, options, OPTION_NAMES, 'breakBackoff');
  const {
    factor = DEFAULT_BACKOFF_FACTOR,
    maxMs = Math.max(DEFAULT_BACKOFF_MAX_MS, breakDurationMs),
  } = options;
  checkNumber('breakBackoff.factor', factor, 1, MAX_BACKOFF_FACTOR);
  checkInteger('breakBackoff.maxMs', maxMs, breakDurationMs, Infinity);
  return { factor, maxMs };
}

/** The break after one more failed trial. */
export function nextBreak(
  backoff: BreakBackoff | undefined,
  currentMs: number,
  baseMs: number,
): number {
  return backoff === undefined ? baseMs : Math.min(backoff.maxMs, currentMs * backoff.factor);
}
