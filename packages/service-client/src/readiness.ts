import {
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
} from '@bulwark/core/internal';
import type {
  HealthCheckDefinition,
  HealthKind,
  HealthObservation,
  HealthStatus,
} from '@bulwark/health';
import type { EndpointView } from './views.js';

export interface ReadinessCheckOptions {
  /** The check's name and component (`<name>:endpoints`). Default: the service's name. */
  name?: string;
  /**
   * While some endpoints are out of rotation (ejected, their circuit open) but others take
   * calls. Default `warn` (the view still answers 200).
   */
  whenDegraded?: HealthStatus;
  /** While no endpoint takes calls, or none is known yet. Default `fail` (503). */
  whenUnavailable?: 'warn' | 'fail';
  /** Default `readiness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true. */
  critical?: boolean;
  timeoutMs?: number;
  cacheMs?: number;
}

const OPTION_NAMES = [
  'name',
  'whenDegraded',
  'whenUnavailable',
  'kind',
  'critical',
  'timeoutMs',
  'cacheMs',
];

/** What the check reads: the client's endpoints, and whether any were read yet. */
export interface ReadinessSource {
  readonly name: string;
  readonly known: boolean;
  endpoints(): readonly EndpointView[];
}

/**
 * A `@bulwark/health` check of the service's endpoints: `pass` while every endpoint takes
 * calls, `whenDegraded` while some are out of rotation, `whenUnavailable` while none takes calls.
 * The detailed view says how many take calls (`observedValue`) and which are out, and why.
 */
export function readinessCheck(
  source: ReadinessSource,
  options: ReadinessCheckOptions = {},
): HealthCheckDefinition {
  checkOptionsObject('readinessCheck', options);
  checkKnownOptions('readinessCheck', options, OPTION_NAMES);
  const {
    name = source.name,
    whenDegraded = 'warn',
    whenUnavailable = 'fail',
    kind = 'readiness',
    critical = true,
    timeoutMs,
    cacheMs,
  } = options;
  checkString('name', name);
  checkOneOf('whenDegraded', whenDegraded, ['pass', 'warn', 'fail']);
  checkOneOf('whenUnavailable', whenUnavailable, ['warn', 'fail']);
  return {
    name,
    component: name,
    measurement: 'endpoints',
    componentType: 'component',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: (): HealthObservation => {
      if (!source.known) {
        return { status: whenUnavailable, observedValue: 0, output: 'no endpoints read yet' };
      }
      const views = source.endpoints();
      const out = views.filter((view) => !view.available);
      const available = views.length - out.length;
      const status: HealthStatus =
        available === 0 ? whenUnavailable : out.length > 0 ? whenDegraded : 'pass';
      if (status === 'pass') return { status, observedValue: available };
      const reasons = out.map((view) => `${view.endpoint} ${outReason(view)}`);
      const output =
        views.length === 0
          ? 'no endpoints'
          : `${available} of ${views.length} endpoints take calls; ${reasons.join(', ')}`;
      return { status, observedValue: available, output };
    },
  };
}

function outReason(view: EndpointView): string {
  if (view.state === 'ejected') return 'ejected';
  return view.breaker === 'isolated' ? 'isolated' : 'circuit open';
}
