import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import { HEALTH_KINDS, HEALTH_STATUSES, type HealthKind, type HealthStatus } from './status.js';

/** How long a check may take before it counts as failed. Kubernetes probes give up after 1 s. */
export const DEFAULT_CHECK_TIMEOUT_MS = 800;
/** The view a check joins when it names none. */
export const DEFAULT_KIND: HealthKind = 'readiness';

/** What a check function receives. */
export interface HealthCheckArgs {
  /** Aborts when the check's timeout elapses: pass it to whatever the check waits on. */
  readonly signal: AbortSignal;
}

/** One measurement a check reports. */
export interface HealthObservation {
  /** Names this entry `component:measurement`; defaults to the check's own `measurement`. */
  readonly measurement?: string;
  readonly status: HealthStatus;
  /** Shown in the detailed view only. */
  readonly observedValue?: number | string | boolean;
  /** Shown in the detailed view only, e.g. `ms`, `percent`, `bytes`. */
  readonly observedUnit?: string;
  /** Shown in the detailed view only: why the status is not `pass`. */
  readonly output?: string;
}

/**
 * What a check may return: nothing (pass), a status, one observation or several (a memory check
 * reports heap and RSS). Throwing or rejecting means `fail`, with the error message as output.
 */
export type HealthCheckResult =
  void | HealthStatus | HealthObservation | readonly HealthObservation[];

export type HealthCheckFn = (
  args: HealthCheckArgs,
) => HealthCheckResult | PromiseLike<HealthCheckResult>;

/** A check to register: the function and how the views treat it. */
export interface HealthCheckDefinition {
  /** Unique within the registry. */
  name: string;
  /** The component part of the `checks` key. Default: `name`. */
  component?: string;
  /** The measurement part of the `checks` key (`component:measurement`). Default: none. */
  measurement?: string;
  /** `componentType` in the detailed view, e.g. `datastore`, `system`, `component`. */
  componentType?: string;
  check: HealthCheckFn;
  /** A run that has not answered after this long fails (and its signal aborts). Default 800 ms. */
  timeoutMs?: number;
  /** A failing non-critical check makes its views `warn` rather than `fail`. Default true. */
  critical?: boolean;
  /** The view or views the check belongs to. Default `readiness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** How long a result is reused, overriding the registry's `cacheMs`. */
  cacheMs?: number;
  /** Called once when the check is unregistered or the registry closes (stop samplers here). */
  dispose?: () => void;
}

const DEFINITION_NAMES = optionNames<HealthCheckDefinition>({
  name: true,
  component: true,
  measurement: true,
  componentType: true,
  check: true,
  timeoutMs: true,
  critical: true,
  kind: true,
  cacheMs: true,
  dispose: true,
});

/** A definition with its defaults applied and validated. */
export interface ResolvedCheck {
  readonly name: string;
  readonly component: string;
  readonly measurement: string | undefined;
  readonly componentType: string | undefined;
  readonly check: HealthCheckFn;
  readonly timeoutMs: number;
  readonly critical: boolean;
  readonly kinds: readonly HealthKind[];
  readonly cacheMs: number;
  readonly dispose: (() => void) | undefined;
}

export function resolveCheck(
  definition: HealthCheckDefinition,
  defaultCacheMs: number,
  defaultTimeoutMs: number,
): ResolvedCheck {
  checkOptionsObject('register', definition);
  checkKnownOptions('register', definition, DEFINITION_NAMES);
  const { name, check, component = name, measurement, componentType } = definition;
  checkString('name', name);
  checkFunction('check', check);
  checkString('component', component);
  if (measurement !== undefined) checkString('measurement', measurement);
  if (componentType !== undefined) checkString('componentType', componentType);
  const timeoutMs = definition.timeoutMs ?? defaultTimeoutMs;
  checkInteger('timeoutMs', timeoutMs, 1);
  const cacheMs = definition.cacheMs ?? defaultCacheMs;
  checkInteger('cacheMs', cacheMs, 0);
  const critical = definition.critical ?? true;
  checkBoolean('critical', critical);
  const kind = definition.kind ?? DEFAULT_KIND;
  const kinds: readonly HealthKind[] = typeof kind === 'string' ? [kind] : kind;
  if (!Array.isArray(kinds) || kinds.length === 0) {
    throw new TypeError(
      `expected kind to be one of "liveness", "readiness", "startup" or an array of them`,
    );
  }
  for (const k of kinds) checkOneOf('kind', k, HEALTH_KINDS);
  if (definition.dispose !== undefined) checkFunction('dispose', definition.dispose);
  return {
    name,
    component,
    measurement,
    componentType,
    check,
    timeoutMs,
    critical,
    kinds: [...new Set(kinds)],
    cacheMs,
    dispose: definition.dispose,
  };
}

/** One entry of a check's outcome, keyed as it will appear under `checks`. */
export interface ResolvedObservation {
  readonly key: string;
  readonly status: HealthStatus;
  readonly observedValue: number | string | boolean | undefined;
  readonly observedUnit: string | undefined;
  readonly output: string | undefined;
}

function keyOf(check: ResolvedCheck, measurement: string | undefined): string {
  return measurement === undefined ? check.component : `${check.component}:${measurement}`;
}

function isStatus(value: unknown): value is HealthStatus {
  return HEALTH_STATUSES.includes(value as HealthStatus);
}

function observation(check: ResolvedCheck, value: unknown): ResolvedObservation {
  if (
    typeof value !== 'object' ||
    value === null ||
    !isStatus((value as HealthObservation).status)
  ) {
    return invalidResult(check);
  }
  const o = value as HealthObservation;
  const observedValue =
    typeof o.observedValue === 'number' ||
    typeof o.observedValue === 'string' ||
    typeof o.observedValue === 'boolean'
      ? o.observedValue
      : undefined;
  return {
    key: keyOf(check, typeof o.measurement === 'string' ? o.measurement : check.measurement),
    status: o.status,
    observedValue,
    observedUnit: typeof o.observedUnit === 'string' ? o.observedUnit : undefined,
    output: typeof o.output === 'string' ? o.output : undefined,
  };
}

function invalidResult(check: ResolvedCheck): ResolvedObservation {
  return failure(check, 'the check returned something other than a status or an observation');
}

/** A single failing entry under the check's own key. */
export function failure(check: ResolvedCheck, output: string): ResolvedObservation {
  return {
    key: keyOf(check, check.measurement),
    status: 'fail',
    observedValue: undefined,
    observedUnit: undefined,
    output,
  };
}

/** Turns whatever a check returned into entries; never throws. */
export function normalizeResult(check: ResolvedCheck, value: unknown): ResolvedObservation[] {
  if (value === undefined || value === null) return [observation(check, { status: 'pass' })];
  if (typeof value === 'string') {
    return [isStatus(value) ? observation(check, { status: value }) : invalidResult(check)];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [observation(check, { status: 'pass' })];
    return value.map((entry: unknown) => observation(check, entry));
  }
  return [observation(check, value)];
}

/** A safe one-line message for whatever a check threw. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  return 'the check failed';
}
