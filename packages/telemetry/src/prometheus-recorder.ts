import type { BreakerState, PolicyEvent, SuccessRecorder, SuccessTemplate } from '@bulwark/core';
import { OUTCOMES, outcomeIndex } from './failure.js';
import { LabelGuard } from './label-guard.js';
import type { Cell, CounterFamily, HistogramCell } from './metric-family.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';
import { SeriesCache } from './series-cache.js';

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];
const DELAY_SOURCES = ['backoff', 'server-hint'] as const;
/** `bulwark_cache_lookups_total`'s results, indexed by {@link LOOKUP_HIT} and friends. */
const LOOKUP_RESULTS = ['hit', 'stale', 'miss'] as const;
const LOOKUP_HIT = 0;
const LOOKUP_STALE = 1;
const LOOKUP_MISS = 2;
const NO_OPERATION = '';
const NO_ORIGIN = '';
const MS_PER_SECOND = 1000;

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

function counterIn(
  map: Map<string, Cell>,
  key: string,
  family: CounterFamily,
  labels: string[],
): Cell {
  let cell = map.get(key);
  if (cell === undefined) {
    cell = family.at(labels);
    map.set(key, cell);
  }
  return cell;
}

/** Turns events into series updates. One per metric set, shared by every listener on it. */
export class PrometheusRecorder {
  private readonly policyGuard: LabelGuard;
  private readonly operationGuard: LabelGuard;
  private readonly originGuard: LabelGuard;
  private readonly callSlots: SeriesCache<CallSlot>;
  private readonly policySlots: SeriesCache<PolicySlot>;
  private readonly breakerSlots: SeriesCache<BreakerSlot>;
  private readonly limitCells = new Map<string, Cell>();

  constructor(
    readonly metrics: PrometheusMetrics,
    maxLabelValues: number,
  ) {
    this.policyGuard = new LabelGuard(maxLabelValues);
    this.operationGuard = new LabelGuard(maxLabelValues);
    this.originGuard = new LabelGuard(maxLabelValues);
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

  /** The telemetry listener: records one event. */
  readonly record = (event: PolicyEvent): void => {
    switch (event.type) {
      case 'call': {
        const slot = this.callSlots.get('', event.operation ?? NO_OPERATION);
        const i = outcomeIndex(event.outcome, event.error);
        (slot.counts[i] ?? this.callCells(slot, i)).value++;
        slot.durations[i]!.observe(event.durationMs / MS_PER_SECOND);
        return;
      }
      case 'attempt': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        const i = outcomeIndex(event.outcome, event.error);
        (slot.attempts[i] ?? this.attemptCells(slot, i)).value++;
        slot.attemptDurations[i]!.observe(event.durationMs / MS_PER_SECOND);
        return;
      }
      case 'retry-scheduled': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        const i = event.delaySource === 'backoff' ? 0 : 1;
        (slot.retries[i] ??= this.metrics.retries.at([
          slot.policy,
          slot.operation,
          DELAY_SOURCES[i],
        ])).value++;
        return;
      }
      case 'retry-gave-up': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        counterIn(slot.gaveUp, event.reason, this.metrics.retryGaveUp, [
          slot.policy,
          slot.operation,
          event.reason,
        ]).value++;
        return;
      }
      case 'breaker-created':
        this.setBreakerState(
          this.breakerSlots.get(event.name ?? event.policy, event.key ?? NO_ORIGIN),
          event.state,
        );
        return;
      case 'breaker-state': {
        const slot = this.breakerSlots.get(event.name ?? event.policy, event.key ?? NO_ORIGIN);
        this.setBreakerState(slot, event.to);
        counterIn(slot.transitions, `${event.from}>${event.to}`, this.metrics.breakerTransitions, [
          slot.policy,
          slot.origin,
          event.from,
          event.to,
        ]).value++;
        return;
      }
      case 'breaker-rejected': {
        const slot = this.breakerSlots.get(event.name ?? event.policy, event.key ?? NO_ORIGIN);
        counterIn(slot.rejected, event.state, this.metrics.breakerRejected, [
          slot.policy,
          slot.origin,
          event.state,
        ]).value++;
        return;
      }
      case 'bulkhead-queued': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        (slot.queued ??= this.metrics.bulkheadQueued.at([slot.policy, slot.operation])).value++;
        return;
      }
      case 'bulkhead-rejected': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        counterIn(slot.rejected, event.reason, this.metrics.bulkheadRejected, [
          slot.policy,
          slot.operation,
          event.reason,
        ]).value++;
        return;
      }
      case 'bulkhead-limit':
        this.limitCell(event.name ?? event.policy).value = event.to;
        return;
      case 'timeout': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        (slot.timeouts ??= this.metrics.timeouts.at([slot.policy, slot.operation])).value++;
        return;
      }
      case 'deadline-exceeded': {
        const slot = this.policySlots.get(
          event.name ?? event.policy,
          event.operation ?? NO_OPERATION,
        );
        (slot.deadlineExceeded ??= this.metrics.deadlineExceeded.at([slot.policy, slot.operation]))
          .value++;
        return;
      }
      // Hedging and fallback have no metric families yet: their events reach span events
      // (openTelemetryListener) and any listener of your own, and are not counted here.
      case 'hedge-started':
      case 'hedge-won':
      case 'hedge-cancelled':
      case 'fallback':
        return;
      case 'cache-hit':
        this.cacheLookup(this.slotOf(event), LOOKUP_HIT);
        return;
      case 'cache-miss':
        this.cacheLookup(this.slotOf(event), LOOKUP_MISS);
        return;
      case 'cache-stale-served': {
        const slot = this.slotOf(event);
        // A stale-if-error response follows a miss (the origin was asked and failed): that
        // lookup is counted already.
        if (event.reason !== 'stale-if-error') this.cacheLookup(slot, LOOKUP_STALE);
        counterIn(slot.cacheStale, event.reason, this.metrics.cacheStaleServed, [
          slot.policy,
          slot.operation,
          event.reason,
        ]).value++;
        return;
      }
      case 'cache-revalidated': {
        const slot = this.slotOf(event);
        counterIn(slot.cacheRevalidations, event.outcome, this.metrics.cacheRevalidations, [
          slot.policy,
          slot.operation,
          event.outcome,
        ]).value++;
        return;
      }
      case 'cache-coalesced': {
        const slot = this.slotOf(event);
        (slot.cacheCoalesced ??= this.metrics.cacheCoalesced.at([slot.policy, slot.operation]))
          .value++;
        return;
      }
      case 'cache-stored': {
        const slot = this.slotOf(event);
        (slot.cacheStored ??= this.metrics.cacheStored.at([slot.policy, slot.operation])).value++;
        return;
      }
      case 'cache-not-stored': {
        const slot = this.slotOf(event);
        counterIn(slot.cacheNotStored, event.reason, this.metrics.cacheNotStored, [
          slot.policy,
          slot.operation,
          event.reason,
        ]).value++;
        return;
      }
      case 'cache-invalidated': {
        const slot = this.slotOf(event);
        (slot.cacheInvalidations ??= this.metrics.cacheInvalidations.at([
          slot.policy,
          slot.operation,
        ])).value++;
        return;
      }
      case 'cache-store-error': {
        const slot = this.slotOf(event);
        counterIn(slot.cacheStoreErrors, event.storeOperation, this.metrics.cacheStoreErrors, [
          slot.policy,
          slot.operation,
          event.storeOperation,
        ]).value++;
        return;
      }
      default: {
        // A new event type in @bulwark/core must be handled above: this fails to compile until
        // it is. At run time, an event from a newer core is ignored rather than thrown on.
        const unhandled: never = event;
        return unhandled;
      }
    }
  };

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
