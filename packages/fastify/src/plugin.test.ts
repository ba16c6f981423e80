import { Readable, Writable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { currentContext } from '@bulwark/correlation';
import type { IdempotencyEvent } from '@bulwark/idempotency';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@bulwark/testing';
import { type FastifyBulwarkOptions, bulwarkPlugin } from './plugin.js';

// The behaviour both adapters share runs in the adapter contract (contract.test.ts); these tests
// pin what is Fastify's own: the plugin's registration, its logger, bodies that arrive after
// onRequest, its error handler's hand-off, its onClose, and streamed payloads.

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const apps: FastifyInstance[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const close of closers.splice(0)) await close();
});

async function appWith(
  options: FastifyBulwarkOptions = {},
  fastifyOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions);
  apps.push(app);
  await app.register(bulwarkPlugin, options);
  return app;
}

async function listening(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('the plugin', () => {
  it('is a fastify-plugin for Fastify 5 named @bulwark/fastify, so its hooks apply app-wide', async () => {
    const meta = (bulwarkPlugin as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ fastify: '5.x', name: '@bulwark/fastify' });
    const app = Fastify();
    apps.push(app);
    await app.register(bulwarkPlugin);
    // Hooks of an encapsulated plugin would not reach routes outside it.
    app.get('/', async (request) => ({ id: request.bulwark?.correlationId }));
    const res = await app.inject({ url: '/', headers: { 'x-request-id': 'outer' } });
    expect(res.json()).toEqual({ id: 'outer' });
  });

  it('declares its request decorator up front, null until a request sets it', async () => {
    const app = await appWith({ correlation: false });
    expect(app.hasRequestDecorator('bulwark')).toBe(true);
    app.get('/', async (request) => ({ bulwark: request.bulwark }));
    expect((await app.inject('/')).json()).toEqual({ bulwark: null });
  });

  it('ignores the options Fastify’s register() reads, and refuses unknown ones', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(bulwarkPlugin, { prefix: '/x', logLevel: 'warn' } as FastifyBulwarkOptions);
    await app.ready();
    const bad = Fastify();
    void bad.register(bulwarkPlugin, { cors: true } as FastifyBulwarkOptions);
    await expect(bad.ready()).rejects.toThrow('unknown option "cors" for bulwark()');
    const wrong = Fastify();
    void wrong.register(bulwarkPlugin, { errorHandler: 'yes' } as unknown as FastifyBulwarkOptions);
    await expect(wrong.ready()).rejects.toThrow('expected errorHandler to be a boolean, got "yes"');
  });
});

describe('correlation', () => {
  it('keeps the context for a handler whose body arrived late, after onRequest', async () => {
    const app = await appWith();
    app.post('/', async (request) => ({ id: currentContext()?.correlationId, body: request.body }));
    const url = new URL(await listening(app));
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: {
            'content-type': 'application/json',
            'x-request-id': 'late',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => req.end('1}'), 20);
    });
    expect(JSON.parse(answer)).toEqual({ id: 'late', body: { a: 1 } });
  });

  it('binds the request logger to the correlation ID when logging is on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    const app = await appWith({}, { logger: { level: 'info', stream } });
    app.get('/', async (request) => {
      request.log.info('handling');
      return 'ok';
    });
    await app.inject({ url: '/', headers: { 'x-request-id': 'log-1' } });
    const handling = lines.find((l) => l.msg === 'handling');
    expect(handling).toMatchObject({ correlation_id: 'log-1' });
    expect(handling?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
      correlation_id: 'log-1',
    });
  });

  describe('in every log line of a request, Fastify’s own included', () => {
    interface Logged {
      url: string;
      lines: Array<Record<string, unknown>>;
      /** Resolves once a line matching `test` has been written. */
      written(test: (line: Record<string, unknown>) => boolean): Promise<void>;
    }

    async function loggedApp(): Promise<Logged> {
      const lines: Array<Record<string, unknown>> = [];
      let waiters: Array<{
        test: (line: Record<string, unknown>) => boolean;
        resolve: () => void;
      }> = [];
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
          lines.push(line);
          for (const waiter of waiters.filter((w) => w.test(line))) waiter.resolve();
          waiters = waiters.filter((w) => !w.test(line));
          callback();
        },
      });
      const app = await appWith({}, { logger: { level: 'info', stream } });
      app.get('/orders/:id', async (request) => {
        request.log.info('handling');
        return 'ok';
      });
      app.get('/fails', async () => {
        throw new Error('boom');
      });
      const written = (test: (line: Record<string, unknown>) => boolean) =>
        lines.some(test)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiters.push({ test, resolve }));
      return { url: await listening(app), lines, written };
    }

    /** The lines Fastify and the handler logged for the one request made. */
    async function linesOf(logged: Logged, res: Response): Promise<Array<Record<string, unknown>>> {
      await res.text();
      const reqId = logged.lines.find((l) => l.msg === 'incoming request')?.reqId;
      // "request completed" is logged when the response has finished, maybe after the client read it.
      await logged.written((l) => l.reqId === reqId && l.msg === 'request completed');
      return logged.lines.filter((l) => l.reqId === reqId);
    }

    it.each([
      [
        'a valid inbound ID',
        '/orders/1',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'handling', 'request completed'],
      ],
      [
        'a handler that throws',
        '/fails',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'boom', 'request completed'],
      ],
      [
        'a 404',
        '/nowhere',
        { 'x-request-id': 'order-7' },
        ['incoming request', 'Route GET:/nowhere not found', 'request completed'],
      ],
    ])('carries the echoed ID for %s', async (_name, path, headers, messages) => {
      const app = await loggedApp();
      const res = await fetch(app.url + path, { headers });
      const logged = await linesOf(app, res);
      expect(logged.map((l) => l.msg)).toEqual(messages);
      for (const line of logged) expect(line.correlation_id).toBe('order-7');
      expect(new Set(logged.map((l) => l.trace_id)).size).toBe(1);
    });

    it('keeps an application’s 404 handler, set before the plugin or after it', async () => {
      const lines: Array<Record<string, unknown>> = [];
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          callback();
        },
      });
      const before = Fastify({ logger: { level: 'info', stream } });
      apps.push(before);
      before.setNotFoundHandler(async (_request, reply) => reply.code(404).send('before'));
      await before.register(bulwarkPlugin);
      const res = await fetch(`${await listening(before)}/nowhere`);
      expect(await res.text()).toBe('before');

      const after = await appWith({}, { logger: { level: 'info', stream } });
      after.setNotFoundHandler(async (request, reply) => {
        request.log.info('not here');
        return reply.code(404).send('after');
      });
      const url = await listening(after);
      lines.length = 0;
      const answer = await fetch(`${url}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
      expect(await answer.text()).toBe('after');
      expect(lines.find((l) => l.msg === 'incoming request')?.correlation_id).toBe('lost-1');
      expect(lines.find((l) => l.msg === 'not here')?.correlation_id).toBe('lost-1');
    });

    it('carries a generated ID, never the raw header, when the inbound one is invalid', async () => {
      const app = await loggedApp();
      const invalid = 'x'.repeat(300);
      const res = await fetch(`${app.url}/orders/1`, { headers: { 'x-request-id': invalid } });
      const echoed = res.headers.get('x-request-id');
      expect(echoed).toMatch(UUID_V7);
      const logged = await linesOf(app, res);
      expect(logged.map((l) => l.msg)).toEqual([
        'incoming request',
        'handling',
        'request completed',
      ]);
      for (const line of logged) expect(line.correlation_id).toBe(echoed);
      expect(JSON.stringify(app.lines)).not.toContain(invalid);
    });
  });
});

describe('errors', () => {
  it('hands other errors on to Fastify’s handler', async () => {
    const app = await appWith();
    app.get('/', async () => {
      throw Object.assign(new Error('nope'), { statusCode: 418 });
    });
    const res = await fetch(await listening(app));
    expect(res.status).toBe(418);
    expect(await res.json()).toMatchObject({ message: 'nope' });
  });

  it('hands an unknown error to Fastify, whose 500 carries its message but never a stack', async () => {
    const app = await appWith();
    app.get('/', async () => {
      throw new Error('boom');
    });
    const res = await fetch(await listening(app));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'boom',
    });
    expect(text).not.toContain('plugin.test');
  });
});

describe('load shedding', () => {
  it('stops sampling when the app closes', async () => {
    const clock = new FakeClock();
    const app = await appWith({ clock, shedding: { maxEventLoopDelayMs: 100 } });
    await app.ready();
    expect(clock.pendingTimers).toBe(1);
    await app.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

// The Idempotency-Key behaviour both adapters share runs in the adapter contract; streamed
// payloads are Fastify's own.
describe('Idempotency-Key', () => {
  async function orders(): Promise<{ app: FastifyInstance; runs(): number }> {
    let runs = 0;
    const app = await appWith({ idempotency: { identity: 'shared' } });
    app.post('/stream', async (_request, reply) => {
      runs++;
      void reply.type('text/plain');
      return Readable.from(['one,', 'two,', 'three']);
    });
    return { app, runs: () => runs };
  }

  it('stores a streamed response whole and replays it', async () => {
    const o = await orders();
    const send = () =>
      o.app.inject({
        method: 'POST',
        url: '/stream',
        headers: { 'idempotency-key': 's' },
        payload: {},
      });
    expect((await send()).body).toBe('one,two,three');
    const replay = await send();
    expect(replay.body).toBe('one,two,three');
    expect(replay.headers['content-type']).toBe('text/plain');
    expect(o.runs()).toBe(1);
  });

  describe('when a request does not complete', () => {
    async function failing(options: { maxBodyBytes: number }) {
      const events: IdempotencyEvent[] = [];
      const waiting: Array<{ outcome: string; resolve: () => void }> = [];
      const runs = { bigStream: 0 };
      const app = await appWith({
        idempotency: {
          identity: 'shared',
          listener: (event) => {
            events.push(event);
            for (const w of waiting.splice(0)) {
              if (event.type === 'idempotency-completion' && event.outcome === w.outcome) {
                w.resolve();
              } else waiting.push(w);
            }
          },
          ...options,
        },
      });
      app.post('/big-stream', async (_request, reply) => {
        runs.bigStream++;
        void reply.code(201).type('text/plain');
        return Readable.from(['x'.repeat(1_000), 'x'.repeat(1_000), 'x'.repeat(48)]);
      });
      const url = await listening(app);
      const completion = (outcome: string) =>
        events.some((e) => e.type === 'idempotency-completion' && e.outcome === outcome)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiting.push({ outcome, resolve }));
      const send = (path: string) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
          body: '{}',
        });
      return { runs, completion, send };
    }

    // The contract runs the same with a body sent whole; a stream is captured apart.
    it('sends a streamed response larger than maxBodyBytes in full but does not store it', async () => {
      const app = await failing({ maxBodyBytes: 1_024 });
      const first = await app.send('/big-stream');
      expect((await first.text()).length).toBe(2_048);
      const again = await app.send('/big-stream');
      expect(again.headers.get('idempotent-replayed')).toBeNull();
      expect((await again.text()).length).toBe(2_048);
      await app.completion('too-large');
      expect(app.runs.bigStream).toBe(2);
    });
  });
});
