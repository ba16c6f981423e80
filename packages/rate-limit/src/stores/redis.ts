import { type Clock, TimeoutError, systemClock } from '@bulwark/core';
import {
  Expirable,
  TimerQueue,
  checkClock,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
} from '@bulwark/core/internal';
import type { Algorithm } from '../algorithm.js';
import type { Script } from './scripts.js';

/** The prefix of every key the store writes. */
export const DEFAULT_PREFIX = 'bulwark:rate-limit:';
/**
 * A decision Redis has not answered in this long fails, and the limiter applies its
 * `onStoreError` mode. Rate limits sit in front of every call, so this is kept short.
 */
export const DEFAULT_REDIS_TIMEOUT_MS = 100;
/** The longest `timeoutMs` accepted. */
const MAX_TIMEOUT_MS = 60_000;

/**
 * The part of a Redis client the store uses; ioredis's `Redis` and `Cluster` have it. Typed
 * structurally, so this package never loads ioredis itself.
 */
export interface RedisLike {
  /** ioredis's connection status; decisions are sent only when it is `ready`. */
  readonly status?: string;
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** A connected ioredis client (or anything with `evalsha` and `eval`). */
  client: RedisLike;
  /** Prepended to every key. Default `bulwark:rate-limit:`. */
  prefix?: string;
  /** How long one decision may take before it fails. Default 100 ms. */
  timeoutMs?: number;
  /** Measures decision timeouts. Default: the system clock. */
  clock?: Clock;
}

/** The figures a script decides with: the limiter's own, the same for every call. */
export type ScriptLimits = Pick<Algorithm<unknown>, 'limit' | 'windowMs' | 'capacity'>;

/** The four integers a script returns for a decision. */
export type RawDecision = readonly [
  allowed: number,
  remaining: number,
  reset: number,
  retry: number,
];

/**
 * A decision waiting for Redis: resolved by the reply, or failed by the shared timer when Redis
 * takes too long. It keeps the arguments, for the EVAL that follows a NOSCRIPT.
 */
class PendingDecision extends Expirable {
  settled = false;
  /** Whether the script has been sent whole after a NOSCRIPT. */
  resent = false;
  resolve!: (value: RawDecision) => void;
  reject!: (error: unknown) => void;
  readonly promise: Promise<RawDecision>;

  constructor(
    private readonly store: RedisStore,
    readonly script: Script,
    readonly key: string,
    readonly permits: number,
    readonly limits: ScriptLimits,
  ) {
    super();
    this.promise = new Promise<RawDecision>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  onExpire(): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(new TimeoutError(this.store.timeoutMs));
  }

  readonly replied = (value: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    this.store.forget(this);
    if (isRawDecision(value)) this.resolve(value);
    else this.reject(new Error('unexpected reply from the rate-limit script'));
  };

  readonly failed = (error: unknown): void => {
    if (this.settled) return;
    if (!this.resent && isNoScript(error)) {
      this.resent = true;
      this.store.evaluate(this);
      return;
    }
    this.settled = true;
    this.store.forget(this);
    this.reject(error);
  };
}

function isRawDecision(value: unknown): value is RawDecision {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    value.every((n) => typeof n === 'number' && Number.isInteger(n))
  );
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Limits in Redis, shared by every instance that uses the same server and prefix. */
export class RedisStore {
  readonly kind = 'redis';
  private readonly timers: TimerQueue;

  /** @internal Use {@link redisStore}. */
  constructor(
    private readonly client: RedisLike,
    /** Prepended to every key. */
    readonly prefix: string,
    /** How long one decision may take. */
    readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.timers = new TimerQueue(clock);
  }

  /**
   * @internal Runs `script` on `key` in one round trip: EVALSHA, and EVAL only when the server
   * has lost the script (a restart, a failover, SCRIPT FLUSH). Rejects at once while the client
   * is not connected (ioredis would queue the command until it reconnects), and after
   * `timeoutMs` when Redis does not answer.
   */
  run(script: Script, key: string, permits: number, limits: ScriptLimits): Promise<RawDecision> {
    const status = this.client.status;
    if (status !== undefined && status !== 'ready') {
      return Promise.reject(new Error(`redis client is not ready (status: ${status})`));
    }
    const pending = new PendingDecision(this, script, key, permits, limits);
    this.timers.add(pending, this.clock.now(), this.timeoutMs);
    const { limit, windowMs, capacity } = limits;
    let reply: Promise<unknown>;
    try {
      reply = this.client.evalsha(script.sha, 1, key, permits, limit, windowMs, capacity);
    } catch (error: unknown) {
      reply = Promise.reject(error);
    }
    reply.then(pending.replied, pending.failed);
    return pending.promise;
  }

  /** @internal The server lost the script: send it whole, once. */
  evaluate(pending: PendingDecision): void {
    const { script, key, permits } = pending;
    const { limit, windowMs, capacity } = pending.limits;
    let reply: Promise<unknown>;
    try {
      reply = this.client.eval(script.source, 1, key, permits, limit, windowMs, capacity);
    } catch (error: unknown) {
      reply = Promise.reject(error);
    }
    reply.then(pending.replied, pending.failed);
  }

  /** @internal A decision settled: its timeout is no longer needed. */
  forget(pending: PendingDecision): void {
    this.timers.delete(pending);
  }
}

/**
 * A store for a fleet: every limiter on the same Redis server and prefix shares its limits, so N
 * replicas of a service together grant what one limiter would. One Lua script per decision,
 * timed by the Redis server's clock. When Redis is down, slow or refuses, the decision fails
 * within `timeoutMs` and the limiter applies its `onStoreError` mode (allow, by default).
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  checkOptionsObject('redisStore', options);
  checkKnownOptions('redisStore', options, ['client', 'prefix', 'timeoutMs', 'clock']);
  const { client } = options;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function'
  ) {
    throw new TypeError(
      'expected client to be a Redis client with evalsha() and eval() (an ioredis instance)',
    );
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (options.prefix !== undefined) checkString('prefix', prefix);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  checkInteger('timeoutMs', timeoutMs, 1, MAX_TIMEOUT_MS);
  if (options.clock !== undefined) checkClock(options.clock);
  return new RedisStore(client, prefix, timeoutMs, options.clock ?? systemClock);
}

export function isRedisStore(value: unknown): value is RedisStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'redis' &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}
