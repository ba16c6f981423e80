import { FakeClock } from '@bulwark/testing';
import { EventEmitter } from 'node:events';
import {
  Agent,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HealthEvent } from './events.js';
import { type GracefulShutdownOptions, gracefulShutdown } from './graceful-shutdown.js';
import { healthRegistry } from './health-registry.js';

interface Held {
  readonly path: string;
  readonly res: ServerResponse;
}

interface Harness {
  readonly server: Server;
  readonly port: number;
  /** Resolves with the next request that the handler holds (paths starting /hold). */
  nextHeld(): Promise<Held>;
  readonly log: string[];
}

const servers: Server[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

async function harness(): Promise<Harness> {
  const waiting: Array<(held: Held) => void> = [];
  const queued: Held[] = [];
  const log: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    res.once('finish', () => log.push(`finish ${path}`));
    if (path.startsWith('/hold')) {
      const held = { path, res };
      const waiter = waiting.shift();
      if (waiter !== undefined) waiter(held);
      else queued.push(held);
      return;
    }
    res.end(`done ${path}`);
  });
  server.on('close', () => log.push('server closed'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    log,
    nextHeld: () => {
      const held = queued.shift();
      if (held !== undefined) return Promise.resolve(held);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(port: number, path: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function setup(
  h: Harness,
  options: Partial<GracefulShutdownOptions> = {},
): {
  clock: FakeClock;
  signals: EventEmitter;
  events: HealthEvent[];
  shutdown: ReturnType<typeof gracefulShutdown>;
} {
  const clock = new FakeClock();
  const signals = new EventEmitter();
  const events: HealthEvent[] = [];
  const shutdown = gracefulShutdown({
    server: h.server,
    signalSource: signals,
    clock,
    readinessDelayMs: 5_000,
    drainTimeoutMs: 10_000,
    listener: (e) => events.push(e),
    ...options,
  });
  return { clock, signals, events, shutdown };
}

describe('gracefulShutdown', () => {
  it('on SIGTERM fails readiness first, keeps serving for the delay, then drains in-flight requests before closing', async () => {
    const h = await harness();
    const registry = healthRegistry();
    registry.register({ name: 'db', check: () => 'pass' });
    const onShutdown = vi.fn(() => {
      h.log.push('onShutdown');
    });
    const { clock, signals, shutdown } = setup(h, { registry, onShutdown });

    const inFlight = get(h.port, '/hold/a');
    const held = await h.nextHeld();
    expect(shutdown.inFlight).toBe(1);
    expect((await registry.readiness()).status).toBe('pass');

    signals.emit('SIGTERM');
    expect(shutdown.state).toBe('failing-readiness');
    expect((await registry.readiness()).httpStatus).toBe(503);

    // Load balancers have not noticed yet: new connections are still served.
    await clock.advance(4_999);
    expect((await get(h.port, '/during-delay')).body).toBe('done /during-delay');
    expect(h.server.listening).toBe(true);

    await clock.advance(1);
    expect(shutdown.state).toBe('draining');
    expect(h.server.listening).toBe(false);
    await expect(get(h.port, '/after-close')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    let finished = false;
    const done = shutdown.shutdown().then((result) => {
      finished = true;
      return result;
    });
    await clock.advance(5_000);
    expect(finished).toBe(false);
    expect(h.log).not.toContain('server closed');

    held.res.end('finished a');
    const reply = await inFlight;
    expect(reply).toMatchObject({ status: 200, body: 'finished a' });
    const result = await done;
    expect(result).toEqual({ reason: 'SIGTERM', forced: false, durationMs: 10_000 });
    expect(shutdown.state).toBe('closed');
    expect(h.log).toEqual([
      'finish /during-delay',
      'finish /hold/a',
      'server closed',
      'onShutdown',
    ]);
    expect(onShutdown).toHaveBeenCalledWith({ reason: 'SIGTERM', forced: false });
  });

  it('tells an in-flight response to close its connection once the drain has begun', async () => {
    const h = await harness();
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const { clock, signals } = setup(h);
    const inFlight = get(h.port, '/hold/a', agent);
    const held = await h.nextHeld();
    signals.emit('SIGTERM');
    await clock.advance(5_000);
    held.res.end('ok');
    expect((await inFlight).headers.connection).toBe('close');
  });

  it('closes a kept-alive connection whose streamed response ends during the drain', async () => {
    const h = await harness();
    h.server.keepAliveTimeout = 600_000;
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const { clock, signals, shutdown } = setup(h);
    const streamed = get(h.port, '/hold/stream', agent);
    const held = await h.nextHeld();
    held.res.writeHead(200, { 'content-type': 'text/plain' });
    held.res.write('part 1, ');
    signals.emit('SIGTERM');
    await clock.advance(5_000);
    held.res.end('part 2');
    expect((await streamed).body).toBe('part 1, part 2');
    const result = await shutdown.shutdown();
    expect(result.forced).toBe(false);
    expect(result.durationMs).toBe(5_000);
  });

  it('closes idle keep-alive connections instead of waiting for them to time out', async () => {
    const h = await harness();
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    const { signals, shutdown } = setup(h, { readinessDelayMs: 0 });
    expect((await get(h.port, '/a', agent)).body).toBe('done /a');
    signals.emit('SIGTERM');
    const result = await shutdown.shutdown();
    expect(result.forced).toBe(false);
    expect(h.server.listening).toBe(false);
  });

  it('destroys what is left when the drain timeout elapses', async () => {
    const h = await harness();
    const { clock, signals, shutdown, events } = setup(h, {
      readinessDelayMs: 1_000,
      drainTimeoutMs: 3_000,
    });
    const stuck = get(h.port, '/hold/stuck');
    const failure = expect(stuck).rejects.toMatchObject({ code: 'ECONNRESET' });
    await h.nextHeld();
    signals.emit('SIGTERM');
    await clock.advance(1_000);
    await clock.advance(2_999);
    expect(shutdown.state).toBe('draining');
    await clock.advance(1);
    const result = await shutdown.shutdown();
    expect(result).toEqual({ reason: 'SIGTERM', forced: true, durationMs: 4_000 });
    await failure;
    expect(events.map((e) => (e.type === 'shutdown' ? e.phase : e.type))).toEqual([
      'signal',
      'closing',
      'forced',
      'closed',
    ]);
    expect(events[2]).toEqual({
      type: 'shutdown',
      phase: 'forced',
      reason: 'SIGTERM',
      inFlight: 1,
    });
  });

  it('waits for work counted with trackRequest, once per release', async () => {
    const h = await harness();
    const { clock, shutdown } = setup(h, { trackRequests: false, readinessDelayMs: 0 });
    const release = shutdown.trackRequest();
    const other = shutdown.trackRequest();
    other();
    other();
    expect(shutdown.inFlight).toBe(1);
    let finished = false;
    const done = shutdown.shutdown('deploy').then(() => (finished = true));
    await clock.advance(9_000);
    expect(finished).toBe(false);
    release();
    await done;
    expect(shutdown.inFlight).toBe(0);
  });

  it('does not count requests itself when trackRequests is false', async () => {
    const h = await harness();
    const { shutdown } = setup(h, { trackRequests: false });
    const pending = get(h.port, '/hold/a');
    const held = await h.nextHeld();
    expect(shutdown.inFlight).toBe(0);
    held.res.end();
    await pending;
    shutdown.dispose();
  });

  it('shuts down once however often it is asked, and stops listening for signals after', async () => {
    const h = await harness();
    const onShutdown = vi.fn();
    const { signals, shutdown } = setup(h, {
      readinessDelayMs: 0,
      onShutdown,
      signals: ['SIGTERM', 'SIGINT'],
    });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);
    const first = shutdown.shutdown('manual');
    signals.emit('SIGINT');
    expect(shutdown.shutdown()).toBe(first);
    expect((await first).reason).toBe('manual');
    expect(onShutdown).toHaveBeenCalledTimes(1);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(h.server.listenerCount('request')).toBe(1);
  });

  it('stops listening without shutting down on dispose', async () => {
    const h = await harness();
    const { signals, shutdown } = setup(h);
    shutdown.dispose();
    signals.emit('SIGTERM');
    expect(shutdown.state).toBe('running');
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(h.server.listenerCount('request')).toBe(1);
  });

  it('listens on process by default, without a signal ever being sent', async () => {
    const h = await harness();
    const before = process.listenerCount('SIGTERM');
    const shutdown = gracefulShutdown({ server: h.server });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    shutdown.dispose();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('uses the close option instead of server.close', async () => {
    const h = await harness();
    const close = vi.fn(async () => {
      await new Promise((resolve) => h.server.close(resolve));
    });
    const { shutdown } = setup(h, { readinessDelayMs: 0, close });
    await shutdown.shutdown();
    expect(close).toHaveBeenCalledTimes(1);
    expect(h.server.listening).toBe(false);
  });

  it('reports what onShutdown threw instead of rejecting', async () => {
    const h = await harness();
    const error = new Error('pool already closed');
    const { shutdown } = setup(h, {
      readinessDelayMs: 0,
      onShutdown: () => Promise.reject(error),
    });
    const result = await shutdown.shutdown();
    expect(result.error).toBe(error);
    expect(shutdown.state).toBe('closed');
  });

  it('validates its options', async () => {
    const h = await harness();
    expect(() => gracefulShutdown({ server: {} as never })).toThrow(
      new TypeError('expected server to be a Node HTTP server'),
    );
    expect(() => gracefulShutdown({ server: h.server, readinessDelayMs: -1 })).toThrow(
      new RangeError('expected readinessDelayMs to be an integer >= 0, got -1'),
    );
    expect(() => gracefulShutdown({ server: h.server, drainTimeoutMs: 1.5 })).toThrow(
      new RangeError('expected drainTimeoutMs to be an integer >= 0, got 1.5'),
    );
    expect(() => gracefulShutdown({ server: h.server, signals: 'SIGTERM' as never })).toThrow(
      new TypeError('expected signals to be an array of signal names'),
    );
    expect(() => gracefulShutdown({ server: h.server, signalSource: {} as never })).toThrow(
      new TypeError('expected signalSource to have on() and off() methods'),
    );
    expect(() => gracefulShutdown({ server: h.server, registry: {} as never })).toThrow(
      new TypeError('expected registry to have a beginShutdown() method'),
    );
    expect(() => gracefulShutdown({ server: h.server, onShutdown: 1 as never })).toThrow(
      new TypeError('expected onShutdown to be a function, got 1'),
    );
  });
});

describe('gracefulShutdown options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    const server = createServer();
    expect(() => gracefulShutdown({ server, drainTimeout: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "drainTimeout" for gracefulShutdown(); did you mean "drainTimeoutMs"? expected one of server, registry, readinessDelayMs, drainTimeoutMs, signals, signalSource, trackRequests, close, onShutdown, clock, listener',
      ),
    );
  });
});
