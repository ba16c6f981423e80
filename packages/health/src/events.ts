import type { HealthKind, HealthStatus } from './status.js';

/** One run of one check ended (a cached answer reports nothing: no run happened). */
export interface HealthCheckEvent {
  readonly type: 'health-check';
  /** The check's registered name. */
  readonly name: string;
  readonly status: HealthStatus;
  readonly durationMs: number;
  /** True when the check did not answer within its timeout. */
  readonly timedOut: boolean;
  /** True when the check was not started because its previous run still hangs. */
  readonly skipped: boolean;
  /** What the check threw, when it threw. */
  readonly error: unknown;
}

/** A view was computed for a probe. */
export interface HealthReportEvent {
  readonly type: 'health-report';
  readonly kind: HealthKind;
  readonly status: HealthStatus;
}

/** A step of a graceful shutdown. */
export interface ShutdownEvent {
  readonly type: 'shutdown';
  /**
   * `signal`: shutdown began (readiness now fails); `closing`: the server stopped accepting;
   * `forced`: the drain timeout elapsed and open connections were destroyed; `closed`: done.
   */
  readonly phase: 'signal' | 'closing' | 'forced' | 'closed';
  readonly reason: string;
  /** Requests still being served at this step. */
  readonly inFlight: number;
}

export type HealthEvent = HealthCheckEvent | HealthReportEvent | ShutdownEvent;

/** Receives health telemetry. Called synchronously; whatever it throws is ignored. */
export type HealthListener = (event: HealthEvent) => void;

export function emitHealth(listener: HealthListener, event: HealthEvent): void {
  try {
    listener(event);
  } catch {
    // Telemetry must never change what a probe answers.
  }
}
