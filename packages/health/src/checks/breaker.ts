import {
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import type { HealthCheckDefinition, HealthObservation } from '../health-check.js';
import type { HealthKind, HealthStatus } from '../status.js';

/** The part of a breaker view this check reads (`@bulwark/circuit-breaker`'s `BreakerView`). */
export interface BreakerStateView {
  readonly state: string;
  readonly key?: string | undefined;
}

/** A single breaker: anything with `view()`, as `@bulwark/circuit-breaker`'s breakers have. */
export interface BreakerLike {
  view(): BreakerStateView;
}

/** A set of breakers: anything with `views()`, as `@bulwark/circuit-breaker`'s registries have. */
export interface BreakerSetLike {
  views(): readonly BreakerStateView[];
}

export interface BreakerCheckOptions {
  /** The check's name and component, e.g. the dependency the breaker guards. */
  name: string;
  breaker: BreakerLike | BreakerSetLike;
  /**
   * The status while a breaker is open or isolated. Default `warn`: every instance shares the
   * dependency, so failing readiness would pull them all out of rotation at once.
   */
  whenOpen?: 'warn' | 'fail';
  /** The status while a breaker is trying trial calls. Default `warn`. */
  whenHalfOpen?: HealthStatus;
  /** Default `circuit`: the entry is `name:circuit`. */
  measurement?: string;
  /** Default `readiness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true (with `whenOpen: 'warn'` the view still answers 200). */
  critical?: boolean;
  timeoutMs?: number;
  cacheMs?: number;
}

const OPTION_NAMES = optionNames<BreakerCheckOptions>({
  name: true,
  breaker: true,
  whenOpen: true,
  whenHalfOpen: true,
  measurement: true,
  kind: true,
  critical: true,
  timeoutMs: true,
  cacheMs: true,
});

function isSet(breaker: BreakerLike | BreakerSetLike): breaker is BreakerSetLike {
  return typeof (breaker as BreakerSetLike).views === 'function';
}

/**
 * Reports a circuit breaker's state, or the worst state in a registry of breakers: an open
 * breaker means the dependency behind it is considered down.
 */
export function breakerCheck(options: BreakerCheckOptions): HealthCheckDefinition {
  checkOptionsObject('breakerCheck', options);
  checkKnownOptions('breakerCheck', options, OPTION_NAMES);
  const {
    name,
    breaker,
    whenOpen = 'warn',
    whenHalfOpen = 'warn',
    measurement = 'circuit',
    kind = 'readiness',
    critical = true,
    timeoutMs,
    cacheMs,
  } = options;
  checkString('name', name);
  checkString('measurement', measurement);
  if (
    typeof breaker !== 'object' ||
    breaker === null ||
    (typeof (breaker as BreakerLike).view !== 'function' &&
      typeof (breaker as BreakerSetLike).views !== 'function')
  ) {
    throw new TypeError('expected breaker to have a view() or views() method');
  }
  checkOneOf('whenOpen', whenOpen, ['warn', 'fail']);
  checkOneOf('whenHalfOpen', whenHalfOpen, ['pass', 'warn', 'fail']);

  const statusOf = (state: string): HealthStatus => {
    switch (state) {
      case 'closed':
        return 'pass';
      case 'half-open':
        return whenHalfOpen;
      default:
        // open, isolated, and anything a future breaker might add: not known to be healthy.
        return whenOpen;
    }
  };

  return {
    name,
    component: name,
    measurement,
    componentType: 'component',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: (): HealthObservation => {
      if (!isSet(breaker)) {
        const { state } = breaker.view();
        const status = statusOf(state);
        return {
          status,
          observedValue: state,
          output: status === 'pass' ? undefined : `circuit is ${state}`,
        };
      }
      let status: HealthStatus = 'pass';
      let notClosed = 0;
      const keys: string[] = [];
      for (const view of breaker.views()) {
        const s = statusOf(view.state);
        if (view.state !== 'closed') {
          notClosed++;
          keys.push(`${view.key ?? '(unkeyed)'} ${view.state}`);
        }
        if (s === 'fail' || (s === 'warn' && status === 'pass')) status = s;
      }
      return {
        status,
        observedValue: notClosed,
        observedUnit: 'circuits not closed',
        output: keys.length === 0 ? undefined : keys.join(', '),
      };
    },
  };
}
