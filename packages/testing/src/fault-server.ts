import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that misbehaves on cue: latency, 5xx bursts, 429 with
 * Retry-After, connection resets before and after the headers, hangs, truncated bodies, slow
 * drip bodies and raw bytes that break HTTP itself. Each request takes the next behaviour from a
 * script (then a default), and the server records what it saw, so tests can prove at the
 * server's side what a client sent.
 *
 * Time on the server side (latency, drips) runs on an injectable clock, so a test with a fake
 * clock moves both sides of the conversation with one `advance()`.
 */

/** The timer part of a clock: `@bulwark/testing`'s `FakeClock` fits, and so does the real one. */
export interface ServerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: ServerClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The body of the default answer: `200 {"ok":true}`. */
const DEFAULT_BODY = '{"ok":true}';
/** The header a counting server reads to tell a retry of a handled request from a new one. */
const DEFAULT_IDEMPOTENCY_HEADER = 'idempotency-key';

/** Answers normally, after `delayMs` on the server's clock. */
export interface RespondFault {
  readonly type: 'respond';
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly delayMs?: number;
  /** Sends the body chunked, without a Content-Length. */
  readonly chunked?: boolean;
}

/** Reads the request, then resets the connection (RST) without a byte of response. */
export interface ResetBeforeHeadersFault {
  readonly type: 'reset-before-headers';
  readonly delayMs?: number;
}

/** Sends the status line, headers and `sentBytes` of a longer body, then resets the connection. */
export interface ResetAfterHeadersFault {
  readonly type: 'reset-after-headers';
  readonly status: number;
  readonly declaredBytes: number;
  readonly sentBytes: number;
  readonly delayMs?: number;
}

/** Never answers; the connection stays open until the client gives up or the server closes. */
export interface HangFault {
  readonly type: 'hang';
}

/** Declares `declaredBytes` of body, sends `sentBytes`, then closes the connection cleanly (FIN). */
export interface TruncatedBodyFault {
  readonly type: 'truncated-body';
  readonly status: number;
  readonly declaredBytes: number;
  readonly sentBytes: number;
  readonly delayMs?: number;
}

/** Sends the headers at once, then the body `chunk` by chunk, one every `intervalMs`. */
export interface DripFault {
  readonly type: 'drip';
  readonly status: number;
  readonly chunk: string;
  readonly chunks: number;
  readonly intervalMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Writes `bytes` on the connection as they are, bypassing node:http, then closes it (FIN): for
 * responses that break HTTP framing, and statuses node:http refuses to send.
 */
export interface RawFault {
  readonly type: 'raw';
  /** The whole response; a string is sent as latin1, one byte per character. */
  readonly bytes: string | Uint8Array;
  readonly delayMs?: number;
}

export type Fault =
  | RespondFault
  | ResetBeforeHeadersFault
  | ResetAfterHeadersFault
  | HangFault
  | TruncatedBodyFault
  | DripFault
  | RawFault;

/** Builders for the behaviours a script is made of. */
export const fault = {
  /** An answer with `status`, headers and a body (a string, bytes, or anything else as JSON). */
  respond(
    status = 200,
    options: {
      headers?: Record<string, string>;
      body?: unknown;
      delayMs?: number;
      chunked?: boolean;
    } = {},
  ): RespondFault {
    const { body, headers, delayMs, chunked } = options;
    const isRaw = typeof body === 'string' || body instanceof Uint8Array || body === undefined;
    return {
      type: 'respond',
      status,
      headers: isRaw ? headers : { 'content-type': 'application/json', ...headers },
      body: isRaw ? body : JSON.stringify(body),
      delayMs,
      chunked,
    };
  },
  /** `429 Too Many Requests` with `Retry-After: value` (sent exactly as given, garbage included). */
  rateLimited(retryAfter: string, status = 429): RespondFault {
    return { type: 'respond', status, headers: { 'retry-after': retryAfter } };
  },
  /** `count` server errors in a row (503 unless told otherwise). */
  burst(count: number, status = 503, headers?: Record<string, string>): RespondFault[] {
    return Array.from({ length: count }, () => ({ type: 'respond', status, headers }) as const);
  },
  /** The given behaviour, `ms` later on the server's clock. */
  latency<F extends RespondFault | ResetBeforeHeadersFault | ResetAfterHeadersFault | RawFault>(
    ms: number,
    inner: F,
  ): F {
    return { ...inner, delayMs: ms };
  },
  resetBeforeHeaders(): ResetBeforeHeadersFault {
    return { type: 'reset-before-headers' };
  },
  resetAfterHeaders(status = 200, declaredBytes = 1024, sentBytes = 16): ResetAfterHeadersFault {
    return { type: 'reset-after-headers', status, declaredBytes, sentBytes };
  },
  hang(): HangFault {
    return { type: 'hang' };
  },
  truncatedBody(status = 200, declaredBytes = 1024, sentBytes = 16): TruncatedBodyFault {
    return { type: 'truncated-body', status, declaredBytes, sentBytes };
  },
  /**
   * `bytes` written as they are, then FIN: conflicting Content-Length fields, Content-Length with
   * Transfer-Encoding, a status outside 100-599...
   *
   * @example
   * fault.raw('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nhi')
   */
  raw(bytes: string | Uint8Array): RawFault {
    return { type: 'raw', bytes };
  },
  drip(options: {
    chunk?: string;
    chunks: number;
    intervalMs: number;
    status?: number;
    headers?: Record<string, string>;
  }): DripFault {
    return {
      type: 'drip',
      status: options.status ?? 200,
      chunk: options.chunk ?? 'x',
      chunks: options.chunks,
      intervalMs: options.intervalMs,
      headers: options.headers,
    };
  },
};

/** One request as the server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target: path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** When the whole request had arrived, on the server's clock. */
  readonly at: number;
  /** Which connection carried it: 1 for the server's first, and so on. */
  readonly connection: number;
}

/** A received request and the behaviour it met. */
export interface RecordedRequest extends ReceivedRequest {
  readonly fault: Fault;
}

export interface FaultServerOptions {
  /** The clock latency and drips run on. Default: real time. */
  clock?: ServerClock;
  /** The behaviour once the script is used up. Default: `200 {"ok":true}`. */
  fallback?: Fault | ((request: ReceivedRequest) => Fault);
  /** The header that makes a retry of a handled request not count as a new effect. Default `idempotency-key`. */
  idempotencyHeader?: string;
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** Every request received so far, in order of arrival. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Requests the server acted on: those without an idempotency key, and the first with each
   * key. A retried request carrying a key seen before is not a new effect.
   */
  readonly effects: number;
  /** Connections open now. */
  readonly openConnections: number;
  /** Connections accepted since the start. */
  readonly totalConnections: number;
  /** Appends behaviours to the script: each request takes the next one. */
  script(...faults: ReadonlyArray<Fault | readonly Fault[]>): void;
  /** Resolves once `count` requests have arrived in full. */
  waitForRequests(count: number): Promise<void>;
  /** Resolves once no connection is open. */
  waitForIdle(): Promise<void>;
  /** Destroys every connection (a hanging one included), cancels its timers and stops listening. */
  close(): Promise<void>;
}

class FaultServerImpl implements FaultServer {
  origin = '';
  port = 0;
  readonly requests: RecordedRequest[] = [];
  effects = 0;
  openConnections = 0;
  totalConnections = 0;
  private readonly queue: Fault[] = [];
  private readonly keys = new Set<string>();
  private readonly timers = new Set<unknown>();
  private readonly sockets = new Set<Socket>();
  private readonly connectionIds = new WeakMap<Socket, number>();
  private requestWaiters: Array<{ count: number; resolve: () => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  readonly server: Server;

  constructor(
    private readonly clock: ServerClock,
    private readonly fallback: FaultServerOptions['fallback'],
    private readonly idempotencyHeader: string,
  ) {
    this.server = createServer((req, res) => this.receive(req, res));
    this.server.on('connection', (socket) => this.track(socket));
  }

  script(...faults: ReadonlyArray<Fault | readonly Fault[]>): void {
    for (const item of faults) {
      if (Array.isArray(item)) this.queue.push(...(item as readonly Fault[]));
      else this.queue.push(item as Fault);
    }
  }

  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.requestWaiters.push({ count, resolve }));
  }

  waitForIdle(): Promise<void> {
    if (this.openConnections === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.totalConnections++;
    this.openConnections++;
    this.connectionIds.set(socket, this.totalConnections);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.openConnections--;
      if (this.openConnections === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that resets mid-upload leaves nothing to answer.
    req.on('error', () => undefined);
    req.on('end', () => {
      const base: ReceivedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: this.clock.now(),
        connection: this.connectionIds.get(req.socket) ?? 0,
      };
      const next = this.queue.shift() ?? this.fallbackFor(base);
      const request: RecordedRequest = { ...base, fault: next };
      this.requests.push(request);
      this.countEffect(request);
      this.notifyRequests();
      this.act(next, res);
    });
  }

  private fallbackFor(request: ReceivedRequest): Fault {
    const fallback = this.fallback;
    if (fallback === undefined) return fault.respond(200, { body: DEFAULT_BODY });
    return typeof fallback === 'function' ? fallback(request) : fallback;
  }

  private countEffect(request: RecordedRequest): void {
    const key = request.headers[this.idempotencyHeader];
    if (typeof key !== 'string') {
      this.effects++;
    } else if (!this.keys.has(key)) {
      this.keys.add(key);
      this.effects++;
    }
  }

  private notifyRequests(): void {
    const count = this.requests.length;
    const ready = this.requestWaiters.filter((w) => w.count <= count);
    if (ready.length === 0) return;
    this.requestWaiters = this.requestWaiters.filter((w) => w.count > count);
    for (const waiter of ready) waiter.resolve();
  }

  private later(ms: number | undefined, action: () => void): void {
    if (ms === undefined || ms <= 0) {
      action();
      return;
    }
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  private act(behaviour: Fault, res: ServerResponse): void {
    const socket = res.socket;
    switch (behaviour.type) {
      case 'respond':
        this.later(behaviour.delayMs, () => {
          const body = behaviour.body ?? '';
          const length = behaviour.chunked === true ? undefined : Buffer.byteLength(body);
          res.writeHead(behaviour.status, {
            ...(length === undefined ? {} : { 'content-length': String(length) }),
            ...behaviour.headers,
          });
          if (length === undefined) {
            res.write(body);
            res.end();
          } else {
            res.end(body);
          }
        });
        return;
      case 'reset-before-headers':
        this.later(behaviour.delayMs, () => socket?.resetAndDestroy());
        return;
      case 'reset-after-headers':
      case 'truncated-body':
        this.later(behaviour.delayMs, () => {
          res.writeHead(behaviour.status, { 'content-length': String(behaviour.declaredBytes) });
          // Once the partial body is flushed: RST for a reset, FIN for a truncation.
          res.write(Buffer.alloc(behaviour.sentBytes, 'x'), () => {
            if (behaviour.type === 'reset-after-headers') socket?.resetAndDestroy();
            else socket?.destroySoon();
          });
        });
        return;
      case 'hang':
        return;
      case 'raw': {
        const bytes = behaviour.bytes;
        this.later(behaviour.delayMs, () =>
          socket?.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes),
        );
        return;
      }
      case 'drip': {
        res.writeHead(behaviour.status, behaviour.headers);
        res.flushHeaders();
        let sent = 0;
        const tick = (): void => {
          if (res.destroyed) return;
          res.write(behaviour.chunk);
          if (++sent >= behaviour.chunks) res.end();
          else this.later(behaviour.intervalMs, tick);
        };
        this.later(behaviour.intervalMs, tick);
        return;
      }
    }
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.origin = `http://127.0.0.1:${this.port}`;
  }
}

/**
 * Starts a fault-injecting server on 127.0.0.1 and a free port. Close it in `afterEach`.
 *
 * @example
 * const server = await startFaultServer();
 * server.script(fault.burst(2, 503), fault.respond(200, { body: { id: 1 } }));
 */
export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const server = new FaultServerImpl(
    options.clock ?? realClock,
    options.fallback,
    (options.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER).toLowerCase(),
  );
  await server.listen();
  return server;
}
