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
/** How many refused names are remembered, to count each once: a fixed cost, whatever the flood. */
export const REMEMBERED_NAMES = 1_000;

/** Counts distinct names left out, remembering at most {@link REMEMBERED_NAMES} of them. */
export class LeftOut {
  private readonly names = new Set<string>();
  private more = false;

  add(name: string): void {
    if (this.names.has(name)) return;
    if (this.names.size < REMEMBERED_NAMES) this.names.add(name);
    else this.more = true;
  }

  get size(): number {
    return this.names.size;
  }

  /** "12", or "more than 1000" once names stopped being remembered. */
  get text(): string {
    return this.more ? `more than ${this.names.size}` : String(this.names.size);
  }
}

export class Bounded<Entry> {
  readonly entries = new Map<string, Entry>();
  private readonly refused = new LeftOut();
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
      this.refused.add(key);
      return undefined;
    }
    const made = create(`${this.prefix}${this.nextId++}`);
    this.entries.set(key, made);
    return made;
  }

  /** How many names were left out, for a note under the table; undefined when none. */
  leftOut(noun: string): string | undefined {
    if (this.refused.size === 0) return undefined;
    return `${this.refused.text} more ${noun} not shown: the page keeps at most ${this.max}.`;
  }
}
