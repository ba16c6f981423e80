import type { LabelGuard } from './label-guard.js';

/**
 * Resolves the raw label values of an event (a policy name, an operation, a breaker key) to the
 * object holding that combination's series, so the hot path is two Map lookups by strings the
 * event already carries: no label object, no key string, no hashing per call.
 *
 * Slots are stored under their guarded label values. A raw value the guard folded into "other"
 * is never stored under its own name, so a flood of distinct values cannot grow the cache; each
 * such event takes the slow path through the guards to the shared "other" slot.
 */
export class SeriesCache<Slot> {
  private readonly slots = new Map<string, Map<string, Slot>>();
  // Most traffic is one operation through one policy: remember the last hit.
  private lastFirst: string | undefined = undefined;
  private lastSecond: string | undefined = undefined;
  private lastSlot: Slot | undefined = undefined;

  constructor(
    private readonly firstGuard: LabelGuard,
    private readonly secondGuard: LabelGuard,
    private readonly create: (first: string, second: string) => Slot,
  ) {}

  get(first: string, second: string): Slot {
    if (first === this.lastFirst && second === this.lastSecond) return this.lastSlot!;
    const slot = this.slots.get(first)?.get(second) ?? this.resolve(first, second);
    this.lastFirst = first;
    this.lastSecond = second;
    this.lastSlot = slot;
    return slot;
  }

  private resolve(rawFirst: string, rawSecond: string): Slot {
    const first = this.firstGuard.admit(rawFirst);
    const second = this.secondGuard.admit(rawSecond);
    let inner = this.slots.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.slots.set(first, inner);
    }
    let slot = inner.get(second);
    if (slot === undefined) {
      slot = this.create(first, second);
      inner.set(second, slot);
    }
    return slot;
  }
}
