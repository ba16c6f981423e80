import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BodyTooLargeError, NetworkError } from './errors.js';
import {
  type HttpResponse,
  HttpStreamResponse,
  type ResponseHeaders,
  bufferedResponse,
} from './response.js';

/** What an attempt needs to know about its request. */
export interface AttemptOwner {
  readonly method: string;
  readonly origin: string;
  readonly maxBodyBytes: number;
  /** Hand the response over at the headers, with the body as a stream. */
  readonly streaming: boolean;
  /** Whether a response with this status will be retried (its body is then read, and dropped). */
  willRetryStatus(status: number): boolean;
}

/** Answers that carry no body whatever their Content-Length says (RFC 9110 §6.4.1). */
function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304;
}

/** undici's own argument errors are the caller's mistakes, not the network's. */
const INVALID_ARGUMENT = 'UND_ERR_INVALID_ARG';
/** undici's error for a body shorter than its Content-Length. */
const LENGTH_MISMATCH = 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
/** llhttp's code, and its reason (undici does not always set the code), for a message cut short. */
const EOF_CODE = 'HPE_INVALID_EOF_STATE';
const EOF_REASON = '(Invalid EOF state)';

function isParserError(error: Error): boolean {
  return error.name === 'HTTPParserError';
}

/**
 * llhttp's report of a message the connection's end cut short, when no Content-Length framed
 * it (a chunked body, with `connection: close`): a transient failure, like a short body.
 */
export function isCutShort(error: unknown): boolean {
  if (!(error instanceof Error) || !isParserError(error)) return false;
  return (error as { code?: unknown }).code === EOF_CODE || error.message.endsWith(EOF_REASON);
}

/**
 * The server's answer broke HTTP/1.1 framing: a bad status line, header or chunk, Content-Length
 * with Transfer-Encoding, two Content-Length values. undici reports a parse error among headers
 * that held a Content-Length as a length mismatch before any header reached us; after them, a
 * mismatch is a body cut short.
 */
function isMalformed(error: Error, committed: boolean): boolean {
  if (isParserError(error)) return !isCutShort(error);
  return (error as { code?: unknown }).code === LENGTH_MISMATCH && !committed;
}

/**
 * One attempt: an undici dispatch handler (the controller API of undici 7 and 8) that reads the
 * response into memory, or hands it over as a stream, and settles one promise.
 *
 * The client aborts an attempt through {@link Attempt.abort}: no AbortSignal is created per
 * request. An attempt aborted before undici started it aborts as soon as it starts.
 */
export class Attempt implements Dispatcher.DispatchHandler {
  readonly promise: Promise<HttpResponse | HttpStreamResponse>;
  /** True once the response headers have arrived, or a malformed answer did. */
  committed = false;
  private settled = false;
  /** The request and its response are over on the wire: ended, failed or aborted. */
  private done = false;
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private abortReason: Error | undefined = undefined;
  private resolve!: (response: HttpResponse | HttpStreamResponse) => void;
  private reject!: (error: unknown) => void;
  private statusCode = 0;
  private statusText = '';
  private headers: ResponseHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private stream: ResponseStream | undefined = undefined;

  constructor(
    private readonly owner: AttemptOwner,
    /** This attempt's number, counting from 1. */
    readonly number: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The response status, once the headers have arrived. */
  get status(): number | undefined {
    return this.committed ? this.statusCode : undefined;
  }

  /** Ends the attempt with `reason`: at once for the caller, and on the socket as soon as it can. */
  abort(reason: Error): void {
    if (this.done || (this.settled && this.stream === undefined)) return;
    this.done = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    if (this.stream !== undefined) this.stream.destroy(reason);
    else this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted while undici still had it queued: stop before a byte is sent.
    if (this.abortReason !== undefined) controller.abort(this.abortReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: ResponseHeaders,
    statusMessage?: string,
  ): void {
    // 1xx informational answers come before the real one.
    if (statusCode < 200 || this.done) return;
    this.committed = true;
    this.statusCode = statusCode;
    this.statusText = statusMessage ?? '';
    this.headers = headers;
    const declared = hasBody(this.owner.method, statusCode) ? headers['content-length'] : undefined;
    if (typeof declared === 'string' && declared.length > 0) {
      const bytes = Number(declared);
      if (bytes > this.owner.maxBodyBytes) {
        this.tooLarge(controller, bytes);
        return;
      }
    }
    if (this.owner.streaming && !this.owner.willRetryStatus(statusCode)) {
      this.stream = new ResponseStream(this);
      this.settled = true;
      this.resolve(
        new HttpStreamResponse(statusCode, this.statusText, headers, this.stream, this.number),
      );
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    if (this.size > this.owner.maxBodyBytes) {
      this.tooLarge(controller, undefined);
      return;
    }
    const stream = this.stream;
    if (stream !== undefined) {
      if (!stream.push(chunk)) controller.pause();
    } else if (!this.settled) {
      this.chunks.push(chunk);
    }
  }

  onResponseEnd(): void {
    this.done = true;
    if (this.stream !== undefined) {
      this.stream.push(null);
      return;
    }
    if (this.settled) return;
    this.settled = true;
    const { statusCode, statusText, headers, chunks, size } = this;
    this.chunks = [];
    this.resolve(bufferedResponse(statusCode, statusText, headers, chunks, size, this.number));
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.done) return;
    const { code } = error as { code?: unknown };
    if (
      code === LENGTH_MISMATCH &&
      this.committed &&
      !hasBody(this.owner.method, this.statusCode)
    ) {
      // undici holds even a 304 to its Content-Length, which there describes the representation
      // (RFC 9110 §8.6), not a body: the answer was whole at its headers.
      this.onResponseEnd();
      return;
    }
    this.done = true;
    let failure: Error = error;
    if (code !== INVALID_ARGUMENT) {
      const malformed = isMalformed(error, this.committed);
      // A malformed answer is still an answer: the request reached the server, which acted on it.
      if (malformed) this.committed = true;
      const { method, origin } = this.owner;
      failure = new NetworkError(method, origin, this.committed, error, malformed);
    }
    if (this.stream !== undefined) this.stream.destroy(failure);
    else this.fail(failure);
  }

  /** @internal The stream wants more. */
  resume(): void {
    this.controller?.resume();
  }

  /** @internal The caller destroyed the body stream before its end. */
  streamDestroyed(error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.abortReason = error ?? new Error('the response body stream was destroyed');
    this.controller?.abort(this.abortReason);
  }

  private tooLarge(controller: Dispatcher.DispatchController, declared: number | undefined): void {
    const error = new BodyTooLargeError(
      this.owner.method,
      this.owner.origin,
      this.owner.maxBodyBytes,
      declared,
    );
    // Reading the rest to keep the connection would defeat the limit: drop the connection.
    this.done = true;
    this.abortReason = error;
    controller.abort(error);
    if (this.stream !== undefined) this.stream.destroy(error);
    else this.fail(error);
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    this.reject(error);
  }
}

/**
 * A response body handed over as a stream, with backpressure through the dispatch controller.
 *
 * The body can fail (a reset mid-body, the size limit, the caller's signal) before the caller has
 * attached anything to it: `stream()` resolves at the headers, and the caller may read later. An
 * `'error'` event then would have no listener, and Node turns that into an uncaught exception
 * that can end the process. So, as node:http's `IncomingMessage` does, the stream emits `'error'`
 * only when someone listens; otherwise it closes with the error kept as its `errored` state, which
 * every read path reports (async iteration, `finished()`, `pipeline()`), and the first `'error'`
 * listener attached afterwards receives it.
 */
class ResponseStream extends Readable {
  constructor(private readonly attempt: Attempt) {
    super();
  }

  override _read(): void {
    this.attempt.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.readableEnded) this.attempt.streamDestroyed(error);
    if (error !== null && this.listenerCount('error') === 0) {
      emitToLateListener(this, error);
      callback(null);
      return;
    }
    callback(error);
  }
}

/** Emits `error` once someone listens for errors on `stream`, on the tick after they do. */
function emitToLateListener(stream: Readable, error: Error): void {
  const onNewListener = (event: string | symbol): void => {
    if (event !== 'error') return;
    stream.off('newListener', onNewListener);
    // The listener is added after 'newListener' returns; a stream emits on a later tick anyway.
    process.nextTick(() => {
      if (stream.listenerCount('error') > 0) stream.emit('error', error);
    });
  };
  stream.on('newListener', onNewListener);
}
