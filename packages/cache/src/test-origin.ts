/**
 * Test-only: a scriptable origin server on 127.0.0.1 (a real node:http server on port 0) that
 * counts what reaches it, and an `Origin` function that calls it with undici. Not exported.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Origin } from './origin.js';
import { formatHttpDate } from './http-date.js';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Uint8Array;
  /** Destroys the socket instead of answering: a network error. */
  reset?: boolean;
}

export type Route = (req: SeenRequest) => Reply | Promise<Reply>;

export interface TestOrigin {
  /** `http://127.0.0.1:port` */
  readonly base: string;
  readonly seen: SeenRequest[];
  /** Requests that reached `path` (all paths when omitted). */
  count(path?: string): number;
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

/**
 * Starts the server. `now` dates every response (unless a route sets Date itself), so a fake
 * clock and the origin agree on the time.
 */
export async function startOrigin(now: () => number): Promise<TestOrigin> {
  const routes = new Map<string, Route>();
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: SeenRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
      };
      seen.push(entry);
      const handler = routes.get(entry.path.split('?')[0]!);
      void Promise.resolve(handler === undefined ? { status: 404 } : handler(entry)).then(
        (reply) => {
          if (reply.reset === true) {
            req.socket.destroy();
            return;
          }
          res.sendDate = false;
          const headers = { date: formatHttpDate(now()), ...reply.headers };
          res.writeHead(reply.status ?? 200, headers);
          res.end(reply.body);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    count: (path) =>
      path === undefined ? seen.length : seen.filter((r) => r.path === path).length,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An origin function that performs the request with undici. */
export const undiciOrigin: Origin = async ({ method, url, headers, signal }) => {
  const res = await request(url, { method: method as 'GET', headers, signal });
  const body = new Uint8Array(await res.body.arrayBuffer());
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { status: res.statusCode, headers: out, body };
};
