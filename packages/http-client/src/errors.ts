import type { HttpResponse, ResponseHeaders } from './response.js';

/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of the HTTP client's own errors. A code, once published, keeps its meaning. */
export const HttpErrorCode = {
  HttpStatus: 'BULWARK_HTTP_STATUS',
  RetriesExhausted: 'BULWARK_RETRIES_EXHAUSTED',
  BodyTooLarge: 'BULWARK_BODY_TOO_LARGE',
  BodyNotReplayable: 'BULWARK_BODY_NOT_REPLAYABLE',
  Network: 'BULWARK_NETWORK',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

function brand(error: Error, code: HttpErrorCode, name: string): void {
  Object.defineProperty(error, BRAND, { value: true });
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  error.name = name;
}

function hasCode(error: unknown, code: HttpErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === code
  );
}

function whenItFailed(committed: boolean, malformedResponse: boolean): string {
  if (malformedResponse) return 'on a response that breaks HTTP/1.1';
  return committed ? 'after the response headers' : 'before any response';
}

function describeCause(cause: unknown): string {
  // A NetworkError's own message repeats the method and origin the outer message already gives.
  if (isNetworkError(cause)) {
    return `network error ${whenItFailed(cause.committed, cause.malformedResponse)}: ${describeCause(cause.cause)}`;
  }
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

/**
 * The server answered with a status the caller asked to treat as an error: the JSON helpers
 * (`get`, `post`, ...) throw it for every status outside 2xx. `request()` never does: it
 * returns the response.
 */
export class HttpStatusError extends Error {
  declare readonly code: typeof HttpErrorCode.HttpStatus;
  readonly status: number;
  readonly statusText: string;
  readonly headers: ResponseHeaders;
  constructor(
    /** The whole response, its body read (up to the size limit). */
    readonly response: HttpResponse,
    readonly method: string,
    readonly origin: string,
  ) {
    const text = response.statusText === '' ? '' : ` ${response.statusText}`;
    super(`${method} ${origin} answered ${response.status}${text}`);
    this.status = response.status;
    this.statusText = response.statusText;
    this.headers = response.headers;
    brand(this, HttpErrorCode.HttpStatus, 'HttpStatusError');
  }
}
export const isHttpStatusError = (e: unknown): e is HttpStatusError =>
  hasCode(e, HttpErrorCode.HttpStatus);

/**
 * The request failed in a way the client retries (a retried status, a network error, an attempt
 * timeout), and the client stopped retrying: attempts used up, retry budget spent, or the
 * deadline (or the server's Retry-After) leaving no room for another attempt.
 */
export class RetriesExhaustedError extends Error {
  declare readonly code: typeof HttpErrorCode.RetriesExhausted;
  constructor(
    readonly method: string,
    readonly origin: string,
    /** Attempts made, the first included. */
    readonly attempts: number,
    /** The status of the last answer, when the last attempt got one. */
    readonly lastStatus: number | undefined,
    /** The last failure: an `HttpStatusError`, a `NetworkError`, a `TimeoutError`... */
    cause: unknown,
  ) {
    const last = lastStatus === undefined ? describeCause(cause) : `status ${lastStatus}`;
    const noun = attempts === 1 ? 'attempt' : 'attempts';
    super(`${method} ${origin} gave up after ${attempts} ${noun}; last: ${last}`, { cause });
    brand(this, HttpErrorCode.RetriesExhausted, 'RetriesExhaustedError');
  }
}
export const isRetriesExhaustedError = (e: unknown): e is RetriesExhaustedError =>
  hasCode(e, HttpErrorCode.RetriesExhausted);

/** The response body was larger than `maxBodyBytes`. The rest was not read. */
export class BodyTooLargeError extends Error {
  declare readonly code: typeof HttpErrorCode.BodyTooLarge;
  constructor(
    readonly method: string,
    readonly origin: string,
    /** The limit, in bytes. */
    readonly limitBytes: number,
    /** The size the server declared in Content-Length, when it did. */
    readonly declaredBytes: number | undefined,
  ) {
    const declared = declaredBytes === undefined ? '' : ` (Content-Length: ${declaredBytes} bytes)`;
    super(
      `the response body of ${method} ${origin} exceeds the limit of ${limitBytes} bytes${declared}`,
    );
    brand(this, HttpErrorCode.BodyTooLarge, 'BodyTooLargeError');
  }
}
export const isBodyTooLargeError = (e: unknown): e is BodyTooLargeError =>
  hasCode(e, HttpErrorCode.BodyTooLarge);

/**
 * A failure the client would have retried, but the request body was a one-shot stream, already
 * sent. Pass a factory (`body: () => createReadStream(path)`) to make such a request retryable.
 */
export class StreamBodyNotReplayableError extends Error {
  declare readonly code: typeof HttpErrorCode.BodyNotReplayable;
  constructor(
    readonly method: string,
    readonly origin: string,
    /** The status of the answer that would have been retried, when there was one. */
    readonly lastStatus: number | undefined,
    /** The failure that would have been retried. */
    cause: unknown,
  ) {
    const last = lastStatus === undefined ? describeCause(cause) : `status ${lastStatus}`;
    super(
      `${method} ${origin} failed (${last}) and would be retried, but its body is a one-shot stream that was already sent; pass body: () => stream to allow retries`,
      { cause },
    );
    brand(this, HttpErrorCode.BodyNotReplayable, 'StreamBodyNotReplayableError');
  }
}
export const isStreamBodyNotReplayableError = (e: unknown): e is StreamBodyNotReplayableError =>
  hasCode(e, HttpErrorCode.BodyNotReplayable);

/**
 * The connection failed: refused, reset, closed early, or the body cut short; or the server's
 * answer broke HTTP/1.1 (`malformedResponse`). `committed` says whether the server had answered:
 * after that point a non-idempotent request is never retried, as the server has acted on it.
 */
export class NetworkError extends Error {
  declare readonly code: typeof HttpErrorCode.Network;
  constructor(
    readonly method: string,
    readonly origin: string,
    /** True when the failure came after the response headers (or with a malformed answer). */
    readonly committed: boolean,
    /** The socket's or undici's error, with its own `code` (ECONNRESET, UND_ERR_SOCKET...). */
    cause: unknown,
    /**
     * True when the server's answer broke HTTP/1.1 framing (undici's parser refused it, or it
     * carried conflicting Content-Length fields): it would fail the same way again, so it is
     * never retried.
     */
    readonly malformedResponse: boolean = false,
  ) {
    const when = whenItFailed(committed, malformedResponse);
    super(`${method} ${origin} failed ${when}: ${describeCause(cause)}`, { cause });
    brand(this, HttpErrorCode.Network, 'NetworkError');
  }
}
export const isNetworkError = (e: unknown): e is NetworkError => hasCode(e, HttpErrorCode.Network);
