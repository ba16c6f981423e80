import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotency } from './idempotency.js';
import { memoryStore } from './stores/memory.js';
import { type HandlerResult, type TestApp, send, startApp } from './test-app.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function app(options: Parameters<typeof startApp>[0]): Promise<TestApp> {
  const started = await startApp(options);
  apps.push(started);
  return started;
}

function created(run: number): HandlerResult {
  return {
    status: 201,
    headers: { 'content-type': 'application/json', location: `/orders/${run}` },
    body: JSON.stringify({ id: run, item: 'book' }),
  };
}

/** Sends raw bytes and returns the status line's code. */
function rawRequest(
  port: number,
  head: string,
  body = '',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve({ status: Number(text.slice(9, 12)), text }));
    socket.on('error', reject);
    socket.end(
      `${head}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      'latin1',
    );
  });
}

describe('idempotency over HTTP (memory store)', () => {
  it('runs a POST retried 5 times concurrently with one key once: one answer, the rest 409', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const server = await app({
      idem: idempotency(),
      handler: async ({ run }) => {
        // Hold the first request until all five have been decided, so they truly overlap.
        await gate;
        return created(run);
      },
    });
    const answers = Promise.all(
      Array.from({ length: 5 }, () => send(server.url, { key: '"order-1"' })),
    );
    while (server.decisions.length < 5) await new Promise((resolve) => setImmediate(resolve));
    open();
    const results = await answers;
    expect(server.runs).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const original = results.find((r) => r.status === 201)!;
    for (const conflict of results.filter((r) => r.status === 409)) {
      expect(conflict.headers.get('content-type')).toBe('application/problem+json');
      expect(conflict.headers.get('retry-after')).toBe('1');
    }
    const replay = await send(server.url, { key: '"order-1"' });
    expect(replay.status).toBe(201);
    expect(replay.body).toBe(original.body);
    expect(replay.headers.get('location')).toBe('/orders/1');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(original.headers.get('idempotent-replayed')).toBeNull();
    expect(server.runs).toBe(1);
  });

  it('gives retries during the first run a 409 and later ones its answer, never a second run', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    const server = await app({
      idem: idempotency(),
      handler: async ({ run }) => {
        // Only the first run waits: a second run, if the key let one through, answers at once.
        if (run === 1) {
          running();
          await held;
        }
        return created(run);
      },
    });
    const first = send(server.url, { key: 'order-2' });
    await started;
    // These are answered while the first run is still inside its handler: they overlap it.
    const during = await Promise.all([
      send(server.url, { key: 'order-2' }),
      send(server.url, { key: 'order-2' }),
    ]);
    release();
    const original = await first;
    const after = await Promise.all([
      send(server.url, { key: 'order-2' }),
      send(server.url, { key: 'order-2' }),
    ]);
    expect(server.runs).toBe(1);
    expect(server.decisions).toEqual(['proceed', 'reject 409', 'reject 409', 'replay', 'replay']);
    expect(during.map((r) => r.status)).toEqual([409, 409]);
    expect(original.status).toBe(201);
    for (const replay of after) {
      expect(`${replay.status} ${replay.body}`).toBe(`${original.status} ${original.body}`);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    }
  });

  it('answers 422 to the same key with a different payload, without running the handler', async () => {
    const server = await app({ idem: idempotency(), handler: async ({ run }) => created(run) });
    expect((await send(server.url, { key: '"k"' })).status).toBe(201);
    const mismatch = await send(server.url, { key: '"k"', body: '{"item":"pen","qty":1}' });
    expect(mismatch.status).toBe(422);
    expect(mismatch.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(mismatch.body)).toMatchObject({
      status: 422,
      title: 'Idempotency-Key is already used',
    });
    expect((await send(server.url, { key: '"k"', path: '/orders?rush=1' })).status).toBe(422);
    expect(server.runs).toBe(1);
  });

  it('never lets two callers with the same key see each other’s response', async () => {
    const server = await app({
      idem: idempotency(),
      handler: async ({ identity, run }) => ({ status: 201, body: `order ${run} for ${identity}` }),
    });
    const alice = await send(server.url, { key: '"shared"', user: 'alice' });
    const bob = await send(server.url, { key: '"shared"', user: 'bob' });
    expect(alice.body).toBe('order 1 for alice');
    expect(bob.body).toBe('order 2 for bob');
    expect((await send(server.url, { key: '"shared"', user: 'alice' })).body).toBe(
      'order 1 for alice',
    );
    expect((await send(server.url, { key: '"shared"', user: 'bob' })).body).toBe('order 2 for bob');
    expect(server.runs).toBe(2);
  });

  it('answers 400 problem+json to a keyless POST on a route that requires a key', async () => {
    const server = await app({
      idem: idempotency({ required: ({ path }) => path.startsWith('/payments') }),
      handler: async ({ run }) => created(run),
    });
    const missing = await send(server.url, { path: '/payments' });
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(missing.body)).toMatchObject({
      status: 400,
      title: 'Idempotency-Key is missing',
    });
    expect((await send(server.url)).status).toBe(201);
    expect(server.runs).toBe(1);
  });

  it('releases the key when the handler fails before answering, so a retry runs', async () => {
    const server = await app({
      idem: idempotency(),
      handler: async ({ run }) => {
        if (run === 1) throw new Error('database hiccup');
        return created(run);
      },
    });
    expect((await send(server.url, { key: '"k"' })).status).toBe(500);
    expect((await send(server.url, { key: '"k"' })).status).toBe(201);
    expect((await send(server.url, { key: '"k"' })).headers.get('idempotent-replayed')).toBe(
      'true',
    );
    expect(server.runs).toBe(2);
  });

  it('stores nothing for a 503 the handler answered, so a retry runs', async () => {
    const server = await app({
      idem: idempotency(),
      handler: async ({ run }) => (run === 1 ? { status: 503, body: 'busy' } : created(run)),
    });
    expect((await send(server.url, { key: '"k"' })).status).toBe(503);
    expect((await send(server.url, { key: '"k"' })).status).toBe(201);
  });
});

describe('idempotency over HTTP: hostile input', () => {
  it('answers 400 to a 100 KB key without echoing it or running the handler', async () => {
    const server = await app({
      idem: idempotency(),
      handler: async ({ run }) => created(run),
      maxHeaderSize: 256 * 1024,
    });
    const key = `"${'A'.repeat(100 * 1024)}"`;
    const answer = await send(server.url, { key });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({
      status: 400,
      detail: 'The Idempotency-Key header is longer than 256 characters.',
    });
    expect(answer.body).not.toContain('AAAA');
    expect(server.runs).toBe(0);
  });

  it('answers 400 to a key with control characters, whoever refuses it first', async () => {
    const server = await app({ idem: idempotency(), handler: async ({ run }) => created(run) });
    const head = (key: string): string =>
      `POST /orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nidempotency-key: ${key}`;
    // A tab is legal in a field value, so Node passes it on and the core refuses it.
    const tab = await rawRequest(server.port, head('"abc\tdef"'), '{}');
    expect(tab.status).toBe(400);
    expect(tab.text).toContain('application/problem+json');
    expect(tab.text).toContain('outside printable ASCII');
    expect(tab.text).not.toContain('abc');
    // Other control characters: Node's parser refuses the request before any code runs.
    const bell = await rawRequest(server.port, head('"abc\u0007def"'), '{}');
    expect(bell.status).toBe(400);
    expect(server.runs).toBe(0);
  });

  it('answers 400 to repeated Idempotency-Key fields', async () => {
    const server = await app({ idem: idempotency(), handler: async ({ run }) => created(run) });
    const answer = await rawRequest(
      server.port,
      'POST /orders HTTP/1.1\r\nhost: x\r\nidempotency-key: "a"\r\nidempotency-key: "b"',
      '{}',
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('more than one Idempotency-Key');
    expect(server.runs).toBe(0);
  });

  it('frees the key after a body that does not parse, so the corrected request runs', async () => {
    const server = await app({ idem: idempotency(), handler: async ({ run }) => created(run) });
    const broken = await send(server.url, { key: '"k"', body: '{"item": "book", qty' });
    expect(broken.status).toBe(400);
    expect(server.runs).toBe(0);
    const fixed = await send(server.url, { key: '"k"', body: '{"item":"book","qty":1}' });
    expect(fixed.status).toBe(201);
    expect(server.runs).toBe(1);
  });
});

describe('idempotency over HTTP: the memory store is bounded', () => {
  it('keeps working when more keys arrive than it holds', async () => {
    const server = await app({
      idem: idempotency({ store: memoryStore({ maxEntries: 2 }) }),
      handler: async ({ run }) => created(run),
    });
    for (const key of ['a', 'b', 'c']) expect((await send(server.url, { key })).status).toBe(201);
    expect((await send(server.url, { key: 'c' })).headers.get('idempotent-replayed')).toBe('true');
  });
});
