import type { Endpoint } from './endpoint.js';
import type { EndpointSet } from './endpoint-set.js';
import { type EjectionReason, type ServiceClientListener, emitEndpointEvent } from './events.js';

/** Envoy's success-rate detection, as settings. */
export interface SuccessRateSettings {
  readonly minimumEndpoints: number;
  readonly requestVolume: number;
  readonly stdevFactor: number;
}

/** Outlier detection's settings: Envoy's model, checked and with defaults filled in. */
export interface OutlierSettings {
  /** Failures in a row that eject; `undefined` turns that check off. */
  readonly consecutiveFailures: number | undefined;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly intervalMs: number;
  readonly successRate: SuccessRateSettings | undefined;
}

/**
 * Takes endpoints that fail out of rotation, as Envoy's outlier detection does: after
 * `consecutiveFailures` failures in a row, or when an endpoint's success rate over an interval
 * falls far below its peers'. An ejection lasts `baseEjectionMs` times the number of times the
 * endpoint was ejected (one ejection is forgiven per interval it then stays in rotation), capped
 * at `maxEjectionMs`; never more than `maxEjectionPercent` of the endpoints are out at once, and
 * never the last one. When its time is up an endpoint takes trial traffic (one call at a time,
 * the balancer sees to that) until one succeeds; a failed trial ejects it again, for longer.
 *
 * Nothing here runs on a timer: time is read when outcomes arrive and when the balancer looks,
 * so an idle client costs nothing and leaves nothing scheduled.
 */
export class OutlierDetector {
  private intervalStart: number;

  constructor(
    private readonly settings: OutlierSettings,
    private readonly set: EndpointSet,
    private readonly service: string,
    private readonly listener: ServiceClientListener | undefined,
    now: number,
  ) {
    this.intervalStart = now;
  }

  /** An attempt to `endpoint` got an answer that was no failure of the endpoint's. */
  succeeded(endpoint: Endpoint, now: number, operation: string | undefined): void {
    endpoint.consecutiveFailures = 0;
    endpoint.successes++;
    // The trial passed: back in full rotation.
    if (endpoint.state === 'probation') endpoint.state = 'active';
    this.tick(now, operation);
  }

  /** An attempt to `endpoint` failed in a way that is the endpoint's (5xx, connect error, timeout). */
  failed(endpoint: Endpoint, now: number, operation: string | undefined): void {
    endpoint.failures++;
    endpoint.consecutiveFailures++;
    const threshold = this.settings.consecutiveFailures;
    if (endpoint.state === 'probation') {
      this.eject(endpoint, now, 'consecutive-failures', operation);
    } else if (threshold !== undefined && endpoint.consecutiveFailures >= threshold) {
      this.eject(endpoint, now, 'consecutive-failures', operation);
    }
    this.tick(now, operation);
  }

  /**
   * Whether an ejected endpoint is back: when its time is up it returns on probation (and the
   * listener hears of it). Called by the balancer as it looks at each endpoint.
   */
  readmitIfDue(endpoint: Endpoint, now: number, operation: string | undefined): boolean {
    if (endpoint.state !== 'ejected' || now < endpoint.ejectedUntil) {
      return endpoint.state !== 'ejected';
    }
    endpoint.state = 'probation';
    endpoint.healthySince = now;
    endpoint.consecutiveFailures = 0;
    if (this.listener !== undefined) {
      emitEndpointEvent(this.listener, {
        type: 'endpoint-readmitted',
        policy: 'service-client',
        name: this.service,
        operation,
        endpoint: endpoint.url,
        ejected: this.ejectedCount(now, operation),
        endpoints: this.set.size,
      });
    }
    return true;
  }

  /** Endpoints out of rotation now (those whose time is up are readmitted first). */
  ejectedCount(now: number, operation: string | undefined): number {
    let count = 0;
    for (const endpoint of this.set.endpoints) {
      if (endpoint.state === 'ejected' && !this.readmitIfDue(endpoint, now, operation)) count++;
    }
    return count;
  }

  private eject(
    endpoint: Endpoint,
    now: number,
    reason: EjectionReason,
    operation: string | undefined,
  ): void {
    // An endpoint the service no longer has is out of rotation already.
    if (endpoint.state === 'ejected' || this.set.get(endpoint.url) !== endpoint) return;
    const total = this.set.size;
    if (this.ejectedCount(now, operation) >= this.maxEjected(total)) return;
    const { baseEjectionMs, maxEjectionMs, intervalMs } = this.settings;
    const forgiven = Math.floor((now - endpoint.healthySince) / intervalMs);
    endpoint.ejections = Math.max(0, endpoint.ejections - forgiven) + 1;
    const durationMs = Math.min(baseEjectionMs * endpoint.ejections, maxEjectionMs);
    endpoint.state = 'ejected';
    endpoint.ejectedUntil = now + durationMs;
    endpoint.consecutiveFailures = 0;
    if (this.listener !== undefined) {
      emitEndpointEvent(this.listener, {
        type: 'endpoint-ejected',
        policy: 'service-client',
        name: this.service,
        operation,
        endpoint: endpoint.url,
        reason,
        ejections: endpoint.ejections,
        durationMs,
        ejected: this.ejectedCount(now, operation),
        endpoints: total,
      });
    }
  }

  /** Envoy's rule: at least one endpoint may always be ejected; here never the last one. */
  private maxEjected(total: number): number {
    if (total <= 1) return 0;
    const share = Math.floor((total * this.settings.maxEjectionPercent) / 100);
    return Math.min(total - 1, Math.max(1, share));
  }

  /** Closes the interval once it has run its length: compares success rates, then starts afresh. */
  private tick(now: number, operation: string | undefined): void {
    if (now - this.intervalStart < this.settings.intervalMs) return;
    this.intervalStart = now;
    const successRate = this.settings.successRate;
    if (successRate !== undefined) this.compareSuccessRates(successRate, now, operation);
    for (const endpoint of this.set.endpoints) {
      endpoint.successes = 0;
      endpoint.failures = 0;
    }
  }

  /**
   * Envoy's success-rate detection: among the endpoints with enough requests this interval (when
   * there are enough of them), eject those whose success rate is below the mean by more than
   * `stdevFactor` standard deviations.
   */
  private compareSuccessRates(
    settings: SuccessRateSettings,
    now: number,
    operation: string | undefined,
  ): void {
    const judged: Endpoint[] = [];
    const rates: number[] = [];
    for (const endpoint of this.set.endpoints) {
      const requests = endpoint.successes + endpoint.failures;
      if (endpoint.state === 'ejected' || requests < settings.requestVolume) continue;
      judged.push(endpoint);
      rates.push(endpoint.successes / requests);
    }
    if (judged.length < settings.minimumEndpoints) return;
    const mean = rates.reduce((sum, rate) => sum + rate, 0) / rates.length;
    const variance = rates.reduce((sum, rate) => sum + (rate - mean) ** 2, 0) / rates.length;
    const threshold = mean - settings.stdevFactor * Math.sqrt(variance);
    judged.forEach((endpoint, i) => {
      if (rates[i]! < threshold) this.eject(endpoint, now, 'success-rate', operation);
    });
  }
}
