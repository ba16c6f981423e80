import { type Clock, type TimerHandle, unrefTimer } from './clock.js';

/**
 * What a {@link TimerQueue} holds: an expiry time and the queue's links. An interface, so that
 * a class with another base (a pipeline's call frame is a scope) can be queued too.
 */
export interface QueueEntry {
  expiresAt: number;
  prev: QueueEntry | undefined;
  next: QueueEntry | undefined;
  queued: boolean;
  /** Called once, from the queue's timer, when the entry's time has come. */
  onExpire(): void;
}

/** Something with an expiry time that a {@link TimerQueue} can hold. */
export abstract class Expirable implements QueueEntry {
  expiresAt = 0;
  prev: QueueEntry | undefined = undefined;
  next: QueueEntry | undefined = undefined;
  queued = false;
  /** Called once, from the queue's timer, when the entry's time has come. */
  abstract onExpire(): void;
}

/**
 * Expiry times for many in-flight calls on one timer.
 *
 * A Node timer costs more to create and clear than the rest of a policy pipeline
 * (docs/architecture.md, Decision 2). Calls through one policy share a duration, so they expire in the order they
 * started: the queue is a linked list sorted by expiry that is appended to in O(1), and one
 * timer is armed for the earliest entry. Removing an entry never touches the timer; when the
 * timer fires early for an entry that already left, it is re-armed for the new head. So a
 * steady stream of calls re-arms the timer about once per timeout period instead of per call.
 * The timer is unref'd: a pending expiry never keeps the process alive.
 */
export class TimerQueue {
  private head: QueueEntry | undefined = undefined;
  private tail: QueueEntry | undefined = undefined;
  private armedAt = Infinity;
  private handle: TimerHandle | undefined = undefined;
  private size_ = 0;

  constructor(private readonly clock: Clock) {}

  /** How many entries are waiting. */
  get size(): number {
    return this.size_;
  }

  /** Schedules `entry` to expire `delayMs` after `now` (a reading of this queue's clock). */
  add(entry: QueueEntry, now: number, delayMs: number): void {
    if (entry.queued) this.delete(entry);
    const expiresAt = now + delayMs;
    entry.expiresAt = expiresAt;
    entry.queued = true;
    this.size_++;
    // Walk back from the tail: with one duration per queue, the new entry belongs at the end.
    let after = this.tail;
    while (after !== undefined && after.expiresAt > expiresAt) after = after.prev;
    if (after === undefined) {
      entry.prev = undefined;
      entry.next = this.head;
      if (this.head !== undefined) this.head.prev = entry;
      this.head = entry;
      if (this.tail === undefined) this.tail = entry;
    } else {
      entry.prev = after;
      entry.next = after.next;
      if (after.next !== undefined) after.next.prev = entry;
      else this.tail = entry;
      after.next = entry;
    }
    if (expiresAt < this.armedAt) this.arm(expiresAt, delayMs);
  }

  /** Removes `entry` if it is queued. Never touches the timer. */
  delete(entry: QueueEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    this.size_--;
    if (entry.prev !== undefined) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  private arm(at: number, delayMs: number): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedAt = at;
    // Timers have millisecond granularity: round up so an entry is never found unexpired.
    this.handle = unrefTimer(this.clock, this.fire, Math.max(1, Math.ceil(delayMs)));
  }

  private readonly fire = (): void => {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    let entry = this.head;
    while (entry !== undefined && entry.expiresAt <= now) {
      this.delete(entry);
      entry.onExpire();
      entry = this.head;
    }
    if (entry !== undefined) this.arm(entry.expiresAt, entry.expiresAt - now);
  };
}
