import type { OutboxMessage } from './message.js';

/** What a relay tells a transport along with each publish. */
export interface PublishContext {
  /** Aborted when the relay's `publishTimeoutMs` runs out or the relay is stopped. */
  readonly signal: AbortSignal;
}

/**
 * Where the relay publishes: Redis Streams and webhooks ship with this package; anything with
 * these members fits (a Kafka producer, a NATS client, a queue of your own).
 *
 * A publish resolves once the broker has durably accepted the message; the relay then marks the
 * row published. It throws `TransportUnavailableError` when the broker cannot be reached (the
 * attempt is not counted against the message), `PublishRejectedError` when the broker refuses
 * this message for good (it is dead-lettered at once), and anything else for a failure worth
 * retrying after a backoff.
 */
export interface Transport {
  /** Names the transport in errors and dead letters. */
  readonly name: string;
  /** Publishes one message. */
  publish(message: OutboxMessage, context: PublishContext): Promise<void>;
  /**
   * Publishes several messages in one go (one round trip), optional: without it the relay calls
   * `publish()` for each message of a batch at once. Resolves to one outcome per message, in
   * order: `undefined` for a message accepted, the error for one that was not. A rejection fails
   * every message of the batch with that error.
   */
  publishBatch?(
    messages: readonly OutboxMessage[],
    context: PublishContext,
  ): Promise<ReadonlyArray<unknown>>;
  /** Releases what the transport holds (its own connections; never the client it was given). */
  close?(): Promise<void>;
}
