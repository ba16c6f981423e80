import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import { TransportUnavailableError } from '../errors.js';
import type { OutboxMessage } from '../message.js';
import { DEFAULT_STREAM_PREFIX, FIELD, type RedisClientLike } from '../redis.js';
import type { PublishContext, Transport } from '../transport.js';

const NAME = 'redis-streams';

export interface RedisStreamsTransportOptions {
  /** A connected ioredis client (`Redis` or `Cluster`). The transport never closes it. */
  client: RedisClientLike;
  /** The stream of a topic is `prefix + topic`. Default `outbox:`. */
  prefix?: string;
  /** Trims each stream to about this many entries (`XADD MAXLEN ~`). Default: no trimming. */
  maxLen?: number;
}

/**
 * Publishes each message with `XADD` to the stream `prefix + topic`, a batch in one pipeline
 * (one round trip). Entry fields: `id`, `topic`, `key` (when set), `payload` (the JSON text),
 * `headers` (a JSON object, when set), `enqueued_at` (epoch milliseconds).
 *
 * A client that is not connected, a lost connection, and a batch still unanswered when the
 * relay's `publishTimeoutMs` runs out are `TransportUnavailableError`s: Redis's trouble, not the
 * message's. A command error (a key holding another type, out of memory) is a counted failure.
 */
export function redisStreamsTransport(options: RedisStreamsTransportOptions): Transport {
  checkOptionsObject('redisStreamsTransport', options);
  checkKnownOptions('redisStreamsTransport', options, ['client', 'prefix', 'maxLen']);
  const { client, prefix = DEFAULT_STREAM_PREFIX, maxLen } = options;
  if (typeof client !== 'object' || client === null || typeof client.pipeline !== 'function') {
    throw new TypeError(`expected client to be an ioredis client, got ${describeValue(client)}`);
  }
  if (typeof prefix !== 'string' || prefix.length > 200) {
    throw new TypeError(
      `expected prefix to be a string of at most 200 characters, got ${describeValue(prefix)}`,
    );
  }
  if (maxLen !== undefined) checkInteger('maxLen', maxLen, 1);
  const trim: Array<string | number> = maxLen === undefined ? [] : ['MAXLEN', '~', maxLen];

  const publishBatch = async (
    messages: readonly OutboxMessage[],
    { signal }: PublishContext,
  ): Promise<unknown[]> => {
    // ioredis would queue commands until it reconnects: while it is not ready, fail at once.
    if (client.status !== undefined && client.status !== 'ready') {
      const error = new TransportUnavailableError(NAME, `the client is ${client.status}`);
      return messages.map(() => error);
    }
    const pipeline = client.pipeline();
    for (const message of messages) {
      const args: Array<string | number> = [prefix + message.topic, ...trim, '*'];
      args.push(FIELD.id, message.id, FIELD.topic, message.topic);
      if (message.key !== undefined) args.push(FIELD.key, message.key);
      args.push(FIELD.payload, message.payloadJson);
      if (message.headers !== undefined && Object.keys(message.headers).length > 0) {
        args.push(FIELD.headers, JSON.stringify(message.headers));
      }
      args.push(FIELD.enqueuedAt, Math.round(message.enqueuedAt));
      pipeline.call('XADD', args);
    }
    let replies: Awaited<ReturnType<typeof pipeline.exec>>;
    try {
      replies = await untilAborted(pipeline.exec(), signal);
    } catch (error) {
      const unavailable = new TransportUnavailableError(NAME, describeFailure(error), {
        cause: error,
      });
      return messages.map(() => unavailable);
    }
    if (replies === null) {
      const error = new TransportUnavailableError(NAME, 'the pipeline was discarded');
      return messages.map(() => error);
    }
    return messages.map((_, i) => {
      const error = replies[i]?.[0];
      if (error === undefined) return new TransportUnavailableError(NAME, 'no reply');
      if (error === null) return undefined;
      return isConnectionError(error)
        ? new TransportUnavailableError(NAME, error.message, { cause: error })
        : error;
    });
  };

  return {
    name: NAME,
    publishBatch,
    async publish(message, context) {
      const [outcome] = await publishBatch([message], context);
      if (outcome !== undefined) throw outcome as Error;
    },
  };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : describeValue(error);
}

/**
 * Errors of the connection rather than of the command, in ioredis's words: a lost or refused
 * connection, a server still loading or failing over, and ioredis giving up on commands it held
 * across reconnects (`MaxRetriesPerRequestError`, `Command timed out`, and the offline queue
 * turned off), whose messages name no connection.
 */
function isConnectionError(error: Error): boolean {
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  return /connection|closed|ECONNRE|ETIMEDOUT|EPIPE|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|Command timed out|isn't writeable/i.test(
    `${typeof code === 'string' ? code : ''} ${error.message}`,
  );
}

/** The promise's outcome, or the signal's reason if it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
