import {
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkOptionsObject,
  optionNames,
} from '@bulwark/core/internal';
import { getHeapStatistics } from 'node:v8';
import type { HealthCheckDefinition, HealthObservation } from '../health-check.js';
import type { HealthKind } from '../status.js';

/** Past this share of V8's heap limit, the next major allocation may well end the process. */
export const DEFAULT_MAX_HEAP_RATIO = 0.9;

export interface MemoryCheckOptions {
  /** Default `memory`. The entries are `memory:heapUsed` and `memory:rss`. */
  name?: string;
  /** Heap in use above which the check fails. Default 90% of V8's heap size limit. */
  maxHeapUsedBytes?: number;
  /** Resident set size above which the check fails. Default: reported, never judged. */
  maxRssBytes?: number;
  /** The status when a limit is exceeded. Default `fail`. */
  whenExceeded?: 'warn' | 'fail';
  /** Default `liveness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true. */
  critical?: boolean;
  timeoutMs?: number;
  cacheMs?: number;
}

const OPTION_NAMES = optionNames<MemoryCheckOptions>({
  name: true,
  maxHeapUsedBytes: true,
  maxRssBytes: true,
  whenExceeded: true,
  kind: true,
  critical: true,
  timeoutMs: true,
  cacheMs: true,
});

/** A liveness check on the V8 heap in use and the process's resident set size. */
export function memoryCheck(options: MemoryCheckOptions = {}): HealthCheckDefinition {
  checkOptionsObject('memoryCheck', options);
  checkKnownOptions('memoryCheck', options, OPTION_NAMES);
  const {
    name = 'memory',
    maxHeapUsedBytes = Math.floor(getHeapStatistics().heap_size_limit * DEFAULT_MAX_HEAP_RATIO),
    maxRssBytes,
    whenExceeded = 'fail',
    kind = 'liveness',
    critical = true,
    timeoutMs,
    cacheMs,
  } = options;
  checkNumber('maxHeapUsedBytes', maxHeapUsedBytes, 0);
  if (maxRssBytes !== undefined) checkNumber('maxRssBytes', maxRssBytes, 0);
  checkOneOf('whenExceeded', whenExceeded, ['warn', 'fail']);
  return {
    name,
    component: name,
    componentType: 'system',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: (): HealthObservation[] => {
      const { heapUsed, rss } = process.memoryUsage();
      const heapExceeded = heapUsed > maxHeapUsedBytes;
      const rssExceeded = maxRssBytes !== undefined && rss > maxRssBytes;
      return [
        {
          measurement: 'heapUsed',
          status: heapExceeded ? whenExceeded : 'pass',
          observedValue: heapUsed,
          observedUnit: 'bytes',
          output: heapExceeded
            ? `heap used ${heapUsed} bytes exceeds ${maxHeapUsedBytes} bytes`
            : undefined,
        },
        {
          measurement: 'rss',
          status: rssExceeded ? whenExceeded : 'pass',
          observedValue: rss,
          observedUnit: 'bytes',
          output: rssExceeded ? `RSS ${rss} bytes exceeds ${maxRssBytes} bytes` : undefined,
        },
      ];
    },
  };
}
