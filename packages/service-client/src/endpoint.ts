import type { BreakerState } from '@bulwark/core';

/**
 * Finagle's penalty for an endpoint that has requests in flight but no latency yet: it counts
 * as the most loaded of all until its first answer, so a new endpoint is not flooded.
 */
const PENALTY = Number.MAX_SAFE_INTEGER / 2;

/** An endpoint's place in rotation. */
export type EndpointState = 'active' | 'probation' | 'ejected';

/** The part of a circuit breaker the balancer reads (a `@bulwark/circuit-breaker` breaker fits). */
export interface EndpointBreaker {
  readonly state: BreakerState;
  view(): { readonly retryAfterMs: number | undefined };
}

/**
 * One endpoint of the service: what the balancer weighs (requests in flight, a latency estimate)
 * and what outlier detection keeps (failures in a row, ejections, the current interval's
 * outcomes). An endpoint removed from the service lives on while its calls finish.
 */
export class Endpoint {
  inFlight = 0;
  state: EndpointState = 'active';
  /** Failures in a row (5xx, connect errors, timeouts). */
  consecutiveFailures = 0;
  /** Times ejected, not yet forgiven: the multiplier of the next ejection's length. */
  ejections = 0;
  ejectedUntil = 0;
  /** Since when it has been in rotation without an ejection, to forgive past ones. */
  healthySince: number;
  /** Outcomes in the outlier detector's current interval. */
  successes = 0;
  failures = 0;
  /** Its circuit breaker (the HTTP client's, keyed by the endpoint's origin). */
  breaker: EndpointBreaker | undefined = undefined;
  /** Peak EWMA of latency, in milliseconds, as of `stamp`. */
  private cost = 0;
  private stamp: number;
  /** Whether an outcome has come yet: the first pays for opening the connection, and is left out. */
  private answered = false;

  constructor(
    /** The base URL requests go to: origin and path prefix, without a trailing slash. */
    readonly url: string,
    /** Its origin: the breaker's key, and the HTTP client's connection pool. */
    readonly origin: string,
    now: number,
  ) {
    this.stamp = now;
    this.healthySince = now;
  }

  /** Whether its breaker lets calls through: closed, or half-open (trial calls). */
  get breakerAdmits(): boolean {
    const state = this.breaker?.state;
    return state === undefined || state === 'closed' || state === 'half-open';
  }

  /**
   * The balancer's measure (Finagle's Peak EWMA load): the latency estimate times the requests
   * in flight plus one, so a fast endpoint with a queue and a slow idle one compare fairly.
   */
  load(now: number, decayMs: number): number {
    const cost = this.latency(now, decayMs);
    if (cost === 0 && this.inFlight !== 0) return PENALTY + this.inFlight;
    return cost * (this.inFlight + 1);
  }

  /** The latency estimate now: it decays towards 0 while no answer comes, so idle endpoints get probed. */
  latency(now: number, decayMs: number): number {
    this.observe(0, now, decayMs);
    return this.cost;
  }

  /** The latency estimate now, without touching the state: for views. */
  estimate(now: number, decayMs: number): number {
    const elapsed = now > this.stamp ? now - this.stamp : 0;
    return this.cost * Math.exp(-elapsed / decayMs);
  }

  /**
   * Takes in one answer's latency, except the endpoint's first outcome (which also paid for
   * opening the connection, and in a new process for compiling the code path: as a peak, it
   * would keep the endpoint out of the balancer's favour for as long as the estimate takes to
   * decay).
   */
  answer(latencyMs: number, now: number, decayMs: number): void {
    if (this.first(now)) return;
    this.observe(latencyMs, now, decayMs);
  }

  /**
   * Takes in a failure's time, which may only raise the estimate (a timeout says the endpoint
   * took at least that long): how fast an endpoint fails says nothing of how fast it answers, and
   * a failure that lowered the estimate would draw more calls to the endpoint. Failures are
   * outlier detection's business.
   */
  failure(elapsedMs: number, now: number, decayMs: number): void {
    if (this.first(now)) return;
    if (elapsedMs > this.latency(now, decayMs)) this.observe(elapsedMs, now, decayMs);
  }

  /** True (once) for the endpoint's first outcome, which is left out. */
  private first(now: number): boolean {
    if (this.answered) return false;
    this.answered = true;
    this.stamp = now;
    return true;
  }

  /**
   * Takes in one latency. Peak-sensitive: a slower one than the estimate replaces it at once, a
   * faster one moves it by a weight that grows with the time since the last.
   */
  observe(latencyMs: number, now: number, decayMs: number): void {
    const elapsed = now > this.stamp ? now - this.stamp : 0;
    this.stamp = now;
    if (latencyMs > this.cost) {
      this.cost = latencyMs;
      return;
    }
    const weight = Math.exp(-elapsed / decayMs);
    this.cost = this.cost * weight + latencyMs * (1 - weight);
  }
}
