import type { ServerResponse } from 'node:http';
import type { IdempotencyClaim } from '@bulwark/idempotency';
import type { Answer } from '@bulwark/server/internal';

/** Writes a whole answer that did not come from the routes (a replay or a refusal). */
export function send(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string | readonly string[]>>,
  body: string | Buffer,
): void {
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name] as string | string[]);
  res.end(body);
}

/** Writes one of the stack's answers (an idempotent replay, a refusal) as it is. */
export function sendAnswer(res: ServerResponse, answer: Answer): void {
  send(res, answer.statusCode, answer.headers, answer.body);
}

type Chunk = string | Uint8Array;

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  return chunk instanceof Uint8Array ? Buffer.from(chunk) : undefined;
}

/**
 * Collects what the routes write, and stores it under the claimed key before the response
 * ends: a client that retries as soon as it has the answer then finds it stored, not in progress.
 * A response whose client leaves before it ends frees the key (the handler may not have finished);
 * one larger than the claim's `maxBodyBytes` is sent in full but not kept.
 */
export function captureResponse(res: ServerResponse, claim: IdempotencyClaim): void {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  let ended = false;
  const collect = (bytes: Buffer | undefined): void => {
    if (bytes === undefined || chunks === undefined) return;
    size += bytes.byteLength;
    // Past the limit nothing more is buffered: the response will not be stored anyway.
    if (size > claim.maxBodyBytes) chunks = undefined;
    else chunks.push(bytes);
  };
  // The originals are always called with the response as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = res.write;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const end = res.end;
  res.once('close', () => {
    if (!ended) void claim.release('client-closed');
  });
  res.write = function (this: ServerResponse, chunk: Chunk, ...rest: unknown[]) {
    collect(toBuffer(chunk, rest[0]));
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (typeof args[0] !== 'function') collect(toBuffer(args[0], args[1]));
    ended = true;
    res.write = write;
    res.end = end;
    const status = this.statusCode;
    const settled =
      chunks === undefined
        ? claim.release('too-large')
        : claim.complete({ status, headers: this.getHeaders(), body: Buffer.concat(chunks) });
    void settled.then(() => (end as (...a: unknown[]) => ServerResponse).apply(this, args));
    return this;
  } as ServerResponse['end'];
}
