import { type Clock, systemClock } from '@bulwark/core';
import {
  Scope,
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  describeValue,
  unrefTimer,
} from '@bulwark/core/internal';
import { type Algorithm, type AlgorithmKind, Verdict } from './algorithm.js';
import type { RateLimitDecision } from './decision.js';
import { RateLimitedError, type RateLimitedReason } from './errors.js';
import { type RateLimitListener, emitRateLimitEvent } from './events.js';
import { type MemoryStore, MemoryTable, isMemoryStore, memoryStore } from './stores/memory.js';
import { type RedisStore, isRedisStore } from './stores/redis.js';
import { type Script, scriptsFor } from './stores/scripts.js';
import { type QueueOwner, WaitList, Waiter } from './wait-queue.js';

/** The policy name of a limiter without a `name`, in decisions, headers and Redis keys. */
export const DEFAULT_POLICY = 'default';
/** Keys longer than this are refused, so a key taken from a request cannot grow the store. */
export const DEFAULT_MAX_KEY_LENGTH = 256;
/** No queue: a call that finds no permit is refused at once. */
export const DEFAULT_QUEUE = 0;
/** What a limiter does when its store fails, unless told otherwise: let the call through. */
export const DEFAULT_ON_STORE_ERROR: StoreErrorMode = 'allow';
/** The `retryAfterMs` of a refusal made because the store failed and `onStoreError` is `'deny'`. */
export const STORE_ERROR_RETRY_AFTER_MS = 1000;
/**
 * Bounds that keep every figure of the integer arithmetic (`2 × burst × windowMs` at most)
 * exact in a double, in JavaScript and in Redis's Lua alike.
 */
export const MAX_LIMIT = 10_000_000;
export const MAX_WINDOW_MS = 86_400_000;
const MAX_KEY_LENGTH = 4096;
/** Node's timers cannot wait longer. */
const MAX_WAIT_MS = 2_147_483_647;
/** Safe in a structured-field string, a Redis key and a metrics label alike, unescaped. */
const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** The internal key of an unkeyed call; a key given by the caller is never empty. */
const UNKEYED = '';

/** What a limiter does when its store fails: let the call through, or refuse it. */
export type StoreErrorMode = 'allow' | 'deny';

/** Options every limiter takes. */
export interface RateLimiterOptions {
  /** Permits per window: an integer from 1 to 10 000 000. */
  limit: number;
  /** The window, in milliseconds: an integer from 1 to 86 400 000 (one day). */
  windowMs: number;
  /**
   * The policy's name: in decisions, `RateLimit` headers, Redis keys and telemetry events. 1 to
   * 64 letters, digits, `_`, `.` or `-`. Default: `"default"` (and no name in events).
   */
  name?: string;
  /** Where the state lives: `memoryStore()` (the default) or `redisStore()` for a fleet. */
  store?: MemoryStore | RedisStore;
  /** The longest key accepted, in characters. Default 256. */
  maxKeyLength?: number;
  /** How many calls may wait for permits (`acquire()` and the policy), over all keys. Default 0. */
  queue?: number;
  /** A call that would wait longer than this is refused (`'max-wait'`). Default `windowMs`. */
  maxWaitMs?: number;
  /** What to do when the store fails: `'allow'` (fail open, the default) or `'deny'`. */
  onStoreError?: StoreErrorMode;
  /** Receives the limiter's events. Without one, no event object is ever built. */
  listener?: RateLimitListener;
  /** The clock for decisions in memory and for queue waits. Default: the system clock. */
  clock?: Clock;
}

export interface AcquireOptions {
  /** Permits to take. Default 1. */
  permits?: number;
  /** Aborting it takes the call out of the queue at once. */
  signal?: AbortSignal;
}

/** A rate limiter: decides calls against a limit per key. */
export interface RateLimiter {
  readonly algorithm: AlgorithmKind;
  /** The policy name (the `name` option, else `"default"`). */
  readonly policy: string;
  /** Permits per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** The most permits one decision can take (the bucket size; the limit for a sliding window). */
  readonly capacity: number;
  /** Calls waiting in the queue now, over all keys. */
  readonly queued: number;
  /** The clock this limiter measures queue waits with. */
  readonly clock: Clock;
  /**
   * Decides now, never waits: takes `permits` (default 1) for `key` (default: the unkeyed limit)
   * if they are there, and says so. While calls wait in the queue for `key`, it is refused, so it
   * never overtakes them. With a Redis store the decision is a promise.
   */
  take(key?: string, permits?: number): RateLimitDecision | Promise<RateLimitDecision>;
  /**
   * Takes the permits, waiting for them in the queue when the limiter has one. Resolves with the
   * decision once granted; rejects with a `RateLimitedError`, or with the abort error when
   * `signal` aborts while waiting.
   */
  acquire(key?: string, options?: AcquireOptions): Promise<RateLimitDecision>;
}

/** A limiter whose state is in this process: it decides synchronously. */
export interface MemoryRateLimiter extends RateLimiter {
  take(key?: string, permits?: number): RateLimitDecision;
  /** Keys held now (the unkeyed limit not counted). */
  readonly keys: number;
}

/** A limiter whose state is in Redis: each decision is one round trip. */
export interface RedisRateLimiter extends RateLimiter {
  take(key?: string, permits?: number): Promise<RateLimitDecision>;
}

/** The options shared by both factories, validated. */
export interface LimiterSettings {
  readonly limit: number;
  readonly windowMs: number;
  readonly policy: string;
  readonly named: string | undefined;
  readonly store: MemoryStore | RedisStore;
  readonly maxKeyLength: number;
  readonly queue: number;
  readonly maxWaitMs: number;
  readonly onStoreError: StoreErrorMode;
  readonly listener: RateLimitListener | undefined;
  readonly clock: Clock;
}

const COMMON_OPTIONS = [
  'limit',
  'windowMs',
  'name',
  'store',
  'maxKeyLength',
  'queue',
  'maxWaitMs',
  'onStoreError',
  'listener',
  'clock',
] as const;

/** Validates the options every limiter takes, plus `extra` ones the factory checks itself. */
export function parseLimiterOptions(
  factory: string,
  options: RateLimiterOptions,
  extra: readonly string[],
): LimiterSettings {
  checkOptionsObject(factory, options);
  checkKnownOptions(factory, options, [...COMMON_OPTIONS, ...extra]);
  const { limit, windowMs } = options;
  checkInteger('limit', limit, 1, MAX_LIMIT);
  checkInteger('windowMs', windowMs, 1, MAX_WINDOW_MS);
  const named = options.name;
  if (named !== undefined && (typeof named !== 'string' || !POLICY_NAME.test(named))) {
    throw new TypeError(
      `expected name to be 1 to 64 letters, digits, "_", "." or "-", got ${describeValue(named)}`,
    );
  }
  const store = options.store ?? memoryStore();
  if (!isMemoryStore(store) && !isRedisStore(store)) {
    throw new TypeError(
      `expected store to be a memoryStore() or a redisStore(), got ${describeValue(store)}`,
    );
  }
  const maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH;
  checkInteger('maxKeyLength', maxKeyLength, 1, MAX_KEY_LENGTH);
  const queue = options.queue ?? DEFAULT_QUEUE;
  checkInteger('queue', queue, 0);
  const maxWaitMs = options.maxWaitMs ?? windowMs;
  if (options.maxWaitMs !== undefined) {
    checkInteger('maxWaitMs', maxWaitMs, 1, MAX_WAIT_MS);
    if (queue === 0) {
      throw new RangeError('expected queue to be an integer >= 1 when maxWaitMs is set, got 0');
    }
  }
  const onStoreError = options.onStoreError ?? DEFAULT_ON_STORE_ERROR;
  checkOneOf('onStoreError', onStoreError, ['allow', 'deny']);
  if (options.listener !== undefined) checkFunction('listener', options.listener);
  if (options.clock !== undefined) checkClock(options.clock);
  return {
    limit,
    windowMs,
    policy: named ?? DEFAULT_POLICY,
    named,
    store,
    maxKeyLength,
    queue,
    maxWaitMs,
    onStoreError,
    listener: options.listener,
    clock: options.clock ?? systemClock,
  };
}

/**
 * The limiter behind both factories: keys, the store, the queue and the events. The algorithm
 * decides in memory; in Redis, the same arithmetic runs in a script.
 */
export class Limiter<S extends object> implements RateLimiter, QueueOwner {
  readonly policy: string;
  readonly clock: Clock;
  private readonly verdict = new Verdict();
  private readonly name: string | undefined;
  private readonly maxKeyLength: number;
  private readonly queueLimit: number;
  private readonly maxWaitMs: number;
  private readonly onStoreError: StoreErrorMode;
  private readonly listener: RateLimitListener | undefined;
  /** The key states, when they are in memory. */
  private readonly table: MemoryTable<S> | undefined;
  /** The Redis store, when they are there. */
  private readonly remote: RedisStore | undefined;
  private readonly takeScript: Script;
  private readonly refundScript: Script;
  /** `prefix + policy`: the Redis key of the unkeyed limit, and the stem of every other. */
  private readonly stem: string;
  /** The keys that have calls waiting; made only when the limiter has a queue. */
  private readonly lists: Map<string, WaitList> | undefined;
  private queued_ = 0;

  constructor(
    private readonly scheme: Algorithm<S>,
    settings: LimiterSettings,
  ) {
    this.policy = settings.policy;
    this.name = settings.named;
    this.clock = settings.clock;
    this.maxKeyLength = settings.maxKeyLength;
    this.queueLimit = settings.queue;
    this.maxWaitMs = settings.maxWaitMs;
    this.onStoreError = settings.onStoreError;
    this.listener = settings.listener;
    const store = settings.store;
    if (store.kind === 'memory') {
      this.table = new MemoryTable(store.maxKeys, () => scheme.createState());
      this.stem = '';
    } else {
      this.remote = store;
      this.stem = store.prefix + settings.policy;
    }
    const scripts = scriptsFor(scheme.kind);
    this.takeScript = scripts.take;
    this.refundScript = scripts.refund;
    if (settings.queue > 0) this.lists = new Map();
  }

  get algorithm(): AlgorithmKind {
    return this.scheme.kind;
  }

  get limit(): number {
    return this.scheme.limit;
  }

  get windowMs(): number {
    return this.scheme.windowMs;
  }

  get capacity(): number {
    return this.scheme.capacity;
  }

  get queued(): number {
    return this.queued_;
  }

  get keys(): number {
    return this.table?.size ?? 0;
  }

  take(key?: string, permits?: number): RateLimitDecision | Promise<RateLimitDecision> {
    const k = key === undefined ? UNKEYED : this.checkKey(key);
    const n = permits === undefined ? 1 : this.checkPermits(permits);
    const table = this.table;
    const list = this.lists?.get(k);
    if (list !== undefined) {
      const behind = this.behindQueue(list, n);
      return table !== undefined ? behind : Promise.resolve(behind);
    }
    if (table === undefined) {
      if (this.listener === undefined) return this.decideRemote(k, n, undefined);
      return this.decideRemote(k, n, undefined).then((decision) => {
        if (this.listener !== undefined) this.report(decision, n);
        return decision;
      });
    }
    const verdict = this.verdict;
    this.scheme.decide(table.state(k), this.now(), n, verdict);
    const decision = this.decisionOf(verdict);
    if (this.listener !== undefined) this.report(decision, n);
    return decision;
  }

  acquire(key?: string, options?: AcquireOptions): Promise<RateLimitDecision> {
    let k: string;
    let n: number;
    let scope: Scope;
    try {
      k = key === undefined ? UNKEYED : this.checkKey(key);
      if (options !== undefined) {
        checkOptionsObject('acquire', options);
        checkKnownOptions('acquire', options, ['permits', 'signal']);
        if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
          throw new TypeError(
            `expected signal to be an AbortSignal, got ${describeValue(options.signal)}`,
          );
        }
      }
      n = options?.permits === undefined ? 1 : this.checkPermits(options.permits);
      scope = Scope.from(options?.signal);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    if (scope.aborted) return Promise.reject(scope.abortError());
    const waiting = this.admit(k, n, scope, undefined);
    return waiting ?? Promise.resolve(this.decisionOf(this.verdict));
  }

  /** @internal Whether the state is in this process, so that decisions are synchronous. */
  get inMemory(): boolean {
    return this.table !== undefined;
  }

  /** @internal A key a caller may give: a non-empty string of at most `maxKeyLength` characters. */
  isKey(key: unknown): key is string {
    return typeof key === 'string' && key.length !== 0 && key.length <= this.maxKeyLength;
  }

  /** @internal The key, or a TypeError or RangeError saying what was expected and given. */
  checkKey(key: unknown): string {
    if (this.isKey(key)) return key;
    checkString('key', key, this.maxKeyLength);
    return key;
  }

  /** @internal Permits asked for: an integer from 1 to the limiter's capacity. */
  checkPermits(permits: unknown): number {
    checkInteger('permits', permits, 1, this.scheme.capacity);
    return permits;
  }

  /**
   * @internal Takes the permits now if the state is in memory, nobody waits for `key` and they
   * are there: true. Otherwise false, having taken nothing and reported nothing.
   */
  tryTake(key: string, permits: number, operation: string | undefined): boolean {
    const table = this.table;
    if (table === undefined || this.lists?.has(key) === true) return false;
    const verdict = this.verdict;
    this.scheme.decide(table.state(key), this.now(), permits, verdict);
    if (!verdict.allowed) return false;
    if (this.listener !== undefined) this.granted(permits, verdict.remaining, 0, operation);
    return true;
  }

  /**
   * @internal Takes the permits for a call: undefined when they were granted at once (in memory,
   * without allocating), else a promise that settles when they are granted (with the decision) or
   * refused (with a `RateLimitedError` or the scope's abort error). The scope must not be aborted.
   */
  admit(
    key: string,
    permits: number,
    scope: Scope,
    operation: string | undefined,
  ): Promise<RateLimitDecision> | undefined {
    const list = this.lists?.get(key);
    if (list !== undefined) return this.joinBehind(list, permits, scope, operation);
    const table = this.table;
    if (table === undefined) return this.admitRemote(key, permits, scope, operation);
    const verdict = this.verdict;
    const now = this.now();
    this.scheme.decide(table.state(key), now, permits, verdict);
    if (verdict.allowed) {
      if (this.listener !== undefined) this.granted(permits, verdict.remaining, 0, operation);
      return undefined;
    }
    return this.refused(key, permits, now, verdict.retryAfterMs, scope, operation);
  }

  private admitRemote(
    key: string,
    permits: number,
    scope: Scope,
    operation: string | undefined,
  ): Promise<RateLimitDecision> {
    return this.decideRemote(key, permits, operation).then((decision) => {
      if (scope.aborted) {
        if (decision.allowed && !decision.storeFailed) this.refund(key, permits);
        throw scope.abortError();
      }
      if (decision.allowed) {
        if (this.listener !== undefined) this.granted(permits, decision.remaining, 0, operation);
        return decision;
      }
      if (decision.storeFailed) {
        throw this.rejection('store-error', permits, decision.retryAfterMs, operation);
      }
      // Others may have started waiting for this key while the decision was in flight.
      const list = this.lists?.get(key);
      if (list !== undefined) return this.joinBehind(list, permits, scope, operation);
      return this.refused(key, permits, this.now(), decision.retryAfterMs, scope, operation);
    });
  }

  /** The permits are not there: refuse, or wait for them at the head of a new queue. */
  private refused(
    key: string,
    permits: number,
    now: number,
    retryAfterMs: number,
    scope: Scope,
    operation: string | undefined,
  ): Promise<RateLimitDecision> {
    let reason: RateLimitedReason | undefined;
    if (this.queueLimit === 0) reason = 'limit';
    else if (retryAfterMs > this.maxWaitMs) reason = 'max-wait';
    else if (this.queued_ >= this.queueLimit) reason = 'queue-full';
    if (reason !== undefined) {
      return Promise.reject(this.rejection(reason, permits, retryAfterMs, operation));
    }
    const list = new WaitList(this, key);
    this.lists!.set(key, list);
    const waiter = this.enqueue(list, permits, scope, operation, now);
    this.arm(list, now, retryAfterMs);
    return waiter.promise;
  }

  /** Others wait for this key already: queue behind them, first come first served. */
  private joinBehind(
    list: WaitList,
    permits: number,
    scope: Scope,
    operation: string | undefined,
  ): Promise<RateLimitDecision> {
    const now = this.now();
    if (this.queued_ >= this.queueLimit) {
      const hint = Math.max(1, list.wakeAt - now);
      return Promise.reject(this.rejection('queue-full', permits, hint, operation));
    }
    return this.enqueue(list, permits, scope, operation, now).promise;
  }

  private enqueue(
    list: WaitList,
    permits: number,
    scope: Scope,
    operation: string | undefined,
    now: number,
  ): Waiter {
    const waiter = new Waiter(list, permits, scope, operation, now, now + this.maxWaitMs);
    list.push(waiter);
    this.queued_++;
    if (scope.canAbort) waiter.unsubscribe = scope.onAbort(waiter.onAbort);
    if (this.listener !== undefined) {
      emitRateLimitEvent(this.listener, {
        type: 'rate-limit-queued',
        policy: 'rate-limit',
        name: this.name,
        operation,
        permits,
        queued: this.queued_,
      });
    }
    return waiter;
  }

  private arm(list: WaitList, now: number, delayMs: number): void {
    list.wakeAt = now + delayMs;
    list.timer = unrefTimer(this.clock, list.fire, delayMs);
  }

  /** @internal Decides for the head of `list` (its timer fired, or the head before it left). */
  process(list: WaitList): void {
    if (this.table !== undefined) this.processLocal(list, this.table);
    else this.processRemote(list);
  }

  private processLocal(list: WaitList, table: MemoryTable<S>): void {
    const verdict = this.verdict;
    for (let head = list.head; head !== undefined; head = list.head) {
      const now = this.now();
      this.scheme.decide(table.state(list.key), now, head.permits, verdict);
      if (verdict.allowed) {
        this.grant(head, now, this.decisionOf(verdict));
      } else if (now + verdict.retryAfterMs > head.deadline) {
        this.leave(head);
        head.reject(this.rejection('max-wait', head.permits, verdict.retryAfterMs, head.operation));
      } else {
        this.arm(list, now, verdict.retryAfterMs);
        return;
      }
    }
    this.lists!.delete(list.key);
  }

  private processRemote(list: WaitList): void {
    const head = list.head;
    if (head === undefined) {
      this.lists!.delete(list.key);
      return;
    }
    list.deciding = head;
    list.wakeAt = this.now();
    void this.decideRemote(list.key, head.permits, head.operation).then((decision) => {
      list.deciding = undefined;
      if (!head.waiting) {
        // Its caller left while Redis was deciding: give back what it will never use.
        if (decision.allowed && !decision.storeFailed) this.refund(list.key, head.permits);
      } else if (decision.allowed) {
        this.grant(head, this.now(), decision);
      } else if (decision.storeFailed) {
        this.leave(head);
        head.reject(
          this.rejection('store-error', head.permits, decision.retryAfterMs, head.operation),
        );
      } else {
        const now = this.now();
        if (now + decision.retryAfterMs <= head.deadline) {
          this.arm(list, now, decision.retryAfterMs);
          return;
        }
        this.leave(head);
        head.reject(
          this.rejection('max-wait', head.permits, decision.retryAfterMs, head.operation),
        );
      }
      this.process(list);
    });
  }

  /** @internal A waiting caller aborted: it leaves the queue at once, having taken nothing. */
  cancel(waiter: Waiter): void {
    const list = waiter.list;
    const wasHead = list.head === waiter;
    if (!waiter.waiting) return;
    this.leave(waiter);
    waiter.reject(waiter.scope.abortError());
    // Behind the head, nothing else changes; a head whose decision is in flight is dealt with
    // when the decision comes back.
    if (!wasHead || list.deciding === waiter) return;
    if (list.timer !== undefined) {
      this.clock.clearTimeout(list.timer);
      list.timer = undefined;
    }
    this.process(list);
  }

  private grant(waiter: Waiter, now: number, decision: RateLimitDecision): void {
    this.leave(waiter);
    if (this.listener !== undefined) {
      this.granted(waiter.permits, decision.remaining, now - waiter.since, waiter.operation);
    }
    waiter.resolve(decision);
  }

  /** Takes a waiter out of its list and frees its abort listener. */
  private leave(waiter: Waiter): void {
    if (!waiter.list.delete(waiter)) return;
    this.queued_--;
    const unsubscribe = waiter.unsubscribe;
    if (unsubscribe !== undefined) {
      waiter.unsubscribe = undefined;
      unsubscribe();
    }
  }

  /** `take()` on a key others wait for: refused, so it cannot overtake them. */
  private behindQueue(list: WaitList, permits: number): RateLimitDecision {
    const wait = Math.max(1, list.wakeAt - this.now());
    if (this.listener !== undefined) this.rejected('limit', permits, wait, undefined);
    return {
      allowed: false,
      policy: this.policy,
      limit: this.scheme.limit,
      windowMs: this.scheme.windowMs,
      remaining: 0,
      resetMs: wait,
      retryAfterMs: wait,
      storeFailed: false,
    };
  }

  /** One decision in Redis. Never rejects: a failed store becomes the `onStoreError` decision. */
  private decideRemote(
    key: string,
    permits: number,
    operation: string | undefined,
  ): Promise<RateLimitDecision> {
    const { limit, windowMs } = this.scheme;
    return this.remote!.run(this.takeScript, this.redisKey(key), permits, this.scheme).then(
      (raw) => ({
        allowed: raw[0] === 1,
        policy: this.policy,
        limit,
        windowMs,
        remaining: raw[1],
        resetMs: raw[2],
        retryAfterMs: raw[3],
        storeFailed: false,
      }),
      (error: unknown) => this.storeFailed(error, operation),
    );
  }

  private storeFailed(error: unknown, operation: string | undefined): RateLimitDecision {
    const mode = this.onStoreError;
    if (this.listener !== undefined) {
      emitRateLimitEvent(this.listener, {
        type: 'rate-limit-store-error',
        policy: 'rate-limit',
        name: this.name,
        operation,
        mode,
        error,
      });
    }
    return {
      allowed: mode === 'allow',
      policy: this.policy,
      limit: this.scheme.limit,
      windowMs: this.scheme.windowMs,
      remaining: 0,
      resetMs: 0,
      retryAfterMs: mode === 'allow' ? 0 : STORE_ERROR_RETRY_AFTER_MS,
      storeFailed: true,
    };
  }

  private refund(key: string, permits: number): void {
    this.remote!.run(this.refundScript, this.redisKey(key), permits, this.scheme).then(
      undefined,
      // Nothing to do: the permits stay taken until they refill.
      () => undefined,
    );
  }

  private redisKey(key: string): string {
    return key === UNKEYED ? this.stem : `${this.stem}:${key}`;
  }

  /** Whole milliseconds: every figure of the arithmetic is an integer. */
  private now(): number {
    return Math.floor(this.clock.now());
  }

  private decisionOf(verdict: Verdict): RateLimitDecision {
    return {
      allowed: verdict.allowed,
      policy: this.policy,
      limit: this.scheme.limit,
      windowMs: this.scheme.windowMs,
      remaining: verdict.remaining,
      resetMs: verdict.resetMs,
      retryAfterMs: verdict.retryAfterMs,
      storeFailed: false,
    };
  }

  private report(decision: RateLimitDecision, permits: number): void {
    if (decision.allowed) {
      this.granted(permits, decision.remaining, 0, undefined);
    } else {
      const reason = decision.storeFailed ? 'store-error' : 'limit';
      this.rejected(reason, permits, decision.retryAfterMs, undefined);
    }
  }

  private granted(
    permits: number,
    remaining: number,
    waitedMs: number,
    operation: string | undefined,
  ): void {
    emitRateLimitEvent(this.listener!, {
      type: 'rate-limit-granted',
      policy: 'rate-limit',
      name: this.name,
      operation,
      permits,
      remaining,
      waitedMs,
    });
  }

  private rejected(
    reason: RateLimitedReason,
    permits: number,
    retryAfterMs: number,
    operation: string | undefined,
  ): void {
    emitRateLimitEvent(this.listener!, {
      type: 'rate-limit-rejected',
      policy: 'rate-limit',
      name: this.name,
      operation,
      reason,
      permits,
      retryAfterMs,
    });
  }

  private rejection(
    reason: RateLimitedReason,
    permits: number,
    retryAfterMs: number,
    operation: string | undefined,
  ): RateLimitedError {
    if (this.listener !== undefined) this.rejected(reason, permits, retryAfterMs, operation);
    return new RateLimitedError(reason, this.policy, this.scheme.limit, retryAfterMs);
  }
}
