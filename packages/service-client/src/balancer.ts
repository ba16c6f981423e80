import type { Clock } from '@bulwark/core';
import type { Endpoint } from './endpoint.js';
import type { EndpointSet } from './endpoint-set.js';
import { NoEndpointsAvailableError } from './errors.js';
import type { OutlierDetector } from './outlier-detector.js';

/** What the balancer needs besides the endpoints. */
export interface BalancerSettings {
  readonly service: string;
  readonly decayMs: number;
  /** Numbers in [0, 1): seed it in tests. */
  readonly random: () => number;
  readonly clock: Clock;
}

/**
 * Power of two choices over the endpoints in rotation (Finagle's P2C with Peak EWMA): two
 * endpoints drawn at random, the one with the lower load (latency estimate times requests in
 * flight plus one) wins. Two random draws avoid the herd a "least loaded of all" rule makes
 * when every client sees the same loads, and cost O(1) comparisons.
 *
 * An endpoint is in rotation when it is not ejected, its breaker lets calls through, and, on
 * probation after an ejection, it has no trial call in flight already. A call's later attempts
 * (retries, hedges) leave out the endpoints it tried, unless no other is in rotation.
 */
export class Balancer {
  /** The endpoints in rotation, gathered per pick into one array kept between picks. */
  private readonly candidates: Endpoint[] = [];

  constructor(
    private readonly set: EndpointSet,
    private readonly outliers: OutlierDetector | undefined,
    private readonly settings: BalancerSettings,
  ) {}

  /**
   * The endpoint for the next attempt of a call that has tried `tried` (in order) so far.
   * Throws `NoEndpointsAvailableError` when none is in rotation.
   */
  pick(tried: readonly Endpoint[], operation: string | undefined): Endpoint {
    const now = this.settings.clock.now();
    const candidates = this.candidates;
    candidates.length = 0;
    let usable = 0;
    // Endpoints the call has not tried first; those it has, only if nothing else is in rotation.
    for (const endpoint of this.set.endpoints) {
      if (!this.inRotation(endpoint, now, operation)) continue;
      usable++;
      if (!tried.includes(endpoint)) candidates.push(endpoint);
    }
    if (candidates.length === 0 && usable > 0)
      return this.leastRecentlyTried(tried, now, operation);
    if (candidates.length === 0) throw this.noneAvailable(now);
    const chosen = this.choose(candidates, now);
    candidates.length = 0;
    return chosen;
  }

  /** Whether an endpoint of another origin than `origin` is in rotation now. */
  hasAlternative(origin: string | undefined): boolean {
    const now = this.settings.clock.now();
    for (const endpoint of this.set.endpoints) {
      if (endpoint.origin !== origin && this.inRotation(endpoint, now, undefined)) return true;
    }
    return false;
  }

  private inRotation(endpoint: Endpoint, now: number, operation: string | undefined): boolean {
    if (endpoint.state === 'ejected') {
      if (this.outliers === undefined || !this.outliers.readmitIfDue(endpoint, now, operation)) {
        return false;
      }
    }
    // On probation, one trial at a time.
    if (endpoint.state === 'probation' && endpoint.inFlight > 0) return false;
    return endpoint.breakerAdmits;
  }

  /** Two candidates at random, the less loaded wins; with one candidate, that one. */
  private choose(candidates: readonly Endpoint[], now: number): Endpoint {
    const count = candidates.length;
    if (count === 1) return candidates[0]!;
    const { random, decayMs } = this.settings;
    const i = Math.floor(random() * count) % count;
    let j = Math.floor(random() * (count - 1)) % (count - 1);
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    return b.load(now, decayMs) < a.load(now, decayMs) ? b : a;
  }

  /** Every endpoint in rotation was tried: go back to the one tried longest ago. */
  private leastRecentlyTried(
    tried: readonly Endpoint[],
    now: number,
    operation: string | undefined,
  ): Endpoint {
    for (const endpoint of tried) {
      if (this.set.get(endpoint.url) === endpoint && this.inRotation(endpoint, now, operation)) {
        return endpoint;
      }
    }
    // inRotation() held for some endpoint a moment ago, and tried holds them all.
    throw this.noneAvailable(now);
  }

  private noneAvailable(now: number): NoEndpointsAvailableError {
    const endpoints = this.set.endpoints;
    if (endpoints.length === 0) {
      return new NoEndpointsAvailableError(this.settings.service, 0, undefined, this.set.lastError);
    }
    // Each endpoint is back when both its ejection and its open circuit are over.
    let soonest = Infinity;
    for (const endpoint of endpoints) {
      let waitMs = endpoint.state === 'ejected' ? endpoint.ejectedUntil - now : 0;
      if (!endpoint.breakerAdmits) {
        const breakMs = endpoint.breaker!.view().retryAfterMs;
        // Isolated by an operator: no time is known.
        waitMs = breakMs === undefined ? Infinity : Math.max(waitMs, breakMs);
      } else if (endpoint.state === 'probation') {
        // A trial call is in flight: it may end any moment.
        waitMs = Infinity;
      }
      soonest = Math.min(soonest, waitMs);
    }
    return new NoEndpointsAvailableError(
      this.settings.service,
      endpoints.length,
      soonest === Infinity ? undefined : Math.max(0, Math.ceil(soonest)),
    );
  }
}
