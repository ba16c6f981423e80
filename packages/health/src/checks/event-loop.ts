import {
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { HealthCheckDefinition, HealthObservation } from '../health-check.js';
import type { HealthKind } from '../status.js';

/** A p99 delay this long means the process is not serving anyone in reasonable time. */
export const DEFAULT_MAX_DELAY_MS = 1_000;
export const DEFAULT_DELAY_PERCENTILE = 99;
/** How often the delay sampler ticks (Node's default is 10 ms; coarser costs less). */
export const DEFAULT_RESOLUTION_MS = 20;

export interface EventLoopCheckOptions {
  /** Default `eventloop`. The entries are `eventloop:delay` and `eventloop:utilization`. */
  name?: string;
  /** The delay (at `percentile`, since the previous run) above which the check fails. Default 1000 ms. */
  maxDelayMs?: number;
  /** Which percentile of the delay to judge. Default 99. */
  percentile?: number;
  /** Event loop utilization (0–1, since the previous run) above which the check fails. Default: reported, never judged. */
  maxUtilization?: number;
  /** The status when a limit is exceeded. Default `fail`. */
  whenExceeded?: 'warn' | 'fail';
  /** The delay sampler's resolution. Default 20 ms. */
  resolutionMs?: number;
  /** Default `liveness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true. */
  critical?: boolean;
  timeoutMs?: number;
  cacheMs?: number;
}

const OPTION_NAMES = optionNames<EventLoopCheckOptions>({
  name: true,
  maxDelayMs: true,
  percentile: true,
  maxUtilization: true,
  whenExceeded: true,
  resolutionMs: true,
  kind: true,
  critical: true,
  timeoutMs: true,
  cacheMs: true,
});

/** Where the check reads the event loop from; tests substitute their own. */
export interface LoopSampler {
  /** The delay at `percentile` since the last reset, in ms, not counting the resolution. */
  delayMs(percentile: number): number;
  /** Utilization (0–1) since the previous call. */
  utilization(): number;
  reset(): void;
  dispose(): void;
}

function perfHooksSampler(resolutionMs: number): LoopSampler {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    delayMs(percentile) {
      if (histogram.count === 0) return 0;
      // The histogram records whole intervals between ticks: the delay is what exceeds the tick.
      return Math.max(0, histogram.percentile(percentile) / 1e6 - resolutionMs);
    },
    utilization() {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return Number.isFinite(delta.utilization) ? delta.utilization : 0;
    },
    reset() {
      histogram.reset();
    },
    dispose() {
      histogram.disable();
    },
  };
}

const round = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** The check over any sampler. */
export function eventLoopCheckWith(
  options: EventLoopCheckOptions,
  makeSampler: (resolutionMs: number) => LoopSampler,
): HealthCheckDefinition {
  checkOptionsObject('eventLoopCheck', options);
  checkKnownOptions('eventLoopCheck', options, OPTION_NAMES);
  const {
    name = 'eventloop',
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    percentile = DEFAULT_DELAY_PERCENTILE,
    maxUtilization,
    whenExceeded = 'fail',
    resolutionMs = DEFAULT_RESOLUTION_MS,
    kind = 'liveness',
    critical = true,
    timeoutMs,
    cacheMs,
  } = options;
  checkNumber('maxDelayMs', maxDelayMs, 0);
  checkNumber('percentile', percentile, 1, 100);
  if (maxUtilization !== undefined) checkNumber('maxUtilization', maxUtilization, 0, 1);
  checkOneOf('whenExceeded', whenExceeded, ['warn', 'fail']);
  checkInteger('resolutionMs', resolutionMs, 1);
  // Created now, not at the first probe, so the first probe already has samples to judge.
  const sampler = makeSampler(resolutionMs);
  return {
    name,
    component: name,
    componentType: 'system',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: (): HealthObservation[] => {
      const delay = sampler.delayMs(percentile);
      const utilization = sampler.utilization();
      sampler.reset();
      const delayExceeded = delay > maxDelayMs;
      const utilizationExceeded = maxUtilization !== undefined && utilization > maxUtilization;
      return [
        {
          measurement: 'delay',
          status: delayExceeded ? whenExceeded : 'pass',
          observedValue: round(delay, 1),
          observedUnit: 'ms',
          output: delayExceeded
            ? `p${percentile} event loop delay ${round(delay, 1)} ms exceeds ${maxDelayMs} ms`
            : undefined,
        },
        {
          measurement: 'utilization',
          status: utilizationExceeded ? whenExceeded : 'pass',
          observedValue: round(utilization * 100, 1),
          observedUnit: 'percent',
          output: utilizationExceeded
            ? `event loop utilization ${round(utilization * 100, 1)}% exceeds ${round(maxUtilization * 100, 1)}%`
            : undefined,
        },
      ];
    },
    dispose: () => sampler.dispose(),
  };
}

/**
 * A liveness check on the event loop: its delay (how late timers fire, at a percentile, since
 * the previous run) and its utilization (the share of time spent running code). Samples with
 * `perf_hooks`; the sampler stops when the check is unregistered or the registry closes.
 */
export function eventLoopCheck(options: EventLoopCheckOptions = {}): HealthCheckDefinition {
  return eventLoopCheckWith(options, perfHooksSampler);
}
