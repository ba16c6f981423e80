import type { BreakerState } from '@bulwark/core';
import type { Endpoint, EndpointState } from './endpoint.js';

/** One endpoint as it stands: for dashboards, logs, readiness and tests. */
export interface EndpointView {
  /** Its URL: origin and path prefix. */
  readonly endpoint: string;
  readonly origin: string;
  /** `active`, `ejected`, or `probation` (back from an ejection, on trial traffic). */
  readonly state: EndpointState;
  /** Whether it takes calls now: not ejected, and its circuit closed or half-open. */
  readonly available: boolean;
  /** Requests on the wire to it now. */
  readonly inFlight: number;
  /** Its latency estimate (Peak EWMA), in milliseconds: 0 before its first answer. */
  readonly latencyMs: number;
  readonly consecutiveFailures: number;
  /** Ejections not yet forgiven: the multiplier of its next one. */
  readonly ejections: number;
  /** While ejected, how long it stays out. */
  readonly ejectedForMs: number | undefined;
  /** Its circuit breaker's state, when the client has breakers. */
  readonly breaker: BreakerState | undefined;
}

/** The view of `endpoint` at `now`; an ejection whose time is up shows as probation. */
export function endpointView(endpoint: Endpoint, now: number, decayMs: number): EndpointView {
  const ejected = endpoint.state === 'ejected' && now < endpoint.ejectedUntil;
  const state: EndpointState =
    endpoint.state === 'ejected' && !ejected ? 'probation' : endpoint.state;
  return {
    endpoint: endpoint.url,
    origin: endpoint.origin,
    state,
    available: !ejected && endpoint.breakerAdmits,
    inFlight: endpoint.inFlight,
    latencyMs: endpoint.estimate(now, decayMs),
    consecutiveFailures: endpoint.consecutiveFailures,
    ejections: endpoint.ejections,
    ejectedForMs: ejected ? endpoint.ejectedUntil - now : undefined,
    breaker: endpoint.breaker?.state,
  };
}
