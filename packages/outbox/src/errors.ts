/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of this package's errors. A code, once published, keeps its meaning. */
export const OutboxErrorCode = {
  TransportUnavailable: 'BULWARK_OUTBOX_TRANSPORT_UNAVAILABLE',
  PublishRejected: 'BULWARK_OUTBOX_PUBLISH_REJECTED',
} as const;
export type OutboxErrorCode = (typeof OutboxErrorCode)[keyof typeof OutboxErrorCode];

function brand(error: Error, code: OutboxErrorCode, name: string): void {
  Object.defineProperty(error, BRAND, { value: true });
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  error.name = name;
}

function hasCode(error: unknown, code: OutboxErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === code
  );
}

/**
 * The broker could not be reached (not connected, refused, timed out, overloaded): the failure
 * says nothing about the message. A transport throws it so that the relay waits and tries again
 * without counting an attempt against the message, and a long outage dead-letters nothing.
 */
export class TransportUnavailableError extends Error {
  declare readonly code: typeof OutboxErrorCode.TransportUnavailable;
  constructor(
    /** The transport's name (`redis-streams`, `webhook`...). */
    readonly transport: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${transport} transport unavailable: ${message}`, options);
    brand(this, OutboxErrorCode.TransportUnavailable, 'TransportUnavailableError');
  }
}
export const isTransportUnavailableError = (e: unknown): e is TransportUnavailableError =>
  hasCode(e, OutboxErrorCode.TransportUnavailable);

/**
 * The broker refused this message for good (a webhook's 400, 404, 413, 422...): sending it again
 * cannot succeed, so the relay moves it to the dead letters at once instead of retrying.
 */
export class PublishRejectedError extends Error {
  declare readonly code: typeof OutboxErrorCode.PublishRejected;
  constructor(
    /** The transport's name. */
    readonly transport: string,
    message: string,
    /** The HTTP status, for the webhook transport. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${transport} transport rejected the message: ${message}`, options);
    brand(this, OutboxErrorCode.PublishRejected, 'PublishRejectedError');
  }
}
export const isPublishRejectedError = (e: unknown): e is PublishRejectedError =>
  hasCode(e, OutboxErrorCode.PublishRejected);
