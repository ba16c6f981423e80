import { type Clock, TimeoutError, systemClock } from '@bulwark/core';
import {
  Expirable,
  TimerQueue,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import type { CompleteRecord, IdempotencyRecord, InProgressRecord } from '../record.js';
import { decodeRecord, encodeClaim, encodeComplete } from './codec.js';
import type { IdempotencyStore } from './store.js';

/** The prefix of every key the store writes. */
export const DEFAULT_PREFIX = 'bulwark:idempotency:';
/** A command that has not answered in this long fails, and the request answers 503. */
export const DEFAULT_REDIS_TIMEOUT_MS = 1_000;

// Compare-and-set and compare-and-delete: only the request that made a claim may complete or
// release it, even when its claim expired and another request claimed the key meanwhile.
const COMPLETE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** A claim's key can expire between a failed SET NX and the GET that follows: try again. */
const CLAIM_ATTEMPTS = 3;

/**
 * The part of a Redis client the store uses; ioredis's `Redis` and `Cluster` have it. Typed
 * structurally, so this package never loads ioredis itself.
 */
export interface RedisLike {
  /** ioredis's connection status; commands are sent only when it is `ready`. */
  readonly status?: string;
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** A connected ioredis client (or anything with the same commands). */
  client: RedisLike;
  /** Prepended to every key. Default `bulwark:idempotency:`. */
  prefix?: string;
  /** How long a command may take before it fails. Default 1000 ms. */
  timeoutMs?: number;
  /** Measures command timeouts. Default: the system clock. */
  clock?: Clock;
}

const OPTION_NAMES = optionNames<RedisStoreOptions>({
  client: true,
  prefix: true,
  timeoutMs: true,
  clock: true,
});

/** A command waiting for Redis, failed by the shared timer when Redis takes too long. */
class PendingCommand<T> extends Expirable {
  settled = false;
  constructor(
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
    private readonly timeoutMs: number,
  ) {
    super();
  }
  onExpire(): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(new TimeoutError(this.timeoutMs));
  }
}

class RedisStore implements IdempotencyStore {
  private readonly timers: TimerQueue;

  constructor(
    private readonly client: RedisLike,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.timers = new TimerQueue(clock);
  }

  async claim(
    key: string,
    claim: InProgressRecord,
    lockMs: number,
  ): Promise<IdempotencyRecord | undefined> {
    const k = this.prefix + key;
    const value = encodeClaim(claim);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const set = await this.run(() => this.client.set(k, value, 'PX', lockMs, 'NX'));
      if (set !== null) return undefined;
      const existing = await this.run(() => this.client.get(k));
      if (existing !== null) return decodeRecord(existing);
    }
    throw new Error('the idempotency record kept expiring while being read');
  }

  async complete(
    key: string,
    claim: InProgressRecord,
    record: CompleteRecord,
    ttlMs: number,
  ): Promise<boolean> {
    const k = this.prefix + key;
    const done = await this.run(() =>
      this.client.eval(COMPLETE_SCRIPT, 1, k, encodeClaim(claim), encodeComplete(record), ttlMs),
    );
    return done === 1;
  }

  async release(key: string, claim: InProgressRecord): Promise<boolean> {
    const k = this.prefix + key;
    const done = await this.run(() => this.client.eval(RELEASE_SCRIPT, 1, k, encodeClaim(claim)));
    return done === 1;
  }

  private run<T>(command: () => Promise<T>): Promise<T> {
    const status = this.client.status;
    // ioredis queues commands while disconnected; waiting in that queue would only delay the 503.
    if (status !== undefined && status !== 'ready') {
      return Promise.reject(new Error(`redis connection is ${status}`));
    }
    return new Promise<T>((resolve, reject) => {
      const pending = new PendingCommand(resolve, reject, this.timeoutMs);
      this.timers.add(pending, this.clock.now(), this.timeoutMs);
      let result: Promise<T>;
      try {
        result = command();
      } catch (error: unknown) {
        result = Promise.reject(error);
      }
      result.then(
        (value) => {
          if (pending.settled) return;
          pending.settled = true;
          this.timers.delete(pending);
          resolve(value);
        },
        (error: unknown) => {
          if (pending.settled) return;
          pending.settled = true;
          this.timers.delete(pending);
          reject(error);
        },
      );
    });
  }
}

/**
 * Records in Redis, shared by every instance: the claim is `SET key value NX PX lockMs`, the
 * completion a compare-and-set that keeps the record for `ttlMs`. A Redis that is down or slow
 * makes keyed requests answer 503, never run twice.
 */
export function redisStore(options: RedisStoreOptions): IdempotencyStore {
  checkOptionsObject('redisStore', options);
  checkKnownOptions('redisStore', options, OPTION_NAMES);
  const {
    client,
    prefix = DEFAULT_PREFIX,
    timeoutMs = DEFAULT_REDIS_TIMEOUT_MS,
    clock = systemClock,
  } = options;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.set !== 'function' ||
    typeof client.get !== 'function' ||
    typeof client.eval !== 'function'
  ) {
    throw new TypeError('expected client to be a Redis client with set(), get() and eval()');
  }
  checkString('prefix', prefix);
  checkInteger('timeoutMs', timeoutMs, 1);
  return new RedisStore(client, prefix, timeoutMs, clock);
}
