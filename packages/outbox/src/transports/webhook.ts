import {
  type HttpClient,
  createHttpClient,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isNetworkError,
  isRetriesExhaustedError,
} from '@bulwark/http-client';
import { checkKnownOptions, checkOptionsObject, describeValue } from '@bulwark/core/internal';
import { PublishRejectedError, TransportUnavailableError } from '../errors.js';
import type { OutboxMessage } from '../message.js';
import type { PublishContext, Transport } from '../transport.js';

const NAME = 'webhook';
/** A webhook answers with a few bytes; more than this is not read, and the attempt fails. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Statuses that say the receiver is down or overloaded: the message is not to blame. */
const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/**
 * 4xx statuses worth another attempt: a timeout, a conflict (an Idempotency-Key still being
 * processed answers 409), too early. Every other 4xx refuses the message for good.
 */
const RETRIED_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 409, 425]);

export const TOPIC_HEADER = 'x-outbox-topic';
export const KEY_HEADER = 'x-outbox-key';

export interface WebhookTransportOptions {
  /** Where each message is POSTed: one URL, or one per message (by topic, say). */
  url: string | URL | ((message: OutboxMessage) => string | URL);
  /**
   * The `@bulwark/http-client` client to send with (its retries, breaker and timeouts apply
   * within each publish). Default: one of the transport's own, with the client's defaults,
   * closed by `close()`.
   */
  client?: HttpClient;
  /** Sent with every message (an `authorization`, say), under the message's own headers. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * POSTs each message's payload (the JSON text, byte for byte) with the message id as its
 * `Idempotency-Key`, so a receiver that honours the key (a Bulwark server with idempotency on)
 * acts once on a message the relay delivers twice. Also sent: `content-type: application/json`,
 * `x-outbox-topic`, `x-outbox-key` (percent-encoded) and the message's headers.
 *
 * 2xx is published. 429, 502, 503, 504, a refused or reset connection, an open breaker: the
 * receiver is unavailable (`TransportUnavailableError`, not counted against the message). Any
 * other 4xx but 408, 409 and 425: rejected for good (`PublishRejectedError`, dead-lettered at
 * once). Anything else (500, a timeout...) is retried after the relay's backoff.
 */
export function webhookTransport(options: WebhookTransportOptions): Transport {
  checkOptionsObject('webhookTransport', options);
  checkKnownOptions('webhookTransport', options, ['url', 'client', 'headers']);
  const { url, client, headers = {} } = options;
  if (typeof url === 'string') new URL(url);
  else if (!(url instanceof URL) && typeof url !== 'function') {
    throw new TypeError(
      `expected url to be a URL, a string or a function, got ${describeValue(url)}`,
    );
  }
  if (
    client !== undefined &&
    (typeof client !== 'object' || typeof client.request !== 'function')
  ) {
    throw new TypeError(`expected client to be an HttpClient, got ${describeValue(client)}`);
  }
  if (typeof headers !== 'object' || headers === null) {
    throw new TypeError(
      `expected headers to be an object of strings, got ${describeValue(headers)}`,
    );
  }
  const http = client ?? createHttpClient();
  const common: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) common[name.toLowerCase()] = value;

  return {
    name: NAME,
    async publish(message: OutboxMessage, { signal }: PublishContext): Promise<void> {
      const target = typeof url === 'function' ? url(message) : url;
      const requestHeaders: Record<string, string> = { ...common };
      for (const name in message.headers) {
        requestHeaders[name.toLowerCase()] = message.headers[name]!;
      }
      requestHeaders['content-type'] = 'application/json';
      requestHeaders[TOPIC_HEADER] = message.topic;
      if (message.key !== undefined) requestHeaders[KEY_HEADER] = encodeURIComponent(message.key);
      let status: number;
      try {
        const response = await http.request(target, {
          method: 'POST',
          body: message.payloadJson,
          headers: requestHeaders,
          idempotencyKey: message.id,
          maxBodyBytes: MAX_RESPONSE_BYTES,
          signal,
        });
        status = response.status;
      } catch (error) {
        throw isUnavailable(error)
          ? new TransportUnavailableError(NAME, (error as Error).message, { cause: error })
          : error;
      }
      if (status >= 200 && status < 300) return;
      if (UNAVAILABLE_STATUSES.has(status)) {
        throw new TransportUnavailableError(NAME, `the receiver answered ${status}`);
      }
      if (status >= 400 && status < 500 && !RETRIED_CLIENT_STATUSES.has(status)) {
        throw new PublishRejectedError(NAME, `the receiver answered ${status}`, status);
      }
      throw new Error(`the webhook receiver answered ${status}`);
    },
    close: client === undefined ? () => http.close() : undefined,
  };
}

/** The receiver could not be reached or was shedding load, whatever the message. */
function isUnavailable(error: unknown): boolean {
  if (isBrokenCircuitError(error) || isBulkheadRejectedError(error)) return true;
  if (isNetworkError(error)) return !error.committed;
  if (isRetriesExhaustedError(error)) {
    if (error.lastStatus !== undefined) return UNAVAILABLE_STATUSES.has(error.lastStatus);
    return isNetworkError(error.cause) && !error.cause.committed;
  }
  return false;
}
