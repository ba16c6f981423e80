import type { IncomingHttpHeaders } from 'node:http';
import { FakeClock, settle } from '@bulwark/testing';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ChaosEvent, ChaosKind } from '../events.js';
import { chaosSwitch } from '../switch.js';
import { type ChaosHttpOptions, chaosHttp } from './chaos-http.js';
import { CutBody } from './cut-body.js';
import { SlowBody } from './slow-body.js';

const REQUESTS = 10_000;
const ORIGIN = 'http://127.0.0.1:8080';

/**
 * The interceptor over a dispatch that sends nothing: what each request met (a fault's kind, or
 * undefined when it went through untouched) is read from the events.
 */
function harness(options: ChaosHttpOptions) {
  const events: ChaosEvent[] = [];
  let forwarded = 0;
  const dispatch = chaosHttp({ ...options, listener: (event) => events.push(event) })(() => {
    forwarded++;
    return true;
  });
  const request = (
    method: Dispatcher.HttpMethod = 'GET',
    path = '/users/42',
  ): ChaosKind | undefined => {
    const before = events.length;
    dispatch({ origin: ORIGIN, path, method }, {});
    return events.length > before ? events[events.length - 1]!.kind : undefined;
  };
  return { events, request, forwarded: () => forwarded };
}

/** Records the calls a handler receives, by name, with what they carried. */
class Recorder implements Dispatcher.DispatchHandler {
  readonly calls: string[] = [];
  controller: Dispatcher.DispatchController | undefined = undefined;
  constructor(
    private readonly hooks: Partial<
      Record<string, (c: Dispatcher.DispatchController) => void>
    > = {},
  ) {}
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.calls.push('start');
    this.hooks.start?.(controller);
  }
  onResponseStart(
    c: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.calls.push(`response ${status} ${JSON.stringify(headers)}`);
    this.hooks.response?.(c);
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.calls.push(`data ${chunk.toString()}`);
    this.hooks.data?.(c);
  }
  onResponseEnd(): void {
    this.calls.push('end');
  }
  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.calls.push(`error ${(error as { code?: string }).code ?? error.message}`);
  }
}

/** undici's side of an exchange, as far as a handler can tell. */
class Upstream implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

describe('chaosHttp: which requests meet which fault', () => {
  const faults: ChaosHttpOptions = {
    statuses: [
      { rate: 0.1, status: 503 },
      { rate: 0.05, status: 429, retryAfter: 1 },
    ],
    resetBeforeHeaders: { rate: 0.02 },
    resetAfterHeaders: { rate: 0.03 },
    truncatedBody: { rate: 0.04 },
    slowBody: { rate: 0.06, chunkDelayMs: 10 },
  };

  it('gives each fault its own rate over 10,000 seeded requests (within 5 binomial sigmas)', () => {
    const { events, request, forwarded } = harness({ ...faults, seed: 11 });
    for (let i = 0; i < REQUESTS; i++) request();
    const count = (kind: ChaosKind, status?: number) =>
      events.filter(
        (e) => e.kind === kind && (status === undefined || ('status' in e && e.status === status)),
      ).length;
    const within = (observed: number, rate: number) =>
      expect(Math.abs(observed - REQUESTS * rate)).toBeLessThanOrEqual(
        5 * Math.sqrt(REQUESTS * rate * (1 - rate)),
      );
    within(count('http-status', 503), 0.1);
    within(count('http-status', 429), 0.05);
    within(count('reset-before-headers'), 0.02);
    within(count('reset-after-headers'), 0.03);
    within(count('truncated-body'), 0.04);
    within(count('slow-body'), 0.06);
    // What is answered here never reaches the dispatcher; the rest does, some of it wrapped.
    expect(forwarded()).toBe(REQUESTS - count('http-status') - count('reset-before-headers'));
  });

  it('replays the same faults on the same requests with the same seed, and others with another', () => {
    const run = (seed: number) => {
      const { request } = harness({ ...faults, seed });
      return Array.from({ length: 2_000 }, () => request());
    };
    expect(run(5)).toEqual(run(5));
    expect(run(6)).not.toEqual(run(5));
  });

  it('stops and starts at once when its switch flips, and draws nothing while off', () => {
    const sw = chaosSwitch();
    const straight = harness({ ...faults, seed: 3 });
    const paused = harness({ ...faults, seed: 3, enabled: sw });
    const expected = Array.from({ length: 300 }, () => straight.request());
    const got = Array.from({ length: 100 }, () => paused.request());
    sw.disable();
    expect(Array.from({ length: 50 }, () => paused.request())).toEqual(
      new Array(50).fill(undefined),
    );
    sw.enable();
    got.push(...Array.from({ length: 200 }, () => paused.request()));
    expect(got).toEqual(expected);
  });

  it('asks an enabled function with the method, origin and path, so chaos can be scoped', () => {
    const asked: unknown[] = [];
    const { request } = harness({
      statuses: [{ rate: 1 }],
      enabled: (args) => {
        asked.push(args);
        return args.method === 'GET';
      },
    });
    expect(request('GET', '/a')).toBe('http-status');
    expect(request('POST', '/b')).toBeUndefined();
    expect(asked).toEqual([
      { method: 'GET', origin: ORIGIN, path: '/a' },
      { method: 'POST', origin: ORIGIN, path: '/b' },
    ]);
  });

  it('leaves upgrades (CONNECT, WebSocket) alone', () => {
    let forwarded = 0;
    const dispatch = chaosHttp({ statuses: [{ rate: 1 }] })(() => {
      forwarded++;
      return true;
    });
    dispatch({ origin: ORIGIN, path: '/ws', method: 'GET', upgrade: 'websocket' }, {});
    expect(forwarded).toBe(1);
  });

  it('reports the method and origin, never the path, and names the operation as the client does', () => {
    const { events, request } = harness({
      name: 'rehearsal',
      statuses: [{ rate: 1, status: 503 }],
    });
    request('GET', '/users/42?token=secret');
    expect(events).toEqual([
      {
        type: 'chaos-injected',
        policy: 'chaos',
        name: 'rehearsal',
        operation: `GET ${ORIGIN}`,
        method: 'GET',
        origin: ORIGIN,
        kind: 'http-status',
        status: 503,
      },
    ]);
  });

  it('says which seed it runs on', () => {
    expect(chaosHttp({ seed: 99 }).seed).toBe(99);
    expect(Number.isInteger(chaosHttp().seed)).toBe(true);
    expect(chaosHttp({ random: Math.random }).seed).toBeUndefined();
  });
});

describe('chaosHttp: answers it makes up', () => {
  function answer(
    options: ChaosHttpOptions,
    handler: Recorder,
    method: Dispatcher.HttpMethod = 'GET',
  ) {
    const dispatch = chaosHttp({ seed: 1, ...options })(() => {
      throw new Error('must not reach the network');
    });
    return dispatch({ origin: ORIGIN, path: '/', method }, handler);
  }

  it('answers a status with its Retry-After and body, a tick after dispatch() returns', async () => {
    const handler = new Recorder();
    expect(
      answer({ statuses: [{ rate: 1, status: 429, retryAfter: 2, body: 'slow down' }] }, handler),
    ).toBe(true);
    expect(handler.calls).toEqual([]);
    await settle();
    expect(handler.calls).toEqual([
      'start',
      `response 429 ${JSON.stringify({
        'x-bulwark-chaos': 'http-status',
        'retry-after': '2',
        'content-type': 'text/plain; charset=utf-8',
        'content-length': '9',
      })}`,
      'data slow down',
      'end',
    ]);
  });

  it('answers a HEAD request without a body', async () => {
    const handler = new Recorder();
    answer({ statuses: [{ rate: 1, status: 503, body: 'down' }] }, handler, 'HEAD');
    await settle();
    expect(handler.calls.filter((c) => c.startsWith('data'))).toEqual([]);
    expect(handler.calls.at(-1)).toBe('end');
  });

  it('fails a reset before the headers with ECONNRESET after the start', async () => {
    const handler = new Recorder();
    answer({ resetBeforeHeaders: { rate: 1 } }, handler);
    await settle();
    expect(handler.calls).toEqual(['start', 'error ECONNRESET']);
  });

  it('holds the body while the handler is paused, and sends it on resume', async () => {
    const handler = new Recorder({ response: (c) => c.pause() });
    answer({ statuses: [{ rate: 1, body: 'later' }] }, handler);
    await settle();
    expect(handler.calls.some((c) => c.startsWith('data'))).toBe(false);
    expect(handler.controller!.paused).toBe(true);
    handler.controller!.resume();
    await settle();
    expect(handler.calls.slice(-2)).toEqual(['data later', 'end']);
  });

  it('tells the handler of its own abort, once, whether it aborts in a callback or while paused', async () => {
    const inCallback = new Recorder({ start: (c) => c.abort(new Error('given up')) });
    answer({ statuses: [{ rate: 1 }] }, inCallback);
    await settle();
    expect(inCallback.calls).toEqual(['start', 'error given up']);

    const whilePaused = new Recorder({ response: (c) => c.pause() });
    answer({ statuses: [{ rate: 1, body: 'never' }] }, whilePaused);
    await settle();
    whilePaused.controller!.abort(new Error('timed out'));
    whilePaused.controller!.abort(new Error('twice'));
    await settle();
    expect(whilePaused.calls.slice(2)).toEqual(['error timed out']);
    expect(whilePaused.controller!.aborted).toBe(true);
  });
});

describe('CutBody', () => {
  function cut(handler: Recorder, afterBytes: number, error = () => new Error('cut')) {
    const upstream = new Upstream();
    const body = new CutBody(handler, afterBytes, error);
    body.onRequestStart(upstream, {});
    return { body, upstream };
  }

  it('passes afterBytes of the body, then, a turn later, aborts the connection and fails the handler', async () => {
    const handler = new Recorder();
    const { body, upstream } = cut(handler, 6, () =>
      Object.assign(new Error('cut'), { code: 'ECONNRESET' }),
    );
    body.onResponseStart(upstream, 200, {}, 'OK');
    body.onResponseData(upstream, Buffer.from('abcd'));
    body.onResponseData(upstream, Buffer.from('efgh'));
    body.onResponseData(upstream, Buffer.from('ijkl'));
    expect(handler.calls.slice(2)).toEqual(['data abcd', 'data ef']);
    expect(upstream.aborted).toBe(false);
    await settle();
    expect(handler.calls.slice(2)).toEqual(['data abcd', 'data ef', 'error ECONNRESET']);
    expect(upstream.aborted).toBe(true);
    // undici then reports the abort the cut made: the handler has heard already.
    body.onResponseError(upstream, upstream.reason!);
    expect(handler.calls).toHaveLength(5);
  });

  it('cuts a body shorter than afterBytes at its end, keeping the connection', async () => {
    const handler = new Recorder();
    const { body, upstream } = cut(handler, 100);
    body.onResponseStart(upstream, 200, {}, 'OK');
    body.onResponseData(upstream, Buffer.from('short'));
    body.onResponseEnd(upstream, {});
    await settle();
    expect(handler.calls.slice(2)).toEqual(['data short', 'error cut']);
    expect(upstream.aborted).toBe(false);
  });

  it('fails the handler instead of ending it when the end comes before the break', async () => {
    const handler = new Recorder();
    const { body, upstream } = cut(handler, 2);
    body.onResponseStart(upstream, 200, {}, 'OK');
    body.onResponseData(upstream, Buffer.from('abcdef'));
    body.onResponseEnd(upstream, {});
    await settle();
    expect(handler.calls.slice(2)).toEqual(['data ab', 'error cut']);
  });

  it('breaks right after the headers with afterBytes 0, not after a 1xx', async () => {
    const handler = new Recorder();
    const { body, upstream } = cut(handler, 0);
    body.onResponseStart(upstream, 100, {}, 'Continue');
    await settle();
    expect(upstream.aborted).toBe(false);
    body.onResponseStart(upstream, 200, {}, 'OK');
    await settle();
    expect(handler.calls.slice(-1)).toEqual(['error cut']);
    expect(upstream.aborted).toBe(true);
  });

  it('lets the handler’s own abort stand, and breaks nothing after it', async () => {
    const handler = new Recorder({ data: (c) => c.abort(new Error('too large')) });
    const { body, upstream } = cut(handler, 2);
    body.onResponseStart(upstream, 200, {}, 'OK');
    body.onResponseData(upstream, Buffer.from('abcdef'));
    body.onResponseError(upstream, upstream.reason!);
    await settle();
    expect(handler.calls.slice(2)).toEqual(['data ab', 'error too large']);
  });
});

describe('SlowBody', () => {
  function slow(handler: Recorder, clock = new FakeClock()) {
    const upstream = new Upstream();
    const body = new SlowBody(handler, clock, 100, 4);
    body.onRequestStart(upstream, {});
    body.onResponseStart(upstream, 200, {}, 'OK');
    return { body, upstream, clock };
  }

  it('holds each chunk on the clock, pausing the socket meanwhile, then ends', async () => {
    const handler = new Recorder();
    const { body, upstream, clock } = slow(handler);
    body.onResponseData(upstream, Buffer.from('abcdefghij'));
    expect(upstream.paused).toBe(true);
    body.onResponseEnd(upstream, {});
    await clock.advance(99);
    expect(handler.calls.slice(2)).toEqual([]);
    await clock.advance(1);
    expect(handler.calls.slice(2)).toEqual(['data abcd']);
    await clock.advance(200);
    expect(handler.calls.slice(2)).toEqual(['data abcd', 'data efgh', 'data ij', 'end']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('asks the socket for more once the held chunks are out, unless the handler paused', async () => {
    const handler = new Recorder();
    const { body, upstream, clock } = slow(handler);
    body.onResponseData(upstream, Buffer.from('ab'));
    await clock.advance(100);
    expect(upstream.paused).toBe(false);

    body.onResponseData(upstream, Buffer.from('cd'));
    handler.controller!.pause();
    await clock.advance(100);
    expect(upstream.paused).toBe(true);
    handler.controller!.resume();
    expect(upstream.paused).toBe(false);
  });

  it('holds nothing back while the handler is paused, and goes on when it resumes', async () => {
    const handler = new Recorder({ data: (c) => c.pause() });
    const { body, upstream, clock } = slow(handler);
    body.onResponseData(upstream, Buffer.from('abcdefgh'));
    await clock.advance(500);
    expect(handler.calls.slice(2)).toEqual(['data abcd']);
    handler.controller!.resume();
    await clock.advance(100);
    expect(handler.calls.slice(2)).toEqual(['data abcd', 'data efgh']);
  });

  it('clears its timer and aborts the connection when the handler aborts', async () => {
    const handler = new Recorder();
    const { body, upstream, clock } = slow(handler);
    body.onResponseData(upstream, Buffer.from('abcdefgh'));
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('attempt timed out');
    handler.controller!.abort(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(upstream.reason).toBe(reason);
    body.onResponseError(upstream, reason);
    await clock.advance(1_000);
    expect(handler.calls.slice(2)).toEqual(['error attempt timed out']);
  });
});

describe('chaosHttp options', () => {
  it.each([
    [
      'an unknown option',
      { statusCodes: [] },
      TypeError,
      'unknown option "statusCodes" for chaosHttp(); did you mean "statuses"? expected one of',
    ],
    [
      'statuses that are not an array',
      { statuses: { rate: 1 } },
      TypeError,
      'expected statuses to be an array, got an object',
    ],
    [
      'a status rate above 1',
      { statuses: [{ rate: 2 }] },
      RangeError,
      'expected statuses[0].rate to be a finite number between 0 and 1, got 2',
    ],
    [
      'a NaN rate',
      { resetBeforeHeaders: { rate: NaN } },
      TypeError,
      'expected resetBeforeHeaders.rate to be a number between 0 and 1, got NaN',
    ],
    [
      'a status out of range',
      { statuses: [{ rate: 0.1, status: 99 }] },
      RangeError,
      'expected statuses[0].status to be an integer between 200 and 599, got 99',
    ],
    [
      'a negative Retry-After',
      { statuses: [{ rate: 0.1, retryAfter: -1 }] },
      RangeError,
      'expected statuses[0].retryAfter to be an integer >= 0, got -1',
    ],
    [
      'a body that is not text',
      { statuses: [{ rate: 0.1, body: 5 }] },
      TypeError,
      'expected statuses[0].body to be a string, got 5',
    ],
    [
      'a misspelt fault option',
      { truncatedBody: { rate: 0.1, afterByte: 3 } },
      TypeError,
      'unknown option "afterByte" for truncatedBody(); did you mean "afterBytes"? expected one of rate, afterBytes',
    ],
    [
      'a fault that is not an object',
      { resetAfterHeaders: 0.1 },
      TypeError,
      'expected resetAfterHeaders to be an object, got 0.1',
    ],
    [
      'negative afterBytes',
      { resetAfterHeaders: { rate: 0.1, afterBytes: -1 } },
      RangeError,
      'expected resetAfterHeaders.afterBytes to be an integer >= 0, got -1',
    ],
    [
      'a slow body without its delay',
      { slowBody: { rate: 0.1 } },
      TypeError,
      'expected slowBody.chunkDelayMs to be a number between 0 and 2147483647, got undefined',
    ],
    [
      'a negative chunk delay',
      { slowBody: { rate: 0.1, chunkDelayMs: -5 } },
      RangeError,
      'expected slowBody.chunkDelayMs to be a finite number between 0 and 2147483647, got -5',
    ],
    [
      'empty chunks',
      { slowBody: { rate: 0.1, chunkDelayMs: 5, chunkBytes: 0 } },
      RangeError,
      'expected slowBody.chunkBytes to be an integer >= 1, got 0',
    ],
    [
      'rates adding up to more than 1',
      { statuses: [{ rate: 0.6 }], resetBeforeHeaders: { rate: 0.5 } },
      RangeError,
      "expected the rates of chaosHttp()'s faults to add up to at most 1, got 1.1",
    ],
    [
      'a seed that is not an integer',
      { seed: 0.5 },
      RangeError,
      'expected seed to be an integer, got 0.5',
    ],
    [
      'enabled as a number',
      { enabled: 1 },
      TypeError,
      'expected enabled to be a boolean, a function or a chaosSwitch(), got 1',
    ],
    [
      'a clock without timers',
      { clock: {} },
      TypeError,
      'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
    ],
  ])('rejects %s, naming what it expected and what it got', (_what, options, Kind, message) => {
    expect(() => chaosHttp(options as ChaosHttpOptions)).toThrow(Kind);
    expect(() => chaosHttp(options as ChaosHttpOptions)).toThrow(message);
  });

  it('accepts rates whose decimal sum is 1 but whose binary one is a hair over', () => {
    expect(() =>
      chaosHttp({ statuses: [{ rate: 0.1 }, { rate: 0.2 }], truncatedBody: { rate: 0.7 } }),
    ).not.toThrow();
  });
});
