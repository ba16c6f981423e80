import type { BreakerState } from '@bulwark/core';

/** A circuit breaker as the page shows it, from its events and, when observed, its view. */
export class BreakerEntry {
  state: BreakerState = 'closed';
  /** Monotonic time the state was entered (`clock.now()`). */
  since: number;
  rejected = 0;
  rejectedRate = 0;
  totalRejected = 0;
  totalOpened = 0;
  /** From an observed breaker's view at the last tick. */
  retryAfterMs: number | undefined = undefined;
  trials: { readonly passed: number; readonly needed: number } | undefined = undefined;

  constructor(
    readonly id: string,
    readonly policy: string,
    readonly key: string,
    now: number,
  ) {
    this.since = now;
  }

  enter(state: BreakerState, now: number): void {
    if (state === this.state) return;
    if (state === 'open') this.totalOpened++;
    this.state = state;
    this.since = now;
  }
}

/** A bulkhead by name: its events, and its live figures when observed. */
export class BulkheadEntry {
  queued = 0;
  rejected = 0;
  queuedRate = 0;
  rejectedRate = 0;
  totalRejected = 0;
  limit: number | undefined = undefined;
  observed: ObservedBulkheadLike | undefined = undefined;
  constructor(
    readonly id: string,
    readonly name: string,
  ) {}
}

/** What the dashboard reads from a bulkhead at each tick (`@bulwark/bulkhead`'s fits). */
export interface ObservedBulkheadLike {
  readonly active: number;
  readonly queued: number;
  readonly limit: number;
}

/** What the dashboard reads from a retry budget at each tick (`retryBudget()`'s fits). */
export interface ObservedRetryBudgetLike {
  readonly available: number;
}

export interface HealthEntry {
  readonly id: string;
  status: string;
  /** Wall-clock time of the last run. */
  at: number;
  durationMs: number;
  timedOut: boolean;
}

export interface EndpointEntry {
  readonly id: string;
  readonly operation: string;
  ejected: boolean;
  /** Monotonic time of the last change. */
  since: number;
}

/**
 * Caps a family of entities (breakers, checks, endpoints): past `max`, new names are counted, not
 * kept, so a flood of distinct names costs a counter.
 */
export class Bounded<Entry> {
  readonly entries = new Map<string, Entry>();
  /** Names refused, remembered up to the cap so each is counted once. */
  private readonly refused = new Set<string>();
  /** True once more names were refused than are remembered. */
  private refusedMore = false;
  private nextId = 1;

  constructor(
    private readonly prefix: string,
    private readonly max: number,
  ) {}

  /** The entry for `key`, made by `create` on first sight; undefined past the cap. */
  get(key: string, create: (id: string) => Entry): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) return entry;
    if (this.entries.size >= this.max) {
      if (this.refused.size < this.max) this.refused.add(key);
      else if (!this.refused.has(key)) this.refusedMore = true;
      return undefined;
    }
    const made = create(`${this.prefix}${this.nextId++}`);
    this.entries.set(key, made);
    return made;
  }

  /** How many names were left out, for a note under the table; undefined when none. */
  leftOut(noun: string): string | undefined {
    if (this.refused.size === 0) return undefined;
    const many = this.refusedMore ? `more than ${this.refused.size}` : String(this.refused.size);
    return `${many} more ${noun} not shown: the page keeps at most ${this.max}.`;
  }
}
