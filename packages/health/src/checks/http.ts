import { type Clock, systemClock } from '@bulwark/core';
import {
  checkFunction,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import type { HealthCheckDefinition, HealthObservation } from '../health-check.js';
import type { HealthKind } from '../status.js';

export interface HttpCheckOptions {
  /** The dependency's health or status endpoint. */
  url: string | URL;
  /** Default `http`. The entry is `name:responseTime`. */
  name?: string;
  /** Default `GET`. */
  method?: string;
  headers?: Readonly<Record<string, string>>;
  /** The statuses that mean healthy: one, a list, or a predicate. Default: any 2xx. */
  expectStatus?: number | readonly number[] | ((status: number) => boolean);
  /** The check's timeout; the request is aborted when it elapses. */
  timeoutMs?: number;
  /** Default `readiness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true. */
  critical?: boolean;
  cacheMs?: number;
  /** Measures the response time. Default: the system clock. */
  clock?: Clock;
}

const OPTION_NAMES = optionNames<HttpCheckOptions>({
  url: true,
  name: true,
  method: true,
  headers: true,
  expectStatus: true,
  timeoutMs: true,
  kind: true,
  critical: true,
  cacheMs: true,
  clock: true,
});

function statusMatcher(expect: HttpCheckOptions['expectStatus']): (status: number) => boolean {
  if (expect === undefined) return (status) => status >= 200 && status < 300;
  if (typeof expect === 'function') return expect;
  if (typeof expect === 'number') return (status) => status === expect;
  if (Array.isArray(expect) && expect.every((s) => typeof s === 'number')) {
    const allowed = new Set(expect);
    return (status) => allowed.has(status);
  }
  throw new TypeError('expected expectStatus to be a number, an array of numbers or a function');
}

/**
 * Requests a dependency's URL and expects one of the given statuses. Redirects are not followed
 * (a redirect from a health endpoint is a misconfiguration worth seeing), and the body is
 * discarded unread.
 */
export function httpCheck(options: HttpCheckOptions): HealthCheckDefinition {
  checkOptionsObject('httpCheck', options);
  checkKnownOptions('httpCheck', options, OPTION_NAMES);
  const {
    name = 'http',
    method = 'GET',
    headers,
    kind = 'readiness',
    critical = true,
    timeoutMs,
    cacheMs,
    clock = systemClock,
  } = options;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('expected url to be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('expected url to be an absolute http(s) URL');
  }
  checkString('name', name);
  checkString('method', method, 32);
  const matches = statusMatcher(options.expectStatus);
  checkFunction('expectStatus', matches);
  return {
    name,
    component: name,
    measurement: 'responseTime',
    componentType: 'component',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: async ({ signal }): Promise<HealthObservation> => {
      const started = clock.now();
      const response = await fetch(url, { method, headers, signal, redirect: 'manual' });
      await response.body?.cancel().catch(() => undefined);
      const elapsed = Math.round((clock.now() - started) * 10) / 10;
      const ok = matches(response.status);
      return {
        status: ok ? 'pass' : 'fail',
        observedValue: elapsed,
        observedUnit: 'ms',
        output: ok ? undefined : `answered ${response.status}`,
      };
    },
  };
}
