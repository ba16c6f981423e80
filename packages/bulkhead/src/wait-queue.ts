import { Expirable } from '@bulwark/core/internal';
import type { Context, Next } from '@bulwark/core/internal';

/** What a waiter reports to when its queue time runs out or its caller aborts. */
export interface WaiterOwner {
  expire(waiter: Waiter): void;
  cancel(waiter: Waiter): void;
}

/**
 * One call waiting for a bulkhead slot. It is an {@link Expirable} so that every waiter of a
 * bulkhead shares one queue-timeout timer; the FIFO links are its own, separate from the
 * timer queue's.
 */
export class Waiter extends Expirable {
  /** @internal */ before: Waiter | undefined = undefined;
  /** @internal */ after: Waiter | undefined = undefined;
  /** @internal */ waiting = false;
  /** @internal */ unsubscribe: (() => void) | undefined = undefined;
  /** @internal */ resolve!: (value: unknown) => void;
  /** @internal */ reject!: (error: unknown) => void;
  readonly promise: Promise<unknown>;

  constructor(
    private readonly owner: WaiterOwner,
    readonly context: Context,
    readonly step: Next,
  ) {
    super();
    this.promise = new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  onExpire(): void {
    this.owner.expire(this);
  }

  /** The scope's abort listener; only waiting calls pay for it. */
  readonly onAbort = (): void => {
    this.owner.cancel(this);
  };
}

/** A FIFO of waiters: O(1) append, take from the head and removal from anywhere. */
export class WaitQueue {
  private head: Waiter | undefined = undefined;
  private tail: Waiter | undefined = undefined;
  private size_ = 0;

  get size(): number {
    return this.size_;
  }

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
    this.size_++;
  }

  /** Takes the oldest waiter, or undefined when none is waiting. */
  shift(): Waiter | undefined {
    const waiter = this.head;
    if (waiter !== undefined) this.delete(waiter);
    return waiter;
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
    this.size_--;
    return true;
  }
}
