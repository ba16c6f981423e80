/**
 * Loopback helpers for tests: real servers on 127.0.0.1, requests that fetch() refuses to send,
 * and ways to wait for what a server saw instead of sleeping.
 */
import { type RequestListener, type Server, type ServerOptions, createServer } from 'node:http';
import { connect, isIPv4, isIPv6 } from 'node:net';

export interface Listening {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Where {@link listen} serves: a loopback address (127.0.0.0/8 or ::1) and a port. */
export interface ListenAt {
  /** Default `127.0.0.1`. Linux routes the whole of 127.0.0.0/8 to the loopback interface. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

/**
 * Serves `handler` on 127.0.0.1, port 0, or at the loopback address and port given: several
 * servers on one port at 127.0.0.2, 127.0.0.3... stand for the replicas a DNS name resolves to.
 */
export async function listen(
  handler: RequestListener,
  options: ServerOptions = {},
  at: ListenAt = {},
): Promise<Listening> {
  const host = at.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new RangeError(`expected a loopback address, got "${host}"`);
  const server = createServer(options, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function isLoopback(host: string): boolean {
  return (isIPv4(host) && host.startsWith('127.')) || host === '::1';
}

export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** Sends bytes as they are (latin1) and reads the answer until the server closes the connection. */
export function rawRequest(url: string, request: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      resolve({
        status: Number(head.split(' ')[1]),
        head,
        body: split === -1 ? '' : text.slice(split + 4),
      });
    });
    socket.write(Buffer.from(request, 'latin1'));
  });
}

/** A promise and its resolver, for handlers a test holds until it is ready. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves once `count` of `promises` have settled, however they settled: no polling. */
export function whenSettled(promises: readonly Promise<unknown>[], count: number): Promise<void> {
  return new Promise((resolve) => {
    let settled = 0;
    const one = () => {
      if (++settled === count) resolve();
    };
    for (const promise of promises) promise.then(one, one);
  });
}

/** Counts for {@link watchRequests}: each resolves once the server has seen that many in all. */
export interface RequestWatch {
  /** Requests that reached the server, counted after the app's own handler ran for them. */
  arrived(count: number): Promise<void>;
  /** Responses that closed (finished, or their client left), after the app's own close listeners. */
  closed(count: number): Promise<void>;
}

/**
 * Lets a test wait for what the server has seen instead of sleeping. Its listeners are added
 * after the app's, so by the time a count is reached the app has handled the event.
 */
export function watchRequests(server: Server): RequestWatch {
  const seen = { arrived: 0, closed: 0 };
  const waiters: Array<{ kind: keyof typeof seen; count: number; resolve: () => void }> = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (seen[waiter.kind] >= waiter.count) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };
  server.on('request', (_req, res) => {
    seen.arrived++;
    res.once('close', () => {
      seen.closed++;
      check();
    });
    check();
  });
  const wait = (kind: keyof typeof seen) => (count: number) =>
    new Promise<void>((resolve) => {
      waiters.push({ kind, count, resolve });
      check();
    });
  return { arrived: wait('arrived'), closed: wait('closed') };
}
