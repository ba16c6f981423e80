import { systemClock, type Clock, type TelemetryListener } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkKnownOptions,
  checkInteger,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { BreakerView } from './breaker-view.js';
import {
  type BreakerConfig,
  CircuitBreaker,
  type CircuitBreakerOptions,
  MAX_KEY_LENGTH,
  parseBreakerConfig,
} from './circuit-breaker.js';
import type { BreakerSnapshot } from './snapshot.js';

export const DEFAULT_MAX_KEYS = 1000;

/** A registry's breakers share its key, clock, listener and restore: those are set on the registry. */
export type RegistryBreakerOptions = Omit<
  CircuitBreakerOptions,
  'key' | 'clock' | 'listener' | 'restore'
>;

export interface BreakerRegistryOptions {
  /** How many keys to keep; beyond it, the least recently used closed breaker goes. Default 1000. */
  maxKeys?: number;
  /** Options for every breaker, or a function giving each key its own. Default: `circuitBreaker()`'s defaults. */
  breaker?: RegistryBreakerOptions | ((args: { readonly key: string }) => RegistryBreakerOptions);
  /** Receives every breaker's events, each carrying its key. */
  listener?: TelemetryListener;
  clock?: Clock;
  /** Starts from snapshots taken by `snapshot()`. */
  restore?: readonly BreakerSnapshot[];
}

/** The registry's `breaker` options, which hold a breaker's behaviour and nothing else. */
function parseOwnOptions(options: RegistryBreakerOptions): BreakerConfig {
  return parseBreakerConfig(options, { factory: 'breaker', onlyBehaviourOptions: true });
}

/**
 * One circuit breaker per key (a downstream origin, an endpoint), created on first use, so
 * one dead endpoint does not cut off the others. Memory is bounded by `maxKeys`.
 *
 * Eviction prefers closed breakers, least recently used first: dropping one loses only its
 * counters. Only when every other key is open or half-open does the least recently used of
 * those go (its downstream gets a call sooner than planned), and isolated breakers go last,
 * because isolation is an operator's decision.
 */
export class BreakerRegistry {
  // A Map iterates in insertion order: re-inserting on use keeps it least recently used first.
  private readonly breakers = new Map<string, CircuitBreaker>();
  private lastKey: string | undefined = undefined;
  private allIsolated = false;
  /**
   * Keys whose isolated breaker was evicted: isolation is an operator's decision and must
   * outlive the breaker object. Grows only with isolations, which operators make one by one.
   */
  private readonly evictedIsolated = new Set<string>();
  private readonly config: BreakerConfig | undefined;

  /** @internal Use {@link breakerRegistry}. */
  constructor(
    private readonly maxKeys: number,
    private readonly options: BreakerRegistryOptions['breaker'],
    private readonly listener: TelemetryListener | undefined,
    private readonly clock: Clock,
  ) {
    // Shared options are checked once, up front; a function's are checked per key.
    this.config = typeof options === 'function' ? undefined : parseOwnOptions(options ?? {});
  }

  /** How many keys the registry holds. */
  get size(): number {
    return this.breakers.size;
  }

  /** The breaker for `key`, created on first use. Marks the key as recently used. */
  get(key: string): CircuitBreaker {
    const found = this.breakers.get(key);
    if (found === undefined) return this.create(key);
    // The same key twice in a row (a client calling one origin) skips the Map reordering, which
    // leaves a deleted entry behind each time ("Design figures" in benchmarks/RESULTS.md).
    if (key !== this.lastKey) {
      this.breakers.delete(key);
      this.breakers.set(key, found);
      this.lastKey = key;
    }
    return found;
  }

  /** The view of `key`'s breaker, without creating it or marking it used. */
  view(key: string): BreakerView | undefined {
    return this.breakers.get(key)?.view();
  }

  /** Views of every breaker, least recently used first. */
  views(): BreakerView[] {
    return Array.from(this.breakers.values(), (breaker) => breaker.view());
  }

  /** Isolates `key`'s breaker, creating it if needed, so a key can be cut off before its first call. */
  isolate(key: string): void {
    this.get(key).isolate();
  }

  /** Resets `key`'s breaker, if there is one, lifting its isolation. */
  reset(key: string): void {
    this.evictedIsolated.delete(key);
    this.breakers.get(key)?.reset();
  }

  /** Isolates every breaker, including those created later, until {@link resetAll}. */
  isolateAll(): void {
    this.allIsolated = true;
    for (const breaker of this.breakers.values()) breaker.isolate();
  }

  /** Resets every breaker and lifts {@link isolateAll}. */
  resetAll(): void {
    this.allIsolated = false;
    this.evictedIsolated.clear();
    for (const breaker of this.breakers.values()) breaker.reset();
  }

  /** Every breaker's snapshot, least recently used first, so a restore keeps the order. */
  snapshot(): BreakerSnapshot[] {
    return Array.from(this.breakers.values(), (breaker) => breaker.snapshot());
  }

  /** Restores breakers from {@link snapshot}'s output, creating their keys as needed. */
  restore(snapshots: readonly BreakerSnapshot[]): void {
    const list: unknown = snapshots;
    if (!Array.isArray(list)) {
      throw new TypeError('expected snapshots to be an array of breaker snapshots');
    }
    for (const snapshot of list as ReadonlyArray<BreakerSnapshot | undefined>) {
      const key = snapshot?.key;
      checkString('snapshot.key', key, MAX_KEY_LENGTH);
      this.get(key).restore(snapshot!);
    }
  }

  private create(key: string): CircuitBreaker {
    checkString('key', key, MAX_KEY_LENGTH);
    const options = this.options;
    const config =
      this.config ??
      parseOwnOptions((options as (args: { key: string }) => RegistryBreakerOptions)({ key }));
    const breaker = new CircuitBreaker(config, key, this.clock, this.listener);
    if (this.allIsolated || this.evictedIsolated.delete(key)) breaker.isolate();
    this.breakers.set(key, breaker);
    this.lastKey = key;
    if (this.breakers.size > this.maxKeys) this.evict(key);
    return breaker;
  }

  private evict(keep: string): void {
    let open: string | undefined;
    let isolated: string | undefined;
    for (const [key, breaker] of this.breakers) {
      if (key === keep) continue;
      const state = breaker.state;
      if (state === 'closed') {
        this.breakers.delete(key);
        return;
      }
      if (state === 'isolated') isolated ??= key;
      else open ??= key;
    }
    if (open !== undefined) {
      this.breakers.delete(open);
      return;
    }
    // Every other breaker is isolated: drop one object, but remember that its key is isolated.
    this.breakers.delete(isolated!);
    this.evictedIsolated.add(isolated!);
  }
}

/**
 * Circuit breakers by key, created on first use from shared options or a per-key function,
 * with manual control and views for health checks.
 *
 * @example
 * const breakers = breakerRegistry({ maxKeys: 200, breaker: { breakDurationMs: 10_000 } });
 * await breakers.get(url.origin).execute(({ signal }) => fetch(url, { signal }));
 */
export function breakerRegistry(options: BreakerRegistryOptions = {}): BreakerRegistry {
  checkOptionsObject('breakerRegistry', options);
  checkKnownOptions('breakerRegistry', options, [
    'maxKeys',
    'breaker',
    'listener',
    'clock',
    'restore',
  ]);
  const { maxKeys = DEFAULT_MAX_KEYS, breaker, listener, clock = systemClock, restore } = options;
  checkInteger('maxKeys', maxKeys, 1, Infinity);
  if (
    breaker !== undefined &&
    typeof breaker !== 'function' &&
    (typeof breaker !== 'object' || breaker === null || Array.isArray(breaker))
  ) {
    throw new TypeError(
      `expected breaker to be an options object or a function returning one, got ${describeValue(breaker)}`,
    );
  }
  if (listener !== undefined) checkFunction('listener', listener);
  checkClock(clock);
  const registry = new BreakerRegistry(maxKeys, breaker, listener, clock);
  if (restore !== undefined) registry.restore(restore);
  return registry;
}
