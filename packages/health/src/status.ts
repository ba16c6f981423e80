/** A check's or a view's outcome, as `application/health+json` spells it. */
export type HealthStatus = 'pass' | 'warn' | 'fail';

/** The three Kubernetes-style views a check can belong to. */
export type HealthKind = 'liveness' | 'readiness' | 'startup';

export const HEALTH_STATUSES: readonly HealthStatus[] = ['pass', 'warn', 'fail'];
export const HEALTH_KINDS: readonly HealthKind[] = ['liveness', 'readiness', 'startup'];

const RANK: Readonly<Record<HealthStatus, number>> = { pass: 0, warn: 1, fail: 2 };

/** The worse of two statuses. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[a] >= RANK[b] ? a : b;
}
