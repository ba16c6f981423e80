import { CancelledError, isBulwarkError } from '@bulwark/core';
import { describeValue } from '@bulwark/core/internal';
import type { OriginReply } from './entry.js';
import { type HeaderInput, type HeaderRecord, toHeaderRecord } from './headers.js';

/**
 * The cache's side of the origin contract: what `handle()` is given, what the origin function
 * receives and returns, and how a reply is checked and normalised.
 */

/** A request as the cache sees it. */
export interface CacheRequest {
  readonly method: string;
  /** An absolute http(s) URL. */
  readonly url: string;
  readonly headers?: HeaderInput;
}

/** What the cache asks the origin function to send: the caller's request plus any validators. */
export interface OriginRequest {
  readonly method: string;
  readonly url: string;
  /** Lowercase; `if-none-match` / `if-modified-since` added when revalidating. */
  readonly headers: HeaderRecord;
  /** The caller's signal (undefined for a background revalidation, which no caller waits for). */
  readonly signal: AbortSignal | undefined;
}

/** What the origin function resolves to. */
export interface OriginResponse {
  readonly status: number;
  readonly headers?: HeaderInput;
  readonly body?: Uint8Array | ArrayBuffer | string | null;
}

/** Performs the real call; throws (or rejects) when there is no response at all. */
export type Origin = (request: OriginRequest) => Promise<OriginResponse> | OriginResponse;

export interface HandleOptions {
  /**
   * Passed to the origin; aborting it ends the wait for the origin (or for a request this one
   * joined). An already-aborted signal fails the call at once.
   */
  signal?: AbortSignal;
  /** Names the operation in telemetry events. */
  operation?: string;
  /** For this call, the freshness of responses that state none (overrides the cache's option). */
  defaultTtlMs?: number;
}

const EMPTY_BODY = new Uint8Array(0);

/** The error a caller whose signal aborted gets: a Bulwark error as is, else CancelledError. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return isBulwarkError(reason) ? reason : new CancelledError(undefined, reason);
}

/** Waits for `promise`, or rejects as soon as `signal` aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
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

function toBody(body: OriginResponse['body']): Uint8Array {
  if (body === undefined || body === null) return EMPTY_BODY;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === 'string') return Buffer.from(body);
  throw new TypeError(
    `expected the origin's body to be a Uint8Array, an ArrayBuffer or a string, got ${describeValue(body)}`,
  );
}

/**
 * A status outside 100-599: RFC 9110 §15 has a client process it as a 5xx, so the cache counts it
 * as a failure whatever `isFailureResponse` says, and never stores it.
 */
export function isInvalidStatus(status: number): boolean {
  return status < 100 || status > 599;
}

/** Checks and normalises what the origin function resolved to. */
export function toReply(raw: unknown, requestTime: number, responseTime: number): OriginReply {
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError(
      `expected the origin to resolve to { status, headers, body }, got ${describeValue(raw)}`,
    );
  }
  const { status, headers, body } = raw as OriginResponse;
  // Any three digits can arrive on the wire; one outside 100-599 is the server's fault, handled
  // as a server error (isInvalidStatus), not the origin function's.
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 999) {
    throw new TypeError(
      `expected the origin's status to be an integer between 0 and 999, got ${describeValue(status)}`,
    );
  }
  return {
    status,
    headers: toHeaderRecord(headers),
    body: toBody(body),
    requestTime,
    responseTime,
  };
}
