import type { CheckOutcome } from './check-runner.js';
import type { HealthKind, HealthStatus } from './status.js';

/** The media type of every report (draft-inadarei-api-health-check). */
export const HEALTH_CONTENT_TYPE = 'application/health+json';

/** One entry under `checks`. The public view carries `status` only. */
export interface HealthCheckEntry {
  status: HealthStatus;
  componentId?: string;
  componentType?: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  /** Why the entry is not `pass`, e.g. an error message. */
  output?: string;
  /** When the result was observed (ISO 8601). */
  time?: string;
}

/** The `application/health+json` document. */
export interface HealthBody {
  status: HealthStatus;
  version?: string;
  releaseId?: string;
  serviceId?: string;
  description?: string;
  output?: string;
  /** Keyed `component:measurement` (or `component`); several entries share a key when checks do. */
  checks: Record<string, HealthCheckEntry[]>;
}

/** Everything an adapter needs to answer a probe. */
export interface HealthReport {
  readonly kind: HealthKind;
  readonly status: HealthStatus;
  /** 200 for `pass` and `warn`, 503 for `fail`. */
  readonly httpStatus: 200 | 503;
  readonly contentType: typeof HEALTH_CONTENT_TYPE;
  /** `content-type` and `cache-control: no-store`, ready to write. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: HealthBody;
}

export interface ReportMeta {
  readonly version: string | undefined;
  readonly releaseId: string | undefined;
  readonly serviceId: string | undefined;
  readonly description: string | undefined;
}

const HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': HEALTH_CONTENT_TYPE,
  'cache-control': 'no-store',
});

/**
 * A non-critical check's failure degrades the view (`warn`) without taking it down: a cache
 * or a recommendation service being away should not pull the instance out of rotation.
 */
export function viewStatus(outcomes: readonly CheckOutcome[]): HealthStatus {
  let status: HealthStatus = 'pass';
  for (const o of outcomes) {
    if (o.status === 'fail') {
      if (o.check.critical) return 'fail';
      status = 'warn';
    } else if (o.status === 'warn') {
      status = 'warn';
    }
  }
  return status;
}

export function buildReport(
  kind: HealthKind,
  status: HealthStatus,
  outcomes: readonly CheckOutcome[],
  detailed: boolean,
  meta: ReportMeta,
  output: string | undefined,
): HealthReport {
  const checks: Record<string, HealthCheckEntry[]> = {};
  for (const outcome of outcomes) {
    const time = detailed ? new Date(outcome.at).toISOString() : undefined;
    for (const o of outcome.observations) {
      const entry: HealthCheckEntry = { status: o.status };
      if (detailed) {
        entry.componentId = outcome.check.name;
        if (outcome.check.componentType !== undefined) {
          entry.componentType = outcome.check.componentType;
        }
        if (o.observedValue !== undefined) entry.observedValue = o.observedValue;
        if (o.observedUnit !== undefined) entry.observedUnit = o.observedUnit;
        if (o.output !== undefined) entry.output = o.output;
        entry.time = time;
      }
      (checks[o.key] ??= []).push(entry);
    }
  }
  // Key order follows the draft's examples: status first, checks last.
  const body = { status } as HealthBody;
  if (detailed) {
    if (meta.version !== undefined) body.version = meta.version;
    if (meta.releaseId !== undefined) body.releaseId = meta.releaseId;
    if (meta.serviceId !== undefined) body.serviceId = meta.serviceId;
    if (meta.description !== undefined) body.description = meta.description;
    if (output !== undefined) body.output = output;
  }
  body.checks = checks;
  return {
    kind,
    status,
    httpStatus: status === 'fail' ? 503 : 200,
    contentType: HEALTH_CONTENT_TYPE,
    headers: HEADERS,
    body,
  };
}
