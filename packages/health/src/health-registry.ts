import { type Clock, systemClock } from '@bulwark/core';
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
import { type CheckOutcome, CheckRunner } from './check-runner.js';
import { type HealthListener, emitHealth } from './events.js';
import {
  DEFAULT_CHECK_TIMEOUT_MS,
  type HealthCheckDefinition,
  resolveCheck,
} from './health-check.js';
import { type HealthReport, type ReportMeta, buildReport, viewStatus } from './health-report.js';
import { HEALTH_KINDS, type HealthKind, type HealthStatus } from './status.js';

/** How long a check's result is reused, so a burst of probes runs each check once. */
export const DEFAULT_CACHE_MS = 1_000;

export interface HealthRegistryOptions {
  /** How long a check's result is reused before the check runs again. Default 1000 ms. */
  cacheMs?: number;
  /** The timeout of checks that set none. Default 800 ms. */
  timeoutMs?: number;
  /** Whether views include values, outputs and times unless a call says otherwise. Default false. */
  detailed?: boolean;
  /** Shown in the detailed view. */
  version?: string;
  /** Shown in the detailed view. */
  releaseId?: string;
  /** Shown in the detailed view. */
  serviceId?: string;
  /** Shown in the detailed view. */
  description?: string;
  /** Measures timeouts and cache lifetimes. Default: the system clock. */
  clock?: Clock;
  /** Receives `health-check` and `health-report` events. */
  listener?: HealthListener;
}

const OPTION_NAMES = optionNames<HealthRegistryOptions>({
  cacheMs: true,
  timeoutMs: true,
  detailed: true,
  version: true,
  releaseId: true,
  serviceId: true,
  description: true,
  clock: true,
  listener: true,
});

export interface HealthViewOptions {
  /** Include observed values, outputs (error messages), times and service metadata. */
  detailed?: boolean;
}

/** The part of a registry that graceful shutdown needs. */
export interface ShutdownAware {
  beginShutdown(): void;
}

/**
 * Named checks and the three views over them. Build one with {@link healthRegistry}.
 */
export class HealthRegistry implements ShutdownAware {
  private readonly runners = new Map<string, CheckRunner>();
  private readonly meta: ReportMeta;
  private startedWith: { status: HealthStatus; outcomes: CheckOutcome[] } | undefined = undefined;
  private shuttingDown_ = false;

  /** @internal Use {@link healthRegistry}. */
  constructor(
    private readonly clock: Clock,
    private readonly cacheMs: number,
    private readonly timeoutMs: number,
    private readonly detailedDefault: boolean,
    meta: ReportMeta,
    private readonly listener: HealthListener | undefined,
  ) {
    this.meta = meta;
  }

  /** Adds a check. Returns a function that removes it again. */
  register(definition: HealthCheckDefinition): () => void {
    const check = resolveCheck(definition, this.cacheMs, this.timeoutMs);
    if (this.runners.has(check.name)) {
      throw new Error(`a check named ${JSON.stringify(check.name)} is already registered`);
    }
    const runner = new CheckRunner(check, this.clock, this.listener);
    this.runners.set(check.name, runner);
    return () => {
      if (this.runners.get(check.name) !== runner) return;
      this.runners.delete(check.name);
      check.dispose?.();
    };
  }

  /** The registered check names, in registration order. */
  names(): string[] {
    return [...this.runners.keys()];
  }

  /** Can the process serve at all? A failing liveness probe gets the process restarted. */
  liveness(options?: HealthViewOptions): Promise<HealthReport> {
    return this.report('liveness', options);
  }

  /**
   * Should traffic come here? Critical checks failing give `fail` (503); a non-critical one
   * failing gives `warn` (200). Always `fail` once shutdown has begun.
   */
  readiness(options?: HealthViewOptions): Promise<HealthReport> {
    return this.report('readiness', options);
  }

  /**
   * Has the process finished starting? Once this view has answered without `fail`, it keeps that
   * answer without running its checks again: a started process does not un-start.
   */
  startup(options?: HealthViewOptions): Promise<HealthReport> {
    return this.report('startup', options);
  }

  /** One of the three views by name. */
  async report(kind: HealthKind, options: HealthViewOptions = {}): Promise<HealthReport> {
    checkOneOf('kind', kind, HEALTH_KINDS);
    const detailed = options.detailed ?? this.detailedDefault;
    let status: HealthStatus;
    let outcomes: CheckOutcome[];
    let output: string | undefined;
    if (kind === 'readiness' && this.shuttingDown_) {
      // Checks are not run: the answer is known, and dependencies are spared during the drain.
      status = 'fail';
      outcomes = [];
      output = 'shutting down';
    } else if (kind === 'startup' && this.startedWith !== undefined) {
      ({ status, outcomes } = this.startedWith);
    } else {
      const pending: Array<CheckOutcome | Promise<CheckOutcome>> = [];
      for (const runner of this.runners.values()) {
        if (runner.check.kinds.includes(kind)) pending.push(runner.outcome());
      }
      // Every run has started before the first await, so they run side by side.
      outcomes = [];
      for (const p of pending) outcomes.push(p instanceof Promise ? await p : p);
      status = viewStatus(outcomes);
      if (kind === 'startup' && status !== 'fail') this.startedWith = { status, outcomes };
      if (kind === 'readiness' && this.shuttingDown_) {
        status = 'fail';
        output = 'shutting down';
      }
    }
    if (this.listener !== undefined) {
      emitHealth(this.listener, { type: 'health-report', kind, status });
    }
    return buildReport(kind, status, outcomes, detailed, this.meta, output);
  }

  /** Makes readiness fail from now on, so load balancers stop sending traffic. */
  beginShutdown(): void {
    this.shuttingDown_ = true;
  }

  get shuttingDown(): boolean {
    return this.shuttingDown_;
  }

  /** Removes every check, calling each one's `dispose`. */
  close(): void {
    const runners = [...this.runners.values()];
    this.runners.clear();
    for (const runner of runners) runner.check.dispose?.();
  }
}

/**
 * A registry of named health checks with Kubernetes-style liveness, readiness and startup views
 * in `application/health+json`.
 */
export function healthRegistry(options: HealthRegistryOptions = {}): HealthRegistry {
  checkOptionsObject('healthRegistry', options);
  checkKnownOptions('healthRegistry', options, OPTION_NAMES);
  const {
    cacheMs = DEFAULT_CACHE_MS,
    timeoutMs = DEFAULT_CHECK_TIMEOUT_MS,
    detailed = false,
    clock = systemClock,
    listener,
  } = options;
  checkInteger('cacheMs', cacheMs, 0);
  checkInteger('timeoutMs', timeoutMs, 1);
  checkBoolean('detailed', detailed);
  for (const field of ['version', 'releaseId', 'serviceId', 'description'] as const) {
    if (options[field] !== undefined) checkString(field, options[field], 1024);
  }
  if (listener !== undefined) checkFunction('listener', listener);
  return new HealthRegistry(
    clock,
    cacheMs,
    timeoutMs,
    detailed,
    {
      version: options.version,
      releaseId: options.releaseId,
      serviceId: options.serviceId,
      description: options.description,
    },
    listener,
  );
}
