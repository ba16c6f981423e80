import {
  BulkheadRejectedError,
  type Clock,
  isBulkheadRejectedError,
  type Policy,
  type TelemetryListener,
  systemClock,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type FusedLayer,
  type Next,
  TimerQueue,
  checkFunction,
  checkInteger,
  checkNumber,
  checkClock,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  emit,
  optionNames,
} from '@bulwark/core/internal';
import { type AdaptiveLimit, AdaptiveLimitConfig } from './adaptive-limit.js';
import type { LimitAlgorithm } from './limit-algorithm.js';
import { WaitQueue, Waiter, type WaiterOwner } from './wait-queue.js';

/** No queue: a call that finds every slot taken is rejected at once. */
export const DEFAULT_QUEUE = 0;
/** The Retry-After hint when none is configured and no call durations have been measured. */
export const DEFAULT_RETRY_AFTER_MS = 1000;
/** Weight of the newest call duration in the running average behind estimated hints. */
const DURATION_WEIGHT = 0.1;

const enum Outcome {
  Success,
  Drop,
  Ignored,
}

export interface BulkheadOptions {
  /** How many calls may run at once: a fixed integer >= 1, or an {@link adaptiveLimit}. */
  limit: number | AdaptiveLimit;
  /** How many calls may wait for a slot, in FIFO order. Default 0: no queue. */
  queue?: number;
  /** A queued call that waits longer than this is rejected with reason `'queue-timeout'`. Default: no timeout. */
  queueTimeoutMs?: number;
  /**
   * The `retryAfterMs` hint carried by rejections. Default: with an adaptive limit, an estimate
   * from recent call durations and the queue length; otherwise 1000 ms.
   */
  retryAfterMs?: number;
  /** Names this bulkhead in telemetry events. */
  name?: string;
  /** Receives `bulkhead-rejected`, `bulkhead-queued` and `bulkhead-limit` events. */
  listener?: TelemetryListener;
  /** The clock for queue timeouts and latency measurements. Default: the system clock. */
  clock?: Clock;
}

const OPTION_NAMES = optionNames<BulkheadOptions>({
  limit: true,
  queue: true,
  queueTimeoutMs: true,
  retryAfterMs: true,
  name: true,
  listener: true,
  clock: true,
});

/** A concurrency-limiting policy. */
export interface Bulkhead extends Policy {
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
  /** The concurrency limit now (it moves when the limit is adaptive). */
  readonly limit: number;
  /** How many calls may wait. */
  readonly queueLimit: number;
}

/** What bulkhead() works out from its options. */
interface BulkheadSettings {
  readonly limit: number | AdaptiveLimitConfig;
  readonly queueLimit: number;
  /** Infinity for no queue timeout. */
  readonly queueTimeoutMs: number;
  readonly retryAfterMs: number | undefined;
  readonly name: string | undefined;
  readonly listener: TelemetryListener | undefined;
  readonly clock: Clock;
}

class BulkheadPolicy extends BulwarkPolicy implements Bulkhead, WaiterOwner, FusedLayer {
  /** @internal */ readonly usesSlot = false;
  /** @internal */ readonly readsClock = false;
  private active_ = 0;
  private limit_: number;
  private readonly waiters = new WaitQueue();
  private readonly timers: TimerQueue | undefined;
  private readonly algorithm: LimitAlgorithm | undefined;
  private readonly adaptive: AdaptiveLimitConfig | undefined;
  private draining = false;
  private meanDurationMs: number | undefined = undefined;
  readonly queueLimit: number;
  private readonly queueTimeoutMs: number;
  private readonly retryAfterMs: number | undefined;
  private readonly name: string | undefined;
  private readonly listener: TelemetryListener | undefined;

  constructor(settings: BulkheadSettings) {
    const { limit, queueTimeoutMs, clock } = settings;
    super(clock);
    this.queueLimit = settings.queueLimit;
    this.queueTimeoutMs = queueTimeoutMs;
    this.retryAfterMs = settings.retryAfterMs;
    this.name = settings.name;
    this.listener = settings.listener;
    if (typeof limit === 'number') {
      this.limit_ = limit;
    } else {
      this.adaptive = limit;
      this.algorithm = limit.create();
      this.limit_ = this.algorithm.limit;
    }
    if (queueTimeoutMs !== Infinity) this.timers = new TimerQueue(clock);
  }

  get active(): number {
    return this.active_;
  }

  get queued(): number {
    return this.waiters.size;
  }

  get limit(): number {
    return this.limit_;
  }

  /** Cockatiel's `onFailure` `handled` flag: the bulkhead's own rejections are its business. */
  protected override handles(error: unknown): boolean {
    return isBulkheadRejectedError(error);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    if (context.scope.aborted) return Promise.reject(context.scope.abortError());
    // An empty queue is part of the test: while a drain is starting queued calls, a call made
    // from inside one of them must not overtake the rest.
    if (this.active_ < this.limit_ && this.waiters.isEmpty) {
      return this.algorithm === undefined
        ? this.runFixed(context, next)
        : this.runMeasured(context, next);
    }
    return this.enqueue(context, next);
  }

  /** @internal A fixed limit takes part in a pipeline's fused path; an adaptive one measures calls. */
  override fused(): FusedLayer | undefined {
    return this.algorithm === undefined ? this : undefined;
  }

  /** @internal A free slot is taken at once; a call that would queue runs layer by layer. */
  fusedEnter(): boolean {
    if (this.active_ < this.limit_ && this.waiters.isEmpty) {
      this.active_++;
      return true;
    }
    return false;
  }

  /** @internal */
  fusedSucceeded(_frame: unknown, _index: number, value: unknown): unknown {
    this.releaseFixed();
    return value;
  }

  /** @internal */
  fusedFailed(_frame: unknown, _index: number, error: unknown): unknown {
    this.releaseFixed();
    return error;
  }

  /**
   * The hot path: no clock, and no closure or async frame per call: a `.then` with handlers
   * bound once costs a fraction of an async function ("Design figures" in benchmarks/RESULTS.md).
   */
  private runFixed(context: Context, next: Next): Promise<unknown> {
    this.active_++;
    let pending: unknown;
    try {
      pending = next.call(context);
    } catch (error: unknown) {
      this.releaseFixed();
      return Promise.reject(error);
    }
    return Promise.resolve(pending).then(this.fixedSucceeded, this.fixedFailed);
  }

  private releaseFixed(): void {
    this.active_--;
    if (!this.waiters.isEmpty) this.drain();
  }

  private readonly fixedSucceeded = (value: unknown): unknown => {
    this.releaseFixed();
    return value;
  };

  private readonly fixedFailed = (error: unknown): never => {
    this.releaseFixed();
    throw error;
  };

  private async runMeasured(context: Context, next: Next): Promise<unknown> {
    const inflight = ++this.active_;
    const start = this.clock.now();
    let outcome = Outcome.Success;
    try {
      return await next.call(context);
    } catch (error: unknown) {
      const scope = context.scope;
      // A call cut short by its caller says nothing about the downstream: leave it out.
      const cause = scope.aborted ? scope.abortError() : error;
      outcome = this.adaptive!.countsAsDrop(cause) ? Outcome.Drop : Outcome.Ignored;
      throw error;
    } finally {
      this.active_--;
      if (outcome !== Outcome.Ignored) {
        this.record(this.clock.now() - start, inflight, outcome === Outcome.Drop, context);
      }
      if (!this.waiters.isEmpty) this.drain();
    }
  }

  private record(durationMs: number, inflight: number, dropped: boolean, context: Context): void {
    const mean = this.meanDurationMs;
    this.meanDurationMs =
      mean === undefined ? durationMs : mean + (durationMs - mean) * DURATION_WEIGHT;
    const from = this.limit_;
    const to = this.algorithm!.update(durationMs, inflight, dropped);
    if (to === from) return;
    // Lowering the limit only admits fewer calls from now on; running ones carry on.
    this.limit_ = to;
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'bulkhead-limit',
        policy: 'bulkhead',
        name: this.name,
        operation: context.operation,
        from,
        to,
      });
    }
  }

  private enqueue(context: Context, next: Next): Promise<unknown> {
    if (this.waiters.size >= this.queueLimit) {
      return Promise.reject(this.rejection('full', context));
    }
    const waiter = new Waiter(this, context, next);
    this.waiters.push(waiter);
    if (this.timers !== undefined) this.timers.add(waiter, this.clock.now(), this.queueTimeoutMs);
    if (context.scope.canAbort) waiter.unsubscribe = context.scope.onAbort(waiter.onAbort);
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'bulkhead-queued',
        policy: 'bulkhead',
        name: this.name,
        operation: context.operation,
        active: this.active_,
        queued: this.waiters.size,
      });
    }
    return waiter.promise;
  }

  /** Starts queued calls while slots are free, oldest first. */
  private drain(): void {
    // A queued call that fails synchronously frees its slot inside this loop; letting that
    // re-enter would recurse once per such call, so the outer loop picks the next one instead.
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.active_ < this.limit_) {
        const waiter = this.waiters.shift();
        if (waiter === undefined) break;
        this.release(waiter);
        // An aborted caller has already left the queue through its abort listener.
        const { context, step } = waiter;
        const running =
          this.algorithm === undefined
            ? this.runFixed(context, step)
            : this.runMeasured(context, step);
        running.then(waiter.resolve, waiter.reject);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Frees what a waiter holds besides its queue place: its timer entry and abort listener. */
  private release(waiter: Waiter): void {
    this.timers?.delete(waiter);
    const unsubscribe = waiter.unsubscribe;
    if (unsubscribe !== undefined) {
      waiter.unsubscribe = undefined;
      unsubscribe();
    }
  }

  /** @internal The caller of a queued call aborted: it leaves the queue at once. */
  cancel(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return;
    this.release(waiter);
    waiter.reject(waiter.context.scope.abortError());
  }

  /** @internal A queued call waited `queueTimeoutMs` without getting a slot. */
  expire(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return;
    this.release(waiter);
    waiter.reject(this.rejection('queue-timeout', waiter.context));
  }

  private rejection(reason: 'full' | 'queue-timeout', context: Context): BulkheadRejectedError {
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: this.name,
        operation: context.operation,
        reason,
        active: this.active_,
        queued: this.waiters.size,
        limit: this.limit_,
      });
    }
    return new BulkheadRejectedError(reason, this.limit_, this.queueLimit, this.retryAfter());
  }

  /**
   * How long a rejected caller should wait: about as long as the queue ahead of it needs to
   * drain, at the recent average call duration.
   */
  private retryAfter(): number {
    if (this.retryAfterMs !== undefined) return this.retryAfterMs;
    const mean = this.meanDurationMs;
    if (mean === undefined) return DEFAULT_RETRY_AFTER_MS;
    return Math.max(1, Math.ceil(mean * (1 + this.waiters.size / this.limit_)));
  }
}

/**
 * Limits how many calls run at once. Calls past the limit wait in a bounded FIFO queue, or are
 * rejected at once with a {@link BulkheadRejectedError} that carries a `retryAfterMs` hint.
 *
 * @example
 * const policy = bulkhead({ limit: 10, queue: 50, queueTimeoutMs: 1000 });
 * const user = await policy.execute(({ signal }) => fetchUser(id, { signal }));
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  checkOptionsObject('bulkhead', options);
  checkKnownOptions('bulkhead', options, OPTION_NAMES);
  if (options.clock !== undefined) checkClock(options.clock);
  const { limit } = options;
  if (!(limit instanceof AdaptiveLimitConfig)) {
    if (typeof limit === 'object' && limit !== null) {
      throw new TypeError(
        `expected limit to be an integer >= 1 or an adaptiveLimit(), got ${describeValue(limit)}`,
      );
    }
    checkInteger('limit', limit, 1, Infinity);
  }
  const queue = options.queue ?? DEFAULT_QUEUE;
  checkInteger('queue', queue, 0, Infinity);
  const queueTimeoutMs = options.queueTimeoutMs ?? Infinity;
  if (options.queueTimeoutMs !== undefined) {
    checkNumber('queueTimeoutMs', queueTimeoutMs, 1, Infinity);
    if (queue === 0) {
      throw new RangeError(
        'expected queue to be an integer >= 1 when queueTimeoutMs is set, got 0',
      );
    }
  }
  if (options.retryAfterMs !== undefined) {
    checkNumber('retryAfterMs', options.retryAfterMs, 0, Infinity);
  }
  if (options.name !== undefined) checkString('name', options.name);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  return new BulkheadPolicy({
    limit,
    queueLimit: queue,
    queueTimeoutMs,
    retryAfterMs: options.retryAfterMs,
    name: options.name,
    listener: options.listener,
    clock: options.clock ?? systemClock,
  });
}
