import type { Readable } from 'node:stream';
import type { CacheStatus } from '@bulwark/cache';

/** Response headers as undici parses them: lowercase names, repeated headers as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

const EMPTY = Buffer.alloc(0);

/** How the client's cache (the `cache` option) answered a request. */
export interface ResponseCacheInfo {
  /**
   * `hit` (fresh from the store, nothing sent), `miss` (from the origin), `revalidated` (a 304
   * confirmed the stored response), `stale`, `stale-while-revalidate`, `stale-if-error` (the
   * origin failed and a stale stored response stands in), `bypass` (not cacheable: another
   * method, a conditional request...), `only-if-cached-miss`.
   */
  readonly status: CacheStatus;
  /** The response's age in seconds, as its `Age` header says. */
  readonly age: number;
  /** True when the response is stale (`stale`, `stale-while-revalidate`, `stale-if-error`). */
  readonly stale: boolean;
  /** For `stale-if-error`: what failed (the error, or the 5xx status). */
  readonly failure: unknown;
}

/** A response of either kind, as the client handles it. */
export type ClientResponse = HttpResponse | HttpStreamResponse;

/** An answer whose body has been read in full (within `maxBodyBytes`). */
export class HttpResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    /** The body bytes (empty for HEAD, 204, 304...). */
    readonly body: Buffer,
    /** Which attempt got this answer, counting from 1; 0 when the cache answered without one. */
    readonly attempts: number,
    /** How the client's cache answered; `undefined` when the client has no cache. */
    readonly cache: ResponseCacheInfo | undefined = undefined,
  ) {}

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON; `undefined` for an empty body. Throws a `SyntaxError` for malformed JSON. */
  json<T = unknown>(): T {
    return (this.body.length === 0 ? undefined : JSON.parse(this.body.toString('utf8'))) as T;
  }

  /** The body bytes. */
  bytes(): Uint8Array {
    return this.body;
  }
}

/** A response built from the chunks one attempt received. */
export function bufferedResponse(
  status: number,
  statusText: string,
  headers: ResponseHeaders,
  chunks: Buffer[],
  size: number,
  attempt: number,
): HttpResponse {
  // One chunk (the common case for small bodies) needs no copy.
  const body =
    chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  return new HttpResponse(status, statusText, headers, body, attempt);
}

/**
 * An answer whose body is still arriving: returned by `client.stream()`. The body is limited to
 * `maxBodyBytes` too (the stream fails with a `BodyTooLargeError`). Read it, or destroy it, so
 * the connection goes back to the pool.
 */
export class HttpStreamResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    readonly body: Readable,
    readonly attempts: number,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Reads the rest of the body. */
  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    const bytes = await this.bytes();
    return (bytes.length === 0 ? undefined : JSON.parse(bytes.toString('utf8'))) as T;
  }
}
