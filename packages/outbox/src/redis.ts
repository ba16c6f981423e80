/**
 * The parts of an ioredis client this package uses, typed by shape so that it never loads
 * ioredis itself: `Redis` and `Cluster` fit. Commands go through `call(command, args)`.
 */
export interface RedisPipelineLike {
  call(command: string, args: Array<string | number>): unknown;
  exec(): Promise<Array<[error: Error | null, result: unknown]> | null>;
}

export interface RedisClientLike {
  /** ioredis's connection status; the transport publishes only when it is `ready`. */
  readonly status?: string;
  call(command: string, args: Array<string | number>): Promise<unknown>;
  pipeline(): RedisPipelineLike;
}

/** A consumer also opens a connection of its own for its blocking reads. */
export interface RedisConsumerClientLike extends RedisClientLike {
  duplicate(): RedisConsumerClientLike;
  disconnect(): void;
}

export const DEFAULT_STREAM_PREFIX = 'outbox:';

/** The fields of a stream entry the transport writes and the consumer reads. */
export const FIELD = {
  id: 'id',
  topic: 'topic',
  key: 'key',
  payload: 'payload',
  headers: 'headers',
  enqueuedAt: 'enqueued_at',
} as const;
