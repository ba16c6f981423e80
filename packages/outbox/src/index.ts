export {
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_MESSAGES_PER_ENQUEUE,
  createOutbox,
  type Outbox,
  type OutboxOptions,
} from './outbox.js';
export type { OutboxMessage, OutboxMessageInput } from './message.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  Relay,
  type RelayBatch,
  type RelayOptions,
} from './relay.js';
export {
  DeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type ListDeadLettersOptions,
} from './dead-letters.js';
export type { PublishContext, Transport } from './transport.js';
export {
  OutboxErrorCode,
  PublishRejectedError,
  TransportUnavailableError,
  isPublishRejectedError,
  isTransportUnavailableError,
} from './errors.js';
export type { OutboxDatabase } from './database.js';
export type { PostgresJsLike, Queryable, SqlClient } from './sql-client.js';
export { pgDatabase, type PgPoolClientLike, type PgPoolLike } from './adapters/pg.js';
export { postgresDatabase, type PostgresSqlLike } from './adapters/postgres.js';
export { pgliteDatabase, type PgliteLike } from './adapters/pglite.js';
export { DEFAULT_INBOX_TABLE, DEFAULT_TABLE } from './schema.js';
export { createInbox, type Inbox, type InboxOptions } from './inbox.js';
export type { MetricsOptions, RegistryLike } from './metrics.js';
export {
  DEFAULT_STREAM_PREFIX,
  type RedisClientLike,
  type RedisConsumerClientLike,
  type RedisPipelineLike,
} from './redis.js';
export {
  redisStreamsTransport,
  type RedisStreamsTransportOptions,
} from './transports/redis-streams.js';
export {
  KEY_HEADER,
  TOPIC_HEADER,
  webhookTransport,
  type WebhookTransportOptions,
} from './transports/webhook.js';
export {
  DEFAULT_BLOCK_MS,
  DEFAULT_CLAIM_IDLE_MS,
  DEFAULT_CONSUMER_BATCH_SIZE,
  DEFAULT_DEAD_LETTER_SUFFIX,
  DEFAULT_MAX_DELIVERIES,
  redisStreamsConsumer,
  type ConsumedMessage,
  type HandlerContext,
  type RedisStreamsConsumer,
  type RedisStreamsConsumerOptions,
} from './consumers/redis-streams.js';
