/**
 * Test-only: a node:http app that uses the framework-neutral core the way an adapter would.
 * Not exported from the package.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Idempotency } from './idempotency.js';

export interface HandlerResult {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface TestApp {
  readonly url: string;
  readonly port: number;
  /** How many times the handler ran. */
  readonly runs: number;
  /** What `begin()` decided, request by request. */
  readonly decisions: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  idem: Idempotency;
  handler: (args: {
    body: unknown;
    identity: string | undefined;
    run: number;
  }) => Promise<HandlerResult>;
  /** Node's header limit is 16 KB; hostile-input tests raise it so the core sees the header. */
  maxHeaderSize?: number;
}

export async function startApp(options: TestAppOptions): Promise<TestApp> {
  const { idem, handler } = options;
  let runs = 0;
  const decisions: string[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const user = req.headers['x-user'];
    const identity = typeof user === 'string' ? user : undefined;
    const decision = await idem.begin({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      // headersDistinct keeps repeated fields apart; headers would join them with ", ".
      key: req.headersDistinct['idempotency-key'],
      identity,
      body: raw,
    });
    decisions.push(decision.kind === 'reject' ? `reject ${decision.status}` : decision.kind);
    if (decision.kind === 'reject') {
      res.writeHead(decision.status, decision.headers).end(decision.body);
      return;
    }
    if (decision.kind === 'replay') {
      const { status, headers, body } = decision.response;
      res.writeHead(status, headers).end(body);
      return;
    }
    const claim = decision.kind === 'proceed' ? decision : undefined;
    let parsed: unknown;
    try {
      parsed = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
    } catch {
      // Failed before the handler produced a response: free the key for a corrected retry.
      await claim?.release();
      res
        .writeHead(400, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ title: 'Body is not JSON', status: 400 }));
      return;
    }
    let result: HandlerResult;
    try {
      runs++;
      result = await handler({ body: parsed, identity, run: runs });
    } catch {
      await claim?.release();
      res.writeHead(500).end();
      return;
    }
    // Stored before it is sent, so a client that has the response always gets it replayed.
    await claim?.complete({ status: result.status, headers: result.headers, body: result.body });
    res.writeHead(result.status, result.headers).end(result.body);
  }

  const server: Server = createServer(
    options.maxHeaderSize === undefined ? {} : { maxHeaderSize: options.maxHeaderSize },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get runs() {
      return runs;
    },
    decisions,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

export async function send(
  url: string,
  options: { key?: string; user?: string; body?: string; method?: string; path?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  if (options.user !== undefined) headers['x-user'] = options.user;
  const response = await fetch(`${url}${options.path ?? '/orders'}`, {
    method: options.method ?? 'POST',
    headers,
    body: options.body ?? '{"item":"book","qty":1}',
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}
