import type { TimerHandle } from '@bulwark/core';
import type { Scope } from '@bulwark/core/internal';
import type { RateLimitDecision } from './decision.js';

/** What waiters and wait lists report to: the limiter that owns them. */
export interface QueueOwner {
  /** A waiter's caller aborted. */
  cancel(waiter: Waiter): void;
  /** A list's timer fired: its head's permits should be there now. */
  process(list: WaitList): void;
}

/** One call waiting for its permits. */
export class Waiter {
  /** @internal */ before: Waiter | undefined = undefined;
  /** @internal */ after: Waiter | undefined = undefined;
  /** @internal */ waiting = false;
  /** @internal */ unsubscribe: (() => void) | undefined = undefined;
  /** @internal */ resolve!: (decision: RateLimitDecision) => void;
  /** @internal */ reject!: (error: unknown) => void;
  readonly promise: Promise<RateLimitDecision>;

  constructor(
    /** The key's list; its owner is told when the caller aborts. */
    readonly list: WaitList,
    readonly permits: number,
    readonly scope: Scope,
    readonly operation: string | undefined,
    /** When it joined the queue, on the limiter's clock (whole milliseconds). */
    readonly since: number,
    /** When it gives up, on the same clock. */
    readonly deadline: number,
  ) {
    this.promise = new Promise<RateLimitDecision>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The scope's abort listener; only waiting calls pay for it. */
  readonly onAbort = (): void => {
    this.list.owner.cancel(this);
  };
}

/**
 * The calls waiting on one key, first come first served: O(1) append, take from the head and
 * removal from anywhere. Only the head is ever timed, by one timer, armed for when its permits
 * should be there; the list and its timer exist only while someone waits.
 */
export class WaitList {
  head: Waiter | undefined = undefined;
  private tail: Waiter | undefined = undefined;
  /** The head's timer, while one is armed. */
  timer: TimerHandle | undefined = undefined;
  /** When the head is due to be decided again, on the limiter's clock. */
  wakeAt = 0;
  /** The head whose decision is in flight (an asynchronous store), if any. */
  deciding: Waiter | undefined = undefined;

  constructor(
    /** The limiter the list and its waiters report to. */
    readonly owner: QueueOwner,
    readonly key: string,
  ) {}

  get isEmpty(): boolean {
    return this.head === undefined;
  }

  push(waiter: Waiter): void {
    waiter.waiting = true;
    waiter.before = this.tail;
    waiter.after = undefined;
    if (this.tail === undefined) this.head = waiter;
    else this.tail.after = waiter;
    this.tail = waiter;
  }

  /** Removes `waiter` if it is still waiting; returns whether it was. */
  delete(waiter: Waiter): boolean {
    if (!waiter.waiting) return false;
    waiter.waiting = false;
    if (waiter.before !== undefined) waiter.before.after = waiter.after;
    else this.head = waiter.after;
    if (waiter.after !== undefined) waiter.after.before = waiter.before;
    else this.tail = waiter.before;
    waiter.before = undefined;
    waiter.after = undefined;
    return true;
  }

  /** The timer's callback, bound once per list. */
  readonly fire = (): void => {
    this.timer = undefined;
    this.owner.process(this);
  };
}
