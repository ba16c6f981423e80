import type { Readable } from 'node:stream';
import { describeValue } from '@bulwark/core/internal';

/** What a request body can be on one attempt: bytes, text, or a stream of bytes. */
export type BodyData =
  string | Uint8Array | Readable | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/**
 * A request body. Strings and bytes are sent again as they are on a retry. A stream can be read
 * once: pass a factory (`() => createReadStream(path)`), called once per attempt, to make a
 * streamed request retryable.
 */
export type RequestBody = BodyData | (() => BodyData);

/** What undici's dispatch accepts (its types omit async iterables, which it takes). */
export type DispatchBody = string | Uint8Array | Readable | null;

function isStreamLike(value: object): boolean {
  return (
    typeof (value as { pipe?: unknown }).pipe === 'function' ||
    typeof (value as { getReader?: unknown }).getReader === 'function' ||
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function checkBodyData(value: unknown, what: string): asserts value is BodyData {
  if (typeof value === 'string' || value instanceof Uint8Array) return;
  if (typeof value === 'object' && value !== null && isStreamLike(value)) return;
  throw new TypeError(
    `expected ${what} to be a string, a Uint8Array, a stream or an async iterable, got ${describeValue(value)}`,
  );
}

/** A request body, ready to hand out once per attempt. */
export class BodySource {
  private used = false;

  private constructor(
    private readonly value: BodyData | undefined,
    private readonly factory: (() => BodyData) | undefined,
    /** False for a one-shot stream: such a body can go out once. */
    readonly replayable: boolean,
  ) {}

  static readonly none = new BodySource(undefined, undefined, true);

  /** Checks and classifies a caller's body; `json` wins when both are given (checked by the caller). */
  static from(body: RequestBody | undefined): BodySource {
    if (body === undefined || body === null) return BodySource.none;
    if (typeof body === 'function') return new BodySource(undefined, body, true);
    checkBodyData(body, 'body');
    const oneShot = typeof body !== 'string' && !(body instanceof Uint8Array);
    return new BodySource(body, undefined, !oneShot);
  }

  /** A body known to be text or bytes. */
  static bytes(data: string | Uint8Array): BodySource {
    return new BodySource(data, undefined, true);
  }

  /** The body for the next attempt. A one-shot stream is handed out once, then `undefined`. */
  next(): DispatchBody | undefined {
    if (this.factory !== undefined) {
      const data = this.factory();
      checkBodyData(data, 'the value returned by the body factory');
      return data as DispatchBody;
    }
    if (this.value === undefined) return null;
    if (!this.replayable) {
      if (this.used) return undefined;
      this.used = true;
    }
    return this.value as DispatchBody;
  }
}
