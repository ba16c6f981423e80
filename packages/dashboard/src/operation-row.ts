import { LatencyWindow } from './latency-window.js';
import { Ring } from './ring.js';

/** Series of one chart: p50 and p99 latency. */
export const CHART_SERIES = 2;

/**
 * One operation (or one endpoint of it) as the page shows it: counts for the tick under way,
 * bumped by events, and what was computed at each tick before. Every field is a number or a
 * fixed-size array, so a row costs the same however long the process runs.
 */
export class OperationRow {
  // The tick under way.
  calls = 0;
  failures = 0;
  attempts = 0;
  retries = 0;
  hedges = 0;
  budgetExhausted = 0;
  timeouts = 0;
  breakerRejected = 0;
  bulkheadRejected = 0;
  rateLimited = 0;
  fallbacks = 0;
  chaos = 0;
  cacheLookups = 0;
  cacheHits = 0;
  cacheStale = 0;

  // Since the process started: the figures the metrics' counters show.
  totalCalls = 0;
  totalFailures = 0;
  totalRetries = 0;
  totalHedges = 0;

  /** Completed ticks' values, for the page's rates and charts. */
  readonly rate: Ring;
  readonly success: Ring;
  readonly p50: Ring;
  readonly p99: Ring;
  /** Per tick, for the rates shown: a tick of its own would flicker between 0 and a burst. */
  readonly retryRing: Ring;
  readonly hedgeRing: Ring;
  readonly exhaustedRing: Ring;
  readonly rejectedRing: Ring;
  readonly chaosRing: Ring;
  readonly lookupRing: Ring;
  readonly hitRing: Ring;
  readonly staleRing: Ring;
  readonly latency: LatencyWindow;

  /** The breaker that last reported from a call of this operation. */
  breaker: string | undefined = undefined;

  constructor(
    /** Made by the dashboard (`o1`, `o2`...): the page's element ids, never an event's name. */
    readonly id: string,
    readonly operation: string,
    readonly endpoint: string | undefined,
    historyPoints: number,
    windowTicks: number,
  ) {
    this.rate = new Ring(historyPoints);
    this.success = new Ring(historyPoints);
    this.p50 = new Ring(historyPoints);
    this.p99 = new Ring(historyPoints);
    this.retryRing = new Ring(windowTicks);
    this.hedgeRing = new Ring(windowTicks);
    this.exhaustedRing = new Ring(windowTicks);
    this.rejectedRing = new Ring(windowTicks);
    this.chaosRing = new Ring(windowTicks);
    this.lookupRing = new Ring(windowTicks);
    this.hitRing = new Ring(windowTicks);
    this.staleRing = new Ring(windowTicks);
    this.latency = new LatencyWindow(windowTicks);
  }

  /** Ends a tick of `seconds`: its counts become rates and history, and start again from 0. */
  close(seconds: number): void {
    this.latency.rotate();
    this.rate.push(this.calls / seconds);
    this.success.push(this.calls === 0 ? NaN : (this.calls - this.failures) / this.calls);
    this.p50.push(this.latency.quantile(0.5));
    this.p99.push(this.latency.quantile(0.99));
    this.retryRing.push(this.retries);
    this.hedgeRing.push(this.hedges);
    this.exhaustedRing.push(this.budgetExhausted);
    this.rejectedRing.push(this.breakerRejected + this.bulkheadRejected + this.rateLimited);
    this.chaosRing.push(this.chaos);
    this.lookupRing.push(this.cacheLookups);
    this.hitRing.push(this.cacheHits);
    this.staleRing.push(this.cacheStale);
    this.totalCalls += this.calls;
    this.totalFailures += this.failures;
    this.totalRetries += this.retries;
    this.totalHedges += this.hedges;
    this.calls = 0;
    this.failures = 0;
    this.attempts = 0;
    this.retries = 0;
    this.hedges = 0;
    this.budgetExhausted = 0;
    this.timeouts = 0;
    this.breakerRejected = 0;
    this.bulkheadRejected = 0;
    this.rateLimited = 0;
    this.fallbacks = 0;
    this.chaos = 0;
    this.cacheLookups = 0;
    this.cacheHits = 0;
    this.cacheStale = 0;
  }
}
