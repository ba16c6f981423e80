import type { PolicyEvent, TelemetryListener } from '@bulwark/core';

/** What every event of a service client's endpoints carries. */
interface EndpointEventBase {
  readonly policy: 'service-client';
  /** The service client's `name`. */
  readonly name: string;
  /** The operation whose call led to it, when a call did (an ejection, a readmission). */
  readonly operation: string | undefined;
}

/** Why an endpoint was taken out of rotation. */
export type EjectionReason = 'consecutive-failures' | 'success-rate';

/** An endpoint was taken out of rotation (outlier ejection). */
export interface EndpointEjectedEvent extends EndpointEventBase {
  readonly type: 'endpoint-ejected';
  /** The endpoint's URL. */
  readonly endpoint: string;
  readonly reason: EjectionReason;
  /** How many times it has been ejected, this time included (the multiplier of its time out). */
  readonly ejections: number;
  /** How long it stays out. */
  readonly durationMs: number;
  /** Endpoints out of rotation now, this one included. */
  readonly ejected: number;
  /** Endpoints the client knows now. */
  readonly endpoints: number;
}

/** An ejected endpoint's time was up: it takes trial traffic again. */
export interface EndpointReadmittedEvent extends EndpointEventBase {
  readonly type: 'endpoint-readmitted';
  readonly endpoint: string;
  readonly ejected: number;
  readonly endpoints: number;
}

/** The endpoints changed: the function's new answer, or a DNS answer. */
export interface EndpointsUpdatedEvent extends EndpointEventBase {
  readonly type: 'endpoints-updated';
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly endpoints: number;
}

/** Reading the endpoints failed (the function threw, DNS failed or answered no address). */
export interface EndpointsRefreshFailedEvent extends EndpointEventBase {
  readonly type: 'endpoints-refresh-failed';
  readonly error: unknown;
  /** Endpoints the client keeps using: the last ones it knew. */
  readonly endpoints: number;
}

/** The service client's own events, besides those of its policies. */
export type ServiceClientEvent =
  | EndpointEjectedEvent
  | EndpointReadmittedEvent
  | EndpointsUpdatedEvent
  | EndpointsRefreshFailedEvent;

/**
 * Receives every event of a service client: its policies' (`PolicyEvent`) and its own. The
 * listeners of `@bulwark/telemetry` take both.
 */
export interface ServiceClientListener extends TelemetryListener {
  (event: PolicyEvent | ServiceClientEvent): void;
}

/** Calls a listener with one of the client's own events, shielding the caller from it. */
export function emitEndpointEvent(
  listener: ServiceClientListener,
  event: ServiceClientEvent,
): void {
  try {
    listener(event);
  } catch {
    // As core's emit(): a broken exporter must never fail or alter a call.
  }
}
