import { type Clock, TimeoutError, systemClock } from '@bulwark/core';
import {
  Expirable,
  TimerQueue,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
} from '@bulwark/core/internal';
import { createHash } from 'node:crypto';
import { decodeRecord, encodeRecord } from './codec.js';
import type { CacheStore, StoredRecord } from './store.js';

/** The prefix of every key the store writes. */
export const DEFAULT_PREFIX = 'bulwark:cache:';
/** A Redis command that has not answered in this long counts as failed: the call goes on without it. */
export const DEFAULT_REDIS_TIMEOUT_MS = 250;
/**
 * Keys longer than this are stored under their SHA-256 instead, as are keys that carry a
 * caller's partition (a user or tenant id that `KEYS` or a Redis monitor must not show).
 */
export const MAX_RAW_KEY_LENGTH = 512;

/**
 * The part of a Redis client the store uses; ioredis's `Redis` and `Cluster` have it. Typed
 * structurally so this package never loads ioredis itself.
 */
export interface RedisLike {
  /** ioredis's connection status; commands are sent only when it is `ready`. */
  readonly status: string;
  getBuffer(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, mode: 'PX', ttlMs: number): Promise<unknown>;
  del(key: string): Promise<number>;
}

export interface RedisStoreErrorArgs {
  readonly operation: 'get' | 'set' | 'delete';
  readonly key: string;
  readonly error: unknown;
}

export interface RedisStoreOptions {
  /** A connected ioredis client (or anything with the same commands). */
  client: RedisLike;
  /** Prepended to every key. Default `bulwark:cache:`. */
  prefix?: string;
  /** How long a command may take before it counts as failed. Default 250 ms. */
  timeoutMs?: number;
  /** Told about each failed command, before the cache treats it as a miss or a lost write. */
  onError?: (args: RedisStoreErrorArgs) => void;
  /** Measures command timeouts. Default: the system clock. */
  clock?: Clock;
}

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

class RedisStore implements CacheStore {
  private readonly timers: TimerQueue;

  constructor(
    private readonly client: RedisLike,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly onError: ((args: RedisStoreErrorArgs) => void) | undefined,
    private readonly clock: Clock,
  ) {
    this.timers = new TimerQueue(clock);
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    const bytes = await this.run('get', key, (k) => this.client.getBuffer(k));
    return bytes === null ? undefined : decodeRecord(bytes);
  }

  async set(key: string, record: StoredRecord, ttlMs: number): Promise<void> {
    const value = encodeRecord(record);
    await this.run('set', key, (k) =>
      this.client.set(k, value, 'PX', Math.max(1, Math.ceil(ttlMs))),
    );
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', key, (k) => this.client.del(k));
  }

  private redisKey(key: string): string {
    // The cache puts a partition after the first newline of a key (see cache-key.ts).
    if (key.length <= MAX_RAW_KEY_LENGTH && !key.includes('\n')) return this.prefix + key;
    return `${this.prefix}sha256:${createHash('sha256').update(key).digest('base64url')}`;
  }

  /**
   * Runs one command, failing fast when the client is not connected (ioredis would otherwise
   * queue the command until it reconnects) and after `timeoutMs` when Redis does not answer.
   */
  private async run<T>(
    operation: RedisStoreErrorArgs['operation'],
    key: string,
    command: (redisKey: string) => Promise<T>,
  ): Promise<T> {
    try {
      if (this.client.status !== 'ready') {
        throw new Error(`redis client is not ready (status: ${this.client.status})`);
      }
      return await this.withTimeout(command(this.redisKey(key)));
    } catch (error: unknown) {
      if (this.onError !== undefined) {
        try {
          this.onError({ operation, key, error });
        } catch {
          // A failing error hook must not turn a cache miss into a failed call.
        }
      }
      throw error;
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = new PendingCommand<T>(resolve, reject, this.timeoutMs);
      this.timers.add(pending, this.clock.now(), this.timeoutMs);
      promise.then(
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
 * A store for a fleet of instances sharing one Redis. Entries expire in Redis by their own time
 * to live (`SET ... PX`). Every failure (a stopped server, a hung one, a value that is not ours)
 * rejects, and the cache turns it into a miss or a lost write: a Redis outage never fails a call.
 */
export function redisStore(options: RedisStoreOptions): CacheStore {
  checkOptionsObject('redisStore', options);
  checkKnownOptions('redisStore', options, ['client', 'prefix', 'timeoutMs', 'onError', 'clock']);
  const { client } = options;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.getBuffer !== 'function' ||
    typeof client.set !== 'function' ||
    typeof client.del !== 'function'
  ) {
    throw new TypeError(
      'expected client to be a Redis client with getBuffer(), set() and del() (an ioredis instance)',
    );
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (options.prefix !== undefined) checkString('prefix', prefix);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  checkInteger('timeoutMs', timeoutMs, 1, 60_000);
  if (options.onError !== undefined) checkFunction('onError', options.onError);
  return new RedisStore(client, prefix, timeoutMs, options.onError, options.clock ?? systemClock);
}
