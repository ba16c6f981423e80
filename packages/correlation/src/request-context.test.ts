import { Readable, Transform, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises';
import { EventEmitter } from 'node:events';
import { pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import {
  type RequestContext,
  createRequestContext,
  currentContext,
  remainingMs,
  runWithContext,
  withBaggage,
} from './request-context.js';
import { contextFromHeaders } from './propagator.js';
import { RANDOM_FLAG, SAMPLED_FLAG } from './traceparent.js';

const idNow = () => currentContext()?.correlationId;
const ctx = (correlationId: string) => createRequestContext({ correlationId });

describe('runWithContext and currentContext', () => {
  it('has no context outside a request', () => {
    expect(currentContext()).toBeUndefined();
  });

  it('keeps the context across awaits', async () => {
    const context = ctx('await-1');
    const seen = await runWithContext(context, async () => {
      const ids = [idNow()];
      await Promise.resolve();
      ids.push(idNow());
      await immediate();
      ids.push(idNow());
      return ids;
    });
    expect(seen).toEqual(['await-1', 'await-1', 'await-1']);
    expect(currentContext()).toBeUndefined();
  });

  it('keeps the context in timer, immediate, nextTick and microtask callbacks', async () => {
    const seen: Array<string | undefined> = [];
    await runWithContext(ctx('timers-1'), () => {
      return new Promise<void>((resolve) => {
        let left = 4;
        const done = () => {
          seen.push(idNow());
          if (--left === 0) resolve();
        };
        setTimeout(done, 0);
        setImmediate(done);
        process.nextTick(done);
        queueMicrotask(done);
      });
    });
    expect(seen).toEqual(['timers-1', 'timers-1', 'timers-1', 'timers-1']);
  });

  it('keeps the context through a stream pipeline', async () => {
    const seen: Array<string | undefined> = [];
    await runWithContext(ctx('stream-1'), async () => {
      const upper = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          seen.push(idNow());
          callback(null, chunk.toString().toUpperCase());
        },
      });
      const sink = new Writable({
        write(_chunk, _encoding, callback) {
          seen.push(idNow());
          callback();
        },
      });
      await streamPipeline(Readable.from(['a', 'b', 'c']), upper, sink);
    });
    expect(seen).toHaveLength(6);
    expect(new Set(seen)).toEqual(new Set(['stream-1']));
  });

  it('keeps the context in event listeners of an emitter created inside the request', async () => {
    const seen = await runWithContext(ctx('events-1'), async () => {
      const emitter = new EventEmitter();
      const got = new Promise<string | undefined>((resolve) =>
        emitter.once('ready', () => resolve(idNow())),
      );
      setImmediate(() => emitter.emit('ready'));
      return got;
    });
    expect(seen).toBe('events-1');
  });

  it('shows every attempt of a retry the context, even though the test advances the clock outside it', async () => {
    const clock = new FakeClock();
    const policy = pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(100), clock }));
    const attempts: Array<string | undefined> = [];
    const call = runWithContext(ctx('retry-1'), () =>
      policy.execute(({ attempt }) => {
        attempts.push(idNow());
        if (attempt < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return idNow();
      }),
    );
    await clock.advance(100);
    await clock.advance(100);
    await expect(call).resolves.toBe('retry-1');
    expect(attempts).toEqual(['retry-1', 'retry-1', 'retry-1']);
  });

  it('never lets two concurrent retried requests see each other’s ID', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxAttempts: 4, backoff: constantBackoff(10), clock });
    const seen: Record<string, Array<string | undefined>> = { a: [], b: [] };
    const run = (id: 'a' | 'b', failures: number) =>
      runWithContext(ctx(id), () =>
        policy.execute(async ({ attempt }) => {
          seen[id]!.push(idNow());
          await Promise.resolve();
          seen[id]!.push(idNow());
          if (attempt <= failures) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
          return idNow();
        }),
      );
    const a = run('a', 3);
    const b = run('b', 1);
    for (let i = 0; i < 4; i++) await clock.advance(10);
    await expect(a).resolves.toBe('a');
    await expect(b).resolves.toBe('b');
    expect(seen.a).toEqual(Array(8).fill('a'));
    expect(seen.b).toEqual(Array(4).fill('b'));
  });

  it('keeps the context in hedged attempts started after a delay, whichever wins', async () => {
    const clock = new FakeClock();
    // A hedge as a hedging policy runs one: a second attempt after a delay, the first answer wins.
    async function hedged<T>(attempt: (n: number) => Promise<T>, hedgeAfterMs: number): Promise<T> {
      const second = (async () => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, hedgeAfterMs));
        return attempt(2);
      })();
      return Promise.any([attempt(1), second]);
    }
    const seen: Array<[string | undefined, number]> = [];
    const slowFirst = (n: number) =>
      new Promise<string | undefined>((resolve) => {
        seen.push([idNow(), n]);
        clock.setTimeout(() => resolve(`${n}`), n === 1 ? 500 : 10);
      }).then((winner) => `${idNow()}:${winner}`);
    const x = runWithContext(ctx('hedge-x'), () => hedged(slowFirst, 50));
    const y = runWithContext(ctx('hedge-y'), () => hedged(slowFirst, 50));
    await clock.advance(60);
    await expect(x).resolves.toBe('hedge-x:2');
    await expect(y).resolves.toBe('hedge-y:2');
    await clock.advance(500);
    expect(seen).toEqual([
      ['hedge-x', 1],
      ['hedge-y', 1],
      ['hedge-x', 2],
      ['hedge-y', 2],
    ]);
  });

  it('keeps the context in a hedge started from a real timer callback', async () => {
    const seen = await runWithContext(ctx('hedge-timer'), () =>
      Promise.any([
        new Promise<string | undefined>(() => undefined),
        new Promise<string | undefined>((resolve) => setTimeout(() => resolve(idNow()), 0)),
      ]),
    );
    expect(seen).toBe('hedge-timer');
  });

  it('never lets many interleaved requests see each other’s ID', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runWithContext(ctx(`req-${i}`), async () => {
          const ids: Array<string | undefined> = [];
          for (let step = 0; step < 5; step++) {
            ids.push(idNow());
            if ((i + step) % 2 === 0) await immediate();
            else await delay(0);
          }
          return ids;
        }),
      ),
    );
    results.forEach((ids, i) => expect(ids).toEqual(Array(5).fill(`req-${i}`)));
  });

  it('restores the outer context after a nested one', () => {
    runWithContext(ctx('outer'), () => {
      runWithContext(ctx('inner'), () => expect(idNow()).toBe('inner'));
      expect(idNow()).toBe('outer');
    });
  });

  it('is one store per process, shared by every installed copy of the package', () => {
    const key = Symbol.for('bulwark.correlation.storage');
    const store = (globalThis as Record<symbol, { getStore(): unknown }>)[key]!;
    const context = ctx('shared');
    runWithContext(context, () => expect(store.getStore()).toBe(context));
  });
});

describe('withBaggage', () => {
  it('adds baggage for the code it runs, leaving the outer context as it was', () => {
    const context = createRequestContext({ correlationId: 'b-1', baggage: { tenant: 'acme' } });
    runWithContext(context, () => {
      withBaggage({ user: 'u-9' }, () => {
        expect(currentContext()?.baggage).toEqual({ tenant: 'acme', user: 'u-9' });
        expect(idNow()).toBe('b-1');
      });
      expect(currentContext()?.baggage).toEqual({ tenant: 'acme' });
    });
  });

  it('throws outside a request context', () => {
    expect(() => withBaggage({ a: '1' }, () => undefined)).toThrow(
      new Error('withBaggage() needs a request context: call it inside runWithContext()'),
    );
  });

  it('refuses values that are not strings', () => {
    runWithContext(ctx('b-2'), () => {
      expect(() => withBaggage({ n: 5 as unknown as string }, () => undefined)).toThrow(
        new TypeError('expected baggage.n to be a string, got 5'),
      );
    });
  });
});

describe('remainingMs', () => {
  it('counts down to the deadline on the given clock and never goes negative', async () => {
    const clock = new FakeClock({ now: 1000 });
    const context = createRequestContext({ deadline: 1500 });
    expect(remainingMs(context, clock)).toBe(500);
    await clock.advance(200);
    expect(remainingMs(context, clock)).toBe(300);
    await clock.advance(1000);
    expect(remainingMs(context, clock)).toBe(0);
  });

  it('is Infinity without a deadline or outside a request', () => {
    expect(remainingMs(createRequestContext())).toBe(Infinity);
    expect(remainingMs()).toBe(Infinity);
  });

  it('reads the current context by default', () => {
    const clock = new FakeClock({ now: 0 });
    runWithContext(createRequestContext({ deadline: 250 }), () =>
      expect(remainingMs(undefined, clock)).toBe(250),
    );
  });
});

describe('createRequestContext', () => {
  it('makes a new correlation ID and a new unsampled trace with a random ID by default', () => {
    const context: RequestContext = createRequestContext();
    expect(context.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.trace).toMatchObject({
      parentId: undefined,
      flags: RANDOM_FLAG,
      tracestate: undefined,
    });
    expect(context.deadline).toBe(Infinity);
    expect(context.baggage).toEqual({});
  });

  it('takes a given ID, trace, deadline and baggage', () => {
    const trace = {
      traceId: 'a'.repeat(32),
      parentId: 'b'.repeat(16),
      flags: 1,
      tracestate: undefined,
    };
    const context = createRequestContext({
      correlationId: 'job-7',
      trace,
      deadline: 99,
      baggage: { queue: 'emails' },
    });
    expect(context).toEqual({
      correlationId: 'job-7',
      trace,
      deadline: 99,
      baggage: { queue: 'emails' },
    });
  });

  it('carries a signal when given one, and has none otherwise', () => {
    const controller = new AbortController();
    expect(createRequestContext({ signal: controller.signal }).signal).toBe(controller.signal);
    expect('signal' in createRequestContext()).toBe(false);
    expect(contextFromHeaders({}, { signal: controller.signal }).signal).toBe(controller.signal);
  });

  it('refuses a signal that is not an AbortSignal', () => {
    expect(() => createRequestContext({ signal: {} as AbortSignal })).toThrow(
      new TypeError('expected signal to be an AbortSignal, got an object'),
    );
    expect(() => contextFromHeaders({}, { signal: 'no' as never })).toThrow(
      new TypeError('expected signal to be an AbortSignal, got "no"'),
    );
  });

  it('marks a new trace sampled when asked to', () => {
    expect(createRequestContext({ sampled: true }).trace.flags).toBe(SAMPLED_FLAG | RANDOM_FLAG);
  });

  it.each([
    [
      { correlationId: '' },
      new TypeError(
        'expected correlationId to be 1 to 128 characters of [A-Za-z0-9._:-], got an empty string',
      ),
    ],
    [
      { correlationId: 7 },
      new TypeError('expected correlationId to be 1 to 128 characters of [A-Za-z0-9._:-], got 7'),
    ],
    [
      { correlationId: 'x'.repeat(129) },
      new RangeError(
        'expected correlationId to be 1 to 128 characters of [A-Za-z0-9._:-], got a string of 129 characters',
      ),
    ],
    [
      { correlationId: 'a\nb' },
      new RangeError(
        'expected correlationId to be 1 to 128 characters of [A-Za-z0-9._:-], got a string with other characters',
      ),
    ],
    [{ generateId: 1 }, new TypeError('expected generateId to be a function, got 1')],
    [{ sampled: 1 }, new TypeError('expected sampled to be a boolean, got 1')],
    [
      { deadline: '10' },
      new TypeError('expected deadline to be a number (Infinity for none), got "10"'),
    ],
    [{ baggage: [] }, new TypeError('expected baggage to be an object, got an array')],
    [
      { correlationID: 'abc' },
      new TypeError(
        'unknown option "correlationID" for createRequestContext(); did you mean "correlationId"? expected one of correlationId, trace, deadline, baggage, signal, generateId, sampled',
      ),
    ],
  ])('refuses %o', (options, error) => {
    expect(() => createRequestContext(options as never)).toThrow(error);
  });
});
