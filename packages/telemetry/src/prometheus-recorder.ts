import type {
  BreakerState,
  CacheEvent,
  PolicyEvent,
  SuccessRecorder,
  SuccessTemplate,
} from '@bulwark/core';
import type {
  BulwarkEvent,
  ChaosEventShape,
  EndpointEventShape,
  HealthEventShape,
  RateLimitEventShape,
} from './events.js';
import { OUTCOMES, outcomeIndex } from './failure.js';
import { LabelGuard, OTHER_LABEL_VALUE } from './label-guard.js';
import type { Cell, CounterFamily, HistogramCell } from './metric-family.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';
import { SeriesCache } from './series-cache.js';

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];
/** `application/health+json`'s statuses, one gauge series each; anything else counts as fail. */
const HEALTH_STATUSES = ['pass', 'warn', 'fail'] as const;
const DELAY_SOURCES = ['backoff', 'server-hint'] as const;
const HEDGE_TRIGGERS = ['delay', 'failure'] as const;
const FALLBACK_OUTCOMES = ['success', 'failure'] as const;
/** Hedgers make at most eleven attempts: the `attempt` label of a win is 1 to 11, else "other". */
const MAX_ATTEMPT_LABEL = 12;
/** `bulwark_cache_lookups_total`'s results, indexed by {@link LOOKUP_HIT} and friends. */
const LOOKUP_RESULTS = ['hit', 'stale', 'miss'] as const;
const LOOKUP_HIT = 0;
const LOOKUP_STALE = 1;
const LOOKUP_MISS = 2;
const NO_OPERATION = '';
const NO_ORIGIN = '';
const MS_PER_SECOND = 1000;

/** The core event of one `type` (or several). */
type Of<Type extends PolicyEvent['type']> = Extract<PolicyEvent, { type: Type }>;

/** Series of one operation's calls, per outcome, created on first use. */
class CallSlot {
  readonly counts: Array<Cell | undefined> = new Array<Cell | undefined>(OUTCOMES.length);
  readonly durations: Array<HistogramCell | undefined> = new Array<HistogramCell | undefined>(
    OUTCOMES.length,
  );
  constructor(readonly operation: string) {}
}

/** Series of one (policy, operation) pair. */
class PolicySlot {
  readonly attempts: Array<Cell | undefined> = new Array<Cell | undefined>(OUTCOMES.length);
  readonly attemptDurations: Array<HistogramCell | undefined> = new Array<
    HistogramCell | undefined
  >(OUTCOMES.length);
  readonly retries: Array<Cell | undefined> = [undefined, undefined];
  readonly gaveUp = new Map<string, Cell>();
  readonly rejected = new Map<string, Cell>();
  timeouts: Cell | undefined = undefined;
  deadlineExceeded: Cell | undefined = undefined;
  queued: Cell | undefined = undefined;
  readonly cacheLookups: Array<Cell | undefined> = [undefined, undefined, undefined];
  readonly cacheStale = new Map<string, Cell>();
  readonly cacheRevalidations = new Map<string, Cell>();
  readonly cacheNotStored = new Map<string, Cell>();
  readonly cacheStoreErrors = new Map<string, Cell>();
  cacheCoalesced: Cell | undefined = undefined;
  cacheStored: Cell | undefined = undefined;
  cacheInvalidations: Cell | undefined = undefined;
  readonly hedges: Array<Cell | undefined> = [undefined, undefined];
  readonly hedgeWins: Array<Cell | undefined> = [];
  hedgesCancelled: Cell | undefined = undefined;
  /** By the fallback's outcome: success, failure; each by reason. */
  readonly fallbacks: Array<Map<string, Cell> | undefined> = [undefined, undefined];
  rateLimitGranted: Cell | undefined = undefined;
  rateLimitQueued: Cell | undefined = undefined;
  readonly rateLimitRejected = new Map<string, Cell>();
  readonly rateLimitStoreErrors = new Map<string, Cell>();
  readonly chaosInjections = new Map<string, Cell>();
  constructor(
    readonly policy: string,
    readonly operation: string,
  ) {}
}

/** Series of one breaker, named by (policy, origin). */
class BreakerSlot {
  states: readonly Cell[] | undefined = undefined;
  readonly transitions = new Map<string, Cell>();
  readonly rejected = new Map<string, Cell>();
  constructor(
    readonly policy: string,
    readonly origin: string,
  ) {}
}

/** Turns events into series updates. One per metric set, shared by every listener on it. */
export class PrometheusRecorder {
  private readonly policyGuard: LabelGuard;
  private readonly operationGuard: LabelGuard;
  private readonly originGuard: LabelGuard;
  /** Caps the values of labels typed as any string: a fallback's reason, a chaos kind. */
  private readonly valueGuard: LabelGuard;
  private readonly callSlots: SeriesCache<CallSlot>;
  private readonly policySlots: SeriesCache<PolicySlot>;
  private readonly breakerSlots: SeriesCache<BreakerSlot>;
  private readonly limitCells = new Map<string, Cell>();
  /** Per check name, then per view: the three status cells. */
  private readonly healthCells = new Map<string, readonly Cell[]>();

  constructor(
    readonly metrics: PrometheusMetrics,
    maxLabelValues: number,
  ) {
    this.policyGuard = new LabelGuard(maxLabelValues);
    this.operationGuard = new LabelGuard(maxLabelValues);
    this.originGuard = new LabelGuard(maxLabelValues);
    this.valueGuard = new LabelGuard(maxLabelValues);
    // Calls carry no policy name: the first key is a constant the guard always admits.
    this.callSlots = new SeriesCache(
      new LabelGuard(1),
      this.operationGuard,
      (_, operation) => new CallSlot(operation),
    );
    this.policySlots = new SeriesCache(
      this.policyGuard,
      this.operationGuard,
      (policy, operation) => new PolicySlot(policy, operation),
    );
    this.breakerSlots = new SeriesCache(
      this.policyGuard,
      this.originGuard,
      (policy, origin) => new BreakerSlot(policy, origin),
    );
  }

  /**
   * The listener's fast path (`[bindSuccess]`): records the success `template` describes with
   * a given duration, its two series resolved at the first report rather than per event.
   */
  readonly bindSuccess = (template: SuccessTemplate): SuccessRecorder => {
    let count: Cell | undefined;
    let duration: HistogramCell | undefined;
    return (durationMs: number): void => {
      if (count === undefined) [count, duration] = this.successSeries(template);
      count.value++;
      duration!.observe(durationMs / MS_PER_SECOND);
    };
  };

  /** The telemetry listener: records one event, by its family. */
  readonly record = (event: BulwarkEvent): void => {
    switch (event.type) {
      case 'call':
        return this.call(event);
      case 'attempt':
        return this.attempt(event);
      case 'retry-scheduled':
      case 'retry-gave-up':
        return this.retry(event);
      case 'breaker-created':
      case 'breaker-state':
      case 'breaker-rejected':
        return this.breaker(event);
      // Which operations a breaker serves is no metric: the calls' own series name them.
      case 'breaker-used':
        return;
      case 'bulkhead-queued':
      case 'bulkhead-rejected':
      case 'bulkhead-limit':
        return this.bulkhead(event);
      case 'timeout':
      case 'deadline-exceeded':
        return this.timeLimit(event);
      case 'hedge-started':
      case 'hedge-won':
      case 'hedge-cancelled':
        return this.hedge(event);
      case 'fallback':
        return this.fallback(event);
      case 'cache-hit':
      case 'cache-miss':
      case 'cache-stale-served':
      case 'cache-revalidated':
      case 'cache-coalesced':
      case 'cache-stored':
      case 'cache-not-stored':
      case 'cache-invalidated':
      case 'cache-store-error':
        return this.cache(event);
      case 'rate-limit-granted':
      case 'rate-limit-queued':
      case 'rate-limit-rejected':
      case 'rate-limit-store-error':
        return this.rateLimit(event);
      case 'chaos-injected':
        return this.chaos(event);
      case 'endpoint-ejected':
      case 'endpoint-readmitted':
      case 'endpoints-updated':
      case 'endpoints-refresh-failed':
        return this.endpoints(event);
      case 'health-check':
      case 'health-report':
      case 'shutdown':
        return this.health(event);
      default: {
        // A new event type must be handled above: this fails to compile until it is. At run
        // time, an event from a newer package is ignored rather than thrown on.
        const unhandled: never = event;
        return unhandled;
      }
    }
  };

  private call(event: Of<'call'>): void {
    const slot = this.callSlots.get('', event.operation ?? NO_OPERATION);
    const i = outcomeIndex(event.outcome, event.error);
    (slot.counts[i] ?? this.callCells(slot, i)).value++;
    slot.durations[i]!.observe(event.durationMs / MS_PER_SECOND);
  }

  private attempt(event: Of<'attempt'>): void {
    const slot = this.slotOf(event);
    const i = outcomeIndex(event.outcome, event.error);
    (slot.attempts[i] ?? this.attemptCells(slot, i)).value++;
    slot.attemptDurations[i]!.observe(event.durationMs / MS_PER_SECOND);
  }

  private retry(event: Of<'retry-scheduled' | 'retry-gave-up'>): void {
    const slot = this.slotOf(event);
    if (event.type === 'retry-scheduled') {
      const i = event.delaySource === 'backoff' ? 0 : 1;
      (slot.retries[i] ??= this.metrics.retries.at([slot.policy, slot.operation, DELAY_SOURCES[i]]))
        .value++;
      return;
    }
    this.count(slot, slot.gaveUp, event.reason, this.metrics.retryGaveUp);
  }

  private breaker(event: Of<'breaker-created' | 'breaker-state' | 'breaker-rejected'>): void {
    const slot = this.breakerSlots.get(event.name ?? event.policy, event.key ?? NO_ORIGIN);
    switch (event.type) {
      case 'breaker-created':
        return this.setBreakerState(slot, event.state);
      case 'breaker-state': {
        this.setBreakerState(slot, event.to);
        const key = `${event.from}>${event.to}`;
        let cell = slot.transitions.get(key);
        if (cell === undefined) {
          const labels = [slot.policy, slot.origin, event.from, event.to];
          cell = this.metrics.breakerTransitions.at(labels);
          slot.transitions.set(key, cell);
        }
        cell.value++;
        return;
      }
      case 'breaker-rejected': {
        let cell = slot.rejected.get(event.state);
        if (cell === undefined) {
          cell = this.metrics.breakerRejected.at([slot.policy, slot.origin, event.state]);
          slot.rejected.set(event.state, cell);
        }
        cell.value++;
        return;
      }
    }
  }

  private bulkhead(event: Of<'bulkhead-queued' | 'bulkhead-rejected' | 'bulkhead-limit'>): void {
    if (event.type === 'bulkhead-limit') {
      this.limitCell(event.name ?? event.policy).value = event.to;
      return;
    }
    const slot = this.slotOf(event);
    if (event.type === 'bulkhead-rejected') {
      this.count(slot, slot.rejected, event.reason, this.metrics.bulkheadRejected);
      return;
    }
    (slot.queued ??= this.metrics.bulkheadQueued.at([slot.policy, slot.operation])).value++;
  }

  private timeLimit(event: Of<'timeout' | 'deadline-exceeded'>): void {
    const slot = this.slotOf(event);
    const m = this.metrics;
    if (event.type === 'timeout') {
      (slot.timeouts ??= m.timeouts.at([slot.policy, slot.operation])).value++;
    } else {
      (slot.deadlineExceeded ??= m.deadlineExceeded.at([slot.policy, slot.operation])).value++;
    }
  }

  private hedge(event: Of<'hedge-started' | 'hedge-won' | 'hedge-cancelled'>): void {
    const slot = this.slotOf(event);
    switch (event.type) {
      case 'hedge-started': {
        const i = event.trigger === 'delay' ? 0 : 1;
        (slot.hedges[i] ??= this.metrics.hedges.at([
          slot.policy,
          slot.operation,
          HEDGE_TRIGGERS[i],
        ])).value++;
        return;
      }
      case 'hedge-won': {
        // Hedgers make at most eleven attempts: anything else is folded, not a label of its own.
        const i = Number.isInteger(event.attempt) && event.attempt > 0 ? event.attempt : 0;
        const at = i < MAX_ATTEMPT_LABEL ? i : 0;
        (slot.hedgeWins[at] ??= this.metrics.hedgeWins.at([
          slot.policy,
          slot.operation,
          at === 0 ? OTHER_LABEL_VALUE : String(at),
        ])).value++;
        return;
      }
      case 'hedge-cancelled':
        (slot.hedgesCancelled ??= this.metrics.hedgesCancelled.at([
          slot.policy,
          slot.operation,
        ])).value += event.count;
        return;
    }
  }

  private fallback(event: Of<'fallback'>): void {
    const slot = this.slotOf(event);
    const i = event.outcome === 'success' ? 0 : 1;
    const reason = this.valueGuard.admit(event.reason);
    const cells = (slot.fallbacks[i] ??= new Map<string, Cell>());
    let cell = cells.get(reason);
    if (cell === undefined) {
      const labels = [slot.policy, slot.operation, reason, FALLBACK_OUTCOMES[i]];
      cell = this.metrics.fallbacks.at(labels);
      cells.set(reason, cell);
    }
    cell.value++;
  }

  private cache(event: CacheEvent): void {
    const slot = this.slotOf(event);
    const m = this.metrics;
    switch (event.type) {
      case 'cache-hit':
        return this.cacheLookup(slot, LOOKUP_HIT);
      case 'cache-miss':
        return this.cacheLookup(slot, LOOKUP_MISS);
      case 'cache-stale-served':
        // A stale-if-error response follows a miss (the origin was asked and failed): that
        // lookup is counted already.
        if (event.reason !== 'stale-if-error') this.cacheLookup(slot, LOOKUP_STALE);
        return this.count(slot, slot.cacheStale, event.reason, m.cacheStaleServed);
      case 'cache-revalidated':
        return this.count(slot, slot.cacheRevalidations, event.outcome, m.cacheRevalidations);
      case 'cache-not-stored':
        return this.count(slot, slot.cacheNotStored, event.reason, m.cacheNotStored);
      case 'cache-store-error':
        return this.count(slot, slot.cacheStoreErrors, event.storeOperation, m.cacheStoreErrors);
      case 'cache-coalesced':
        (slot.cacheCoalesced ??= m.cacheCoalesced.at([slot.policy, slot.operation])).value++;
        return;
      case 'cache-stored':
        (slot.cacheStored ??= m.cacheStored.at([slot.policy, slot.operation])).value++;
        return;
      case 'cache-invalidated':
        (slot.cacheInvalidations ??= m.cacheInvalidations.at([slot.policy, slot.operation]))
          .value++;
        return;
    }
  }

  private rateLimit(event: RateLimitEventShape): void {
    const slot = this.slotOf(event);
    const m = this.metrics;
    switch (event.type) {
      case 'rate-limit-granted':
        (slot.rateLimitGranted ??= m.rateLimitGranted.at([slot.policy, slot.operation])).value++;
        return;
      case 'rate-limit-queued':
        (slot.rateLimitQueued ??= m.rateLimitQueued.at([slot.policy, slot.operation])).value++;
        return;
      case 'rate-limit-rejected':
        return this.count(slot, slot.rateLimitRejected, event.reason, m.rateLimitRejected, true);
      case 'rate-limit-store-error':
        return this.count(
          slot,
          slot.rateLimitStoreErrors,
          event.mode,
          m.rateLimitStoreErrors,
          true,
        );
    }
  }

  private chaos(event: ChaosEventShape): void {
    const slot = this.slotOf(event);
    this.count(slot, slot.chaosInjections, event.kind, this.metrics.chaosInjections, true);
  }

  /** A check's or a view's status gauges: 1 for its status at the last run, 0 for the others. */
  private health(event: HealthEventShape): void {
    if (event.type === 'shutdown') return;
    const byCheck = event.type === 'health-check';
    // Check names are the application's own, capped like any name; views are three.
    const subject = byCheck ? this.valueGuard.admit(event.name) : event.kind;
    const key = `${byCheck ? 'c' : 'v'}\u0000${subject}`;
    let cells = this.healthCells.get(key);
    if (cells === undefined) {
      const family = byCheck ? this.metrics.healthCheckStatus : this.metrics.healthStatus;
      cells = HEALTH_STATUSES.map((s) => family.at([subject, s]));
      this.healthCells.set(key, cells);
    }
    const status = (HEALTH_STATUSES as readonly string[]).includes(event.status)
      ? event.status
      : 'fail';
    HEALTH_STATUSES.forEach((s, i) => (cells[i]!.value = s === status ? 1 : 0));
  }

  /**
   * A service client's endpoints. These events are rare (an ejection, a DNS answer), so their
   * series are looked up per event rather than kept in slots.
   */
  private endpoints(event: EndpointEventShape): void {
    const m = this.metrics;
    const service = this.policyGuard.admit(event.name ?? event.policy);
    switch (event.type) {
      case 'endpoint-ejected': {
        const endpoint = this.originGuard.admit(event.endpoint);
        m.endpointEjections.at([service, endpoint, this.valueGuard.admit(event.reason)]).value++;
        m.endpointsEjected.at([service]).value = event.ejected;
        break;
      }
      case 'endpoint-readmitted':
        m.endpointsEjected.at([service]).value = event.ejected;
        break;
      case 'endpoints-refresh-failed':
        m.endpointRefreshFailures.at([service]).value++;
        break;
      case 'endpoints-updated':
        break;
    }
    m.endpoints.at([service]).value = event.endpoints;
  }

  /** The guarded `endpoint` label value of an endpoint's URL. */
  endpointLabel(endpoint: string): string {
    return this.originGuard.admit(endpoint);
  }

  /**
   * Counts one event under its slot's labels and `value`, the one label it adds. `free` marks a
   * value typed as any string (another package's reason or kind): it is capped like a name.
   */
  private count(
    slot: PolicySlot,
    cells: Map<string, Cell>,
    value: string,
    family: CounterFamily,
    free = false,
  ): void {
    const label = free ? this.valueGuard.admit(value) : value;
    let cell = cells.get(label);
    if (cell === undefined) {
      cell = family.at([slot.policy, slot.operation, label]);
      cells.set(label, cell);
    }
    cell.value++;
  }

  /** The (policy, operation) series of an event: the policy's name, else its kind. */
  private slotOf(event: {
    name: string | undefined;
    policy: string;
    operation: string | undefined;
  }): PolicySlot {
    return this.policySlots.get(event.name ?? event.policy, event.operation ?? NO_OPERATION);
  }

  private cacheLookup(slot: PolicySlot, i: number): void {
    (slot.cacheLookups[i] ??= this.metrics.cacheLookups.at([
      slot.policy,
      slot.operation,
      LOOKUP_RESULTS[i]!,
    ])).value++;
  }

  /** Sets a breaker's state gauges: 1 for `state`, 0 for the others. */
  setBreakerState(slot: BreakerSlot, state: BreakerState): void {
    const cells = (slot.states ??= BREAKER_STATES.map((s) =>
      this.metrics.breakerState.at([slot.policy, slot.origin, s]),
    ));
    BREAKER_STATES.forEach((s, i) => (cells[i]!.value = s === state ? 1 : 0));
  }

  breakerSlot(policy: string, origin: string | undefined): BreakerSlot {
    return this.breakerSlots.get(policy, origin ?? NO_ORIGIN);
  }

  /** The guarded `policy` label value for a name. */
  policyLabel(name: string): string {
    return this.policyGuard.admit(name);
  }

  limitCell(policy: string): Cell {
    let cell = this.limitCells.get(policy);
    if (cell === undefined) {
      cell = this.metrics.bulkheadLimit.at([this.policyGuard.admit(policy)]);
      // Folded names share the "other" series but are not remembered one by one.
      if (cell.labels.policy === policy) this.limitCells.set(policy, cell);
    }
    return cell;
  }

  /** The count and duration series of a success, as {@link record} would find them. */
  private successSeries(template: SuccessTemplate): [Cell, HistogramCell] {
    const i = outcomeIndex('success', undefined);
    if (template.type === 'call') {
      const slot = this.callSlots.get('', template.operation ?? NO_OPERATION);
      return [slot.counts[i] ?? this.callCells(slot, i), slot.durations[i]!];
    }
    const slot = this.policySlots.get(
      template.name ?? template.policy,
      template.operation ?? NO_OPERATION,
    );
    return [slot.attempts[i] ?? this.attemptCells(slot, i), slot.attemptDurations[i]!];
  }

  private callCells(slot: CallSlot, i: number): Cell {
    const labels = [slot.operation, OUTCOMES[i]!];
    slot.durations[i] = this.metrics.callDuration.at(labels);
    return (slot.counts[i] = this.metrics.calls.at(labels));
  }

  private attemptCells(slot: PolicySlot, i: number): Cell {
    const labels = [slot.policy, slot.operation, OUTCOMES[i]!];
    slot.attemptDurations[i] = this.metrics.attemptDuration.at(labels);
    return (slot.attempts[i] = this.metrics.attempts.at(labels));
  }
}
