import type {
  BreakerState,
  CacheEvent,
  Clock,
  PolicyEvent,
  SuccessRecorder,
  SuccessTemplate,
} from '@bulwark/core';
import {
  BreakerEntry,
  Bounded,
  BulkheadEntry,
  type EndpointEntry,
  type HealthEntry,
  LeftOut,
  type ObservedBulkheadLike,
  type ObservedRetryBudgetLike,
} from './entities.js';
import type { DashboardEvent } from './events.js';
import { OperationRow } from './operation-row.js';
import type { ServerReading, ServerSource } from './server-source.js';

/** The operation of events that carry none (a pipeline without an `operation` name). */
const NO_OPERATION = '';
/** Where operations past the cap are counted together. */
export const OTHER_OPERATION = 'other';

type Of<Type extends PolicyEvent['type']> = Extract<PolicyEvent, { type: Type }>;

export interface BoardSettings {
  readonly historyPoints: number;
  readonly windowTicks: number;
  readonly maxOperations: number;
  readonly maxBreakers: number;
  readonly maxEntries: number;
}

/** The idempotency outcomes the page counts: the ones a person reads for trouble. */
export const IDEMPOTENCY_OUTCOMES = ['replay', 'conflict', 'mismatch', 'unavailable'] as const;
type IdempotencyOutcome = (typeof IDEMPOTENCY_OUTCOMES)[number];

/** Server-side counts of the tick under way and since the start, and the last registry reading. */
export class ServerState {
  readonly idempotency = new Map<IdempotencyOutcome, { tick: number; total: number }>(
    IDEMPOTENCY_OUTCOMES.map((o) => [o, { tick: 0, total: 0 }]),
  );
  /** Per second, over the last tick. */
  readonly idempotencyRate = new Map<IdempotencyOutcome, number>();
  reading: ServerReading | undefined = undefined;
  shedRate = NaN;
  rateLimitedRate = NaN;
  source: ServerSource | undefined = undefined;
  /** True once an idempotency event arrived: the section shows only what the service has. */
  idempotencySeen = false;
}

/**
 * Everything the page shows, kept from the telemetry events and the sources it observes. Events
 * bump counters of the tick under way; {@link closeTick} turns them into rates and history once a
 * tick. Memory is bounded by the settings, whatever the traffic: a fixed history per row, and
 * caps on rows, breakers and named entries.
 */
export class Board {
  private readonly rows = new Map<string, OperationRow>();
  /** Rows of one endpoint of an operation, by operation then endpoint. */
  private readonly endpointRows = new Map<string, Map<string, OperationRow>>();
  private other: OperationRow | undefined = undefined;
  /** Operation names refused a row (past the cap), so the note can count them. */
  readonly folded = new LeftOut();
  private nextRowId = 1;
  // Most events are one operation's: remember the last one found.
  private lastOperation: string | undefined = undefined;
  private lastRow: OperationRow | undefined = undefined;

  readonly breakers: Bounded<BreakerEntry>;
  readonly bulkheads: Bounded<BulkheadEntry>;
  readonly budgets: Bounded<{ readonly id: string; budget: ObservedRetryBudgetLike }>;
  readonly checks: Bounded<HealthEntry>;
  readonly endpoints: Bounded<EndpointEntry>;
  readonly server = new ServerState();
  /** Breakers whose views are read at each tick. */
  private readonly breakerSources: Array<() => void> = [];
  /** Wall-clock seconds of each closed tick, for the charts' x axis. */
  readonly times: Float64Array;
  private timeCount = 0;
  private timeNext = 0;
  tick = 0;

  constructor(
    readonly settings: BoardSettings,
    readonly clock: Clock,
  ) {
    this.breakers = new Bounded('b', settings.maxBreakers);
    this.bulkheads = new Bounded('k', settings.maxEntries);
    this.budgets = new Bounded('r', settings.maxEntries);
    this.checks = new Bounded('h', settings.maxEntries);
    this.endpoints = new Bounded('e', settings.maxEntries);
    this.times = new Float64Array(settings.historyPoints);
  }

  /**
   * The fast path of core's listeners (`[bindSuccess]`): a pipeline's successful calls and a
   * retry's successful first attempts, reported as a duration. The row is found once, here.
   */
  readonly bindSuccess = (template: SuccessTemplate): SuccessRecorder => {
    const row = this.rowOf(template.operation, endpointOf(template));
    if (template.type === 'call') {
      return (durationMs: number): void => {
        row.calls++;
        row.latency.record(durationMs);
      };
    }
    return (): void => {
      row.attempts++;
    };
  };

  /** The listener: one event, by its family. */
  readonly record = (event: DashboardEvent): void => {
    switch (event.type) {
      case 'call': {
        const row = this.rowOf(event.operation, endpointOf(event));
        row.calls++;
        if (event.outcome !== 'success') row.failures++;
        row.latency.record(event.durationMs);
        return;
      }
      case 'attempt':
        this.rowOf(event.operation, endpointOf(event)).attempts++;
        return;
      case 'retry-scheduled':
        this.rowOf(event.operation, endpointOf(event)).retries++;
        return;
      case 'retry-gave-up':
        if (event.reason === 'budget-exhausted') {
          this.rowOf(event.operation, endpointOf(event)).budgetExhausted++;
        }
        return;
      case 'breaker-created':
      case 'breaker-used':
      case 'breaker-state':
      case 'breaker-rejected':
        return this.breaker(event);
      case 'bulkhead-queued':
      case 'bulkhead-rejected':
      case 'bulkhead-limit':
        return this.bulkhead(event);
      case 'timeout':
        this.rowOf(event.operation, endpointOf(event)).timeouts++;
        return;
      case 'hedge-started':
        this.rowOf(event.operation, endpointOf(event)).hedges++;
        return;
      case 'fallback':
        this.rowOf(event.operation, endpointOf(event)).fallbacks++;
        return;
      case 'cache-hit':
      case 'cache-miss':
      case 'cache-stale-served':
        return this.cache(event);
      case 'rate-limit-rejected':
        this.rowOf(event.operation, endpointOf(event)).rateLimited++;
        return;
      case 'chaos-injected':
        this.rowOf(event.operation, endpointOf(event)).chaos++;
        return;
      case 'health-check':
        return this.health(event.name, event.status, event.durationMs, event.timedOut);
      case 'idempotency-decision':
      case 'idempotency-completion':
        return this.idempotency(event.outcome);
      case 'endpoint-ejected':
      case 'endpoint-readmitted':
        return this.ejection(event.type === 'endpoint-ejected', event.endpoint, event.operation);
      // Events the page has no column for (yet).
      case 'deadline-exceeded':
      case 'hedge-won':
      case 'hedge-cancelled':
      case 'cache-revalidated':
      case 'cache-coalesced':
      case 'cache-stored':
      case 'cache-not-stored':
      case 'cache-invalidated':
      case 'cache-store-error':
      case 'rate-limit-granted':
      case 'rate-limit-queued':
      case 'rate-limit-store-error':
      case 'health-report':
      case 'shutdown':
      case 'endpoints-updated':
      case 'endpoints-refresh-failed':
        return;
      default: {
        // A new event type must be handled above: this fails to compile until it is. At run
        // time, an event from a newer package is ignored rather than thrown on.
        const unhandled: never = event;
        return unhandled;
      }
    }
  };

  /** Reads an observed bulkhead's figures at each tick. Returns a function that stops. */
  observeBulkhead(bulkhead: ObservedBulkheadLike, name: string): () => void {
    const entry = this.bulkheads.get(name, (id) => new BulkheadEntry(id, name));
    if (entry === undefined) return () => {};
    entry.observed = bulkhead;
    return () => {
      if (entry.observed === bulkhead) entry.observed = undefined;
    };
  }

  /** Reads a retry budget's `available` at each tick. Returns a function that stops. */
  observeRetryBudget(budget: ObservedRetryBudgetLike, name: string): () => void {
    const entry = this.budgets.get(name, (id) => ({ id, budget }));
    if (entry === undefined) return () => {};
    entry.budget = budget;
    return () => {
      this.budgets.entries.delete(name);
    };
  }

  /** Reads breaker views at each tick (state, time until trial). Returns a function that stops. */
  observeBreakers(read: () => readonly BreakerViewLike[], name: string | undefined): () => void {
    const collect = (): void => {
      const now = this.clock.now();
      for (const view of read()) {
        const entry = this.breakerEntry(name ?? view.name ?? 'circuit-breaker', view.key);
        if (entry === undefined) continue;
        entry.enter(view.state, now);
        entry.retryAfterMs = view.retryAfterMs;
        const half = view.halfOpen;
        entry.trials =
          half === undefined ? undefined : { passed: half.passed, needed: half.trials };
      }
    };
    this.breakerSources.push(collect);
    return () => {
      const i = this.breakerSources.indexOf(collect);
      if (i !== -1) this.breakerSources.splice(i, 1);
    };
  }

  /**
   * Ends the tick under way, `seconds` long: rows turn their counts into rates and history, and
   * observed sources are read. The server's registry is read after, asynchronously.
   */
  closeTick(seconds: number): void {
    this.tick++;
    this.times[this.timeNext] = Math.floor(this.clock.dateNow() / 1_000);
    this.timeNext = (this.timeNext + 1) % this.times.length;
    if (this.timeCount < this.times.length) this.timeCount++;
    for (const row of this.allRows()) row.close(seconds);
    for (const collect of this.breakerSources) {
      try {
        collect();
      } catch {
        // A source that throws is skipped this tick, as a metrics collector would be.
      }
    }
    for (const entry of this.breakers.entries.values()) {
      entry.totalRejected += entry.rejected;
      entry.rejectedRate = entry.rejected / seconds;
      entry.rejected = 0;
    }
    for (const entry of this.bulkheads.entries.values()) {
      entry.totalRejected += entry.rejected;
      entry.rejectedRate = entry.rejected / seconds;
      entry.queuedRate = entry.queued / seconds;
      entry.rejected = 0;
      entry.queued = 0;
    }
    for (const [outcome, counts] of this.server.idempotency) {
      counts.total += counts.tick;
      this.server.idempotencyRate.set(outcome, counts.tick / seconds);
      counts.tick = 0;
    }
  }

  /** Reads the server's registry, and turns its counters into rates over `seconds`. */
  async readServer(seconds: number): Promise<void> {
    const server = this.server;
    const source = server.source;
    if (source === undefined) return;
    const previous = server.reading;
    const reading = await source.read();
    server.shedRate = rateOf(previous?.shed, reading.shed, seconds);
    server.rateLimitedRate = rateOf(previous?.rateLimited, reading.rateLimited, seconds);
    server.reading = reading;
  }

  /** Rows in display order: by name, each operation's endpoints after it, "other" last. */
  sortedRows(): OperationRow[] {
    const rows = [...this.rows.values()].sort((a, b) => compare(a.operation, b.operation));
    const out: OperationRow[] = [];
    for (const row of rows) {
      out.push(row);
      const byEndpoint = this.endpointRows.get(row.operation);
      if (byEndpoint !== undefined) {
        out.push(...[...byEndpoint.values()].sort((a, b) => compare(a.endpoint!, b.endpoint!)));
      }
    }
    if (this.other !== undefined) out.push(this.other);
    return out;
  }

  /** Wall-clock seconds of the closed ticks still in the history, oldest first. */
  timeline(): number[] {
    const out: number[] = [];
    const start = this.timeCount < this.times.length ? 0 : this.timeNext;
    for (let k = 0; k < this.timeCount; k++) out.push(this.times[(start + k) % this.times.length]!);
    return out;
  }

  private *allRows(): Iterable<OperationRow> {
    yield* this.rows.values();
    for (const byEndpoint of this.endpointRows.values()) yield* byEndpoint.values();
    if (this.other !== undefined) yield this.other;
  }

  /** The row of an operation (or of one of its endpoints); "other" past the cap. */
  private rowOf(rawOperation: string | undefined, endpoint: string | undefined): OperationRow {
    const operation = rawOperation ?? NO_OPERATION;
    if (endpoint === undefined) {
      if (operation === this.lastOperation) return this.lastRow!;
      const row = this.rows.get(operation) ?? this.addRow(operation, undefined);
      this.lastOperation = operation;
      this.lastRow = row;
      return row;
    }
    return this.endpointRows.get(operation)?.get(endpoint) ?? this.addRow(operation, endpoint);
  }

  private rowCount(): number {
    let n = this.rows.size;
    for (const byEndpoint of this.endpointRows.values()) n += byEndpoint.size;
    return n;
  }

  private addRow(operation: string, endpoint: string | undefined): OperationRow {
    if (this.rowCount() >= this.settings.maxOperations) {
      this.folded.add(operation);
      return (this.other ??= this.makeRow(OTHER_OPERATION, undefined));
    }
    const row = this.makeRow(operation, endpoint);
    if (endpoint === undefined) {
      this.rows.set(operation, row);
    } else {
      let byEndpoint = this.endpointRows.get(operation);
      if (byEndpoint === undefined) {
        byEndpoint = new Map();
        this.endpointRows.set(operation, byEndpoint);
      }
      byEndpoint.set(endpoint, row);
      // An endpoint's operation gets its own row too, so the endpoints sit under it.
      if (!this.rows.has(operation) && this.rowCount() < this.settings.maxOperations) {
        this.rows.set(operation, this.makeRow(operation, undefined));
      }
    }
    return row;
  }

  private makeRow(operation: string, endpoint: string | undefined): OperationRow {
    const { historyPoints, windowTicks } = this.settings;
    return new OperationRow(
      `o${this.nextRowId++}`,
      operation,
      endpoint,
      historyPoints,
      windowTicks,
    );
  }

  private breakerEntry(policy: string, key: string | undefined): BreakerEntry | undefined {
    const k = key ?? '';
    return this.breakers.get(
      `${policy}\u0000${k}`,
      (id) => new BreakerEntry(id, policy, k, this.clock.now()),
    );
  }

  private breaker(
    event: Of<'breaker-created' | 'breaker-used' | 'breaker-state' | 'breaker-rejected'>,
  ): void {
    const entry = this.breakerEntry(event.name ?? event.policy, event.key);
    if (entry === undefined) return;
    if (event.operation !== undefined) {
      this.rowOf(event.operation, endpointOf(event)).breaker = entry.id;
    }
    switch (event.type) {
      case 'breaker-created':
        entry.enter(event.state, this.clock.now());
        return;
      case 'breaker-used':
        // The row is linked above: a healthy breaker's operations read its state from now on.
        return;
      case 'breaker-state':
        entry.enter(event.to, this.clock.now());
        // The view read at the last tick no longer holds.
        entry.retryAfterMs = undefined;
        entry.trials = undefined;
        return;
      case 'breaker-rejected': {
        entry.rejected++;
        this.rowOf(event.operation, endpointOf(event)).breakerRejected++;
        return;
      }
    }
  }

  private bulkhead(event: Of<'bulkhead-queued' | 'bulkhead-rejected' | 'bulkhead-limit'>): void {
    const name = event.name ?? event.policy;
    const entry = this.bulkheads.get(name, (id) => new BulkheadEntry(id, name));
    switch (event.type) {
      case 'bulkhead-limit':
        if (entry !== undefined) entry.limit = event.to;
        return;
      case 'bulkhead-queued':
        if (entry !== undefined) entry.queued++;
        return;
      case 'bulkhead-rejected':
        if (entry !== undefined) entry.rejected++;
        this.rowOf(event.operation, endpointOf(event)).bulkheadRejected++;
        return;
    }
  }

  private cache(
    event: Extract<CacheEvent, { type: 'cache-hit' | 'cache-miss' | 'cache-stale-served' }>,
  ): void {
    const row = this.rowOf(event.operation, endpointOf(event));
    switch (event.type) {
      case 'cache-hit':
        row.cacheLookups++;
        row.cacheHits++;
        return;
      case 'cache-miss':
        row.cacheLookups++;
        return;
      case 'cache-stale-served':
        // A stale-if-error answer follows a miss, already counted as a lookup.
        if (event.reason !== 'stale-if-error') row.cacheLookups++;
        row.cacheStale++;
        return;
    }
  }

  private health(name: string, status: string, durationMs: number, timedOut: boolean): void {
    const entry = this.checks.get(name, (id) => ({
      id,
      status,
      at: 0,
      durationMs,
      timedOut,
    }));
    if (entry === undefined) return;
    entry.status = status;
    entry.at = this.clock.dateNow();
    entry.durationMs = durationMs;
    entry.timedOut = timedOut;
  }

  private idempotency(outcome: string): void {
    this.server.idempotencySeen = true;
    const counts = this.server.idempotency.get(outcome as IdempotencyOutcome);
    if (counts !== undefined) counts.tick++;
  }

  private ejection(ejected: boolean, endpoint: string, operation: string | undefined): void {
    const now = this.clock.now();
    const entry = this.endpoints.get(endpoint, (id) => ({
      id,
      operation: operation ?? NO_OPERATION,
      ejected,
      since: now,
    }));
    if (entry === undefined || entry.ejected === ejected) return;
    entry.ejected = ejected;
    entry.since = now;
  }
}

/** What the dashboard reads from a breaker's view (`@bulwark/circuit-breaker`'s `BreakerView`). */
export interface BreakerViewLike {
  readonly key: string | undefined;
  readonly name?: string | undefined;
  readonly state: BreakerState;
  readonly retryAfterMs?: number | undefined;
  readonly halfOpen?: { readonly trials: number; readonly passed: number } | undefined;
}

/**
 * The endpoint an event names, for the events that will carry one (the service client's): read
 * as an optional field, so today's events, which have none, cost one property read.
 */
function endpointOf(event: object): string | undefined {
  const endpoint = (event as { endpoint?: unknown }).endpoint;
  return typeof endpoint === 'string' && endpoint !== '' ? endpoint : undefined;
}

function rateOf(before: number | undefined, after: number | undefined, seconds: number): number {
  if (before === undefined || after === undefined) return NaN;
  // A counter that went down was reset (the registry's resetMetrics()): no rate this tick.
  return after >= before ? (after - before) / seconds : NaN;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
