import { FakeClock } from '@bulwark/testing';
import {
  BrokenCircuitError as CockatielBrokenCircuitError,
  BulkheadRejectedError as CockatielBulkheadRejectedError,
  ConsecutiveBreaker,
  ConstantBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, systemClock } from './clock.js';
import type { Context, ExecutionContext } from './context.js';
import {
  CancelledError,
  TimeoutError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
} from './errors.js';
import {
  type CallEvent,
  type PolicyEvent,
  type SuccessTemplate,
  type TelemetryListener,
  bindSuccess,
} from './events.js';
import { markFailedResult } from './failed-result.js';
import { type AnyPolicy, Pipeline, pipeline } from './pipeline.js';
import { BulwarkPolicy, type Next, isBulwarkPolicy } from './policy.js';

/** Records when calls enter and leave it, and what attempt each saw. */
class Tag extends BulwarkPolicy {
  constructor(
    readonly label: string,
    readonly log: string[],
    clock: Clock = systemClock,
  ) {
    super(clock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    this.log.push(`enter ${this.label}`);
    try {
      return await next.call(context);
    } catch (error: unknown) {
      this.log.push(`error ${this.label}`);
      throw error;
    } finally {
      this.log.push(`exit ${this.label}`);
    }
  }
}

/** Wraps the result in its label, so a result shows which layers it passed through. */
class Wrapper extends BulwarkPolicy {
  constructor(readonly label: string) {
    super(systemClock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    return `${this.label}(${String(await next.call(context))})`;
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pipeline() order', () => {
  it('runs the first policy outermost and the last innermost', async () => {
    const log: string[] = [];
    const policy = pipeline(new Tag('a', log), new Tag('b', log), new Tag('c', log));
    await policy.execute(() => log.push('fn'));
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'fn', 'exit c', 'exit b', 'exit a']);
  });

  it('returns the value through every layer', async () => {
    const policy = pipeline(new Wrapper('a'), new Wrapper('b'));
    await expect(policy.execute(() => 'x')).resolves.toBe('a(b(x))');
  });

  it('rejects with the function’s error, seen by each layer from the inside out', async () => {
    const log: string[] = [];
    const failure = new Error('boom');
    const policy = pipeline(new Tag('a', log), new Tag('b', log));
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(log).toEqual(['enter a', 'enter b', 'error b', 'exit b', 'error a', 'exit a']);
  });

  it('turns a synchronous throw from the function into a rejection', async () => {
    const policy = pipeline(new Tag('a', []));
    const result = policy.execute(() => {
      throw new Error('sync');
    });
    await expect(result).rejects.toThrow('sync');
  });

  it('keeps the order across repeated calls', async () => {
    const policy = pipeline(new Wrapper('a'), new Wrapper('b'));
    for (let i = 0; i < 3; i++) await expect(policy.execute(() => i)).resolves.toBe(`a(b(${i}))`);
  });

  it('is a Bulwark policy, with the policies it was given', () => {
    const a = new Tag('a', []);
    const policy = pipeline(a);
    expect(policy).toBeInstanceOf(Pipeline);
    expect(isBulwarkPolicy(policy)).toBe(true);
    expect(policy.policies).toEqual([a]);
  });
});

describe('nested pipelines', () => {
  it('keeps the overall order when a pipeline sits inside another', async () => {
    const log: string[] = [];
    const policy = pipeline(
      new Tag('a', log),
      pipeline(new Tag('b', log), new Tag('c', log)),
      new Tag('d', log),
    );
    await policy.execute(() => log.push('fn'));
    expect(log).toEqual([
      'enter a',
      'enter b',
      'enter c',
      'enter d',
      'fn',
      'exit d',
      'exit c',
      'exit b',
      'exit a',
    ]);
  });

  it('nests several levels deep', async () => {
    const policy = pipeline(
      new Wrapper('a'),
      pipeline(new Wrapper('b'), pipeline(new Wrapper('c')), new Wrapper('d')),
    );
    await expect(policy.execute(() => 'x')).resolves.toBe('a(b(c(d(x))))');
  });

  it('runs the right inner layers when one pipeline instance sits in two places', async () => {
    const shared = pipeline(new Wrapper('s'));
    const first = pipeline(new Wrapper('a'), shared, new Wrapper('b'));
    const second = pipeline(new Wrapper('c'), shared, new Wrapper('d'));
    await expect(first.execute(() => 'x')).resolves.toBe('a(s(b(x)))');
    await expect(second.execute(() => 'x')).resolves.toBe('c(s(d(x)))');
    await expect(first.execute(() => 'x')).resolves.toBe('a(s(b(x)))');
    await expect(shared.execute(() => 'x')).resolves.toBe('s(x)');
    await expect(second.execute(() => 'x')).resolves.toBe('c(s(d(x)))');
  });

  it('runs the right inner layers when one instance is used in two places at once', async () => {
    const shared = pipeline(new Wrapper('s'));
    const first = pipeline(new Wrapper('a'), shared, new Wrapper('b'));
    const second = pipeline(new Wrapper('c'), shared, new Wrapper('d'));
    const gate = deferred<string>();
    const results = Promise.all([
      first.execute(() => gate.promise),
      second.execute(() => gate.promise),
      first.execute(() => gate.promise),
      shared.execute(() => gate.promise),
    ]);
    gate.resolve('x');
    await expect(results).resolves.toEqual(['a(s(b(x)))', 'c(s(d(x)))', 'a(s(b(x)))', 's(x)']);
  });

  it('runs the right inner layers when one instance sits twice in the same pipeline', async () => {
    const shared = pipeline(new Wrapper('s'));
    const policy = pipeline(shared, new Wrapper('m'), shared);
    await expect(policy.execute(() => 'x')).resolves.toBe('s(m(s(x)))');
  });
});

describe('empty pipeline', () => {
  it('calls the function directly and returns its value', async () => {
    const fn = vi.fn((context: ExecutionContext) => context.attempt);
    await expect(pipeline().execute(fn)).resolves.toBe(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('returns a promise even when the function returns a plain value', () => {
    expect(pipeline().execute(() => 1)).toBeInstanceOf(Promise);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const result = pipeline().execute(() => {
      throw new Error('sync');
    });
    await expect(result).rejects.toThrow('sync');
  });

  it('is transparent when nested in another pipeline', async () => {
    const policy = pipeline(new Wrapper('a'), pipeline(), new Wrapper('b'));
    await expect(policy.execute(() => 'x')).resolves.toBe('a(b(x))');
    await expect(pipeline(new Wrapper('a'), pipeline()).execute(() => 'x')).resolves.toBe('a(x)');
  });

  it('takes the system clock when it has no Bulwark policy and no clock option', () => {
    expect(pipeline().clock).toBe(systemClock);
  });
});

describe('pipeline() options', () => {
  it('puts the operation name into the context the function receives', async () => {
    const operation = await pipeline({ operation: 'get-user' }, new Tag('a', [])).execute(
      (context) => context.operation,
    );
    expect(operation).toBe('get-user');
    await expect(
      pipeline({ operation: 'list' }).execute((context) => context.operation),
    ).resolves.toBe('list');
  });

  it('lets an outer pipeline’s operation win over a nested one’s', async () => {
    const inner = pipeline({ operation: 'inner' }, new Tag('a', []));
    await expect(inner.execute((c) => c.operation)).resolves.toBe('inner');
    const outer = pipeline({ operation: 'outer' }, inner);
    await expect(outer.execute((c) => c.operation)).resolves.toBe('outer');
    await expect(pipeline(inner).execute((c) => c.operation)).resolves.toBe('inner');
  });

  it('reports a call event with outcome success and the duration on its clock', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = pipeline(
      { operation: 'get-user', listener: (event) => events.push(event), clock },
      new Tag('a', []),
    );
    const result = policy.execute(
      () => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 250)),
    );
    await clock.advance(250);
    await expect(result).resolves.toBe('ok');
    expect(events).toEqual<CallEvent[]>([
      {
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: 'get-user',
        outcome: 'success',
        durationMs: 250,
        error: undefined,
      },
    ]);
  });

  it('reports a call event with outcome failure, the error and the duration', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const failure = new Error('down');
    const policy = pipeline({ listener: (event) => events.push(event), clock }, new Tag('a', []));
    const result = policy.execute(
      () => new Promise((_, reject) => clock.setTimeout(() => reject(failure), 40)),
    );
    const check = expect(result).rejects.toBe(failure);
    await clock.advance(40);
    await check;
    expect(events).toEqual<CallEvent[]>([
      {
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: undefined,
        outcome: 'failure',
        durationMs: 40,
        error: failure,
      },
    ]);
  });

  it('records a successful call through the listener fast path, with the operation each call has', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const recorded: Array<[string | undefined, number]> = [];
    const listener = Object.assign((event: PolicyEvent) => void events.push(event), {
      [bindSuccess]: (template: SuccessTemplate) => (durationMs: number) =>
        void recorded.push([template.operation, durationMs]),
    });
    const inner = pipeline({ operation: 'inner', listener, clock }, new Tag('a', []));
    const outer = pipeline({ operation: 'outer' }, inner);
    const slow = () => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 25));
    const calls = [inner.execute(slow), outer.execute(slow)];
    await clock.advance(25);
    await expect(Promise.all(calls)).resolves.toEqual(['ok', 'ok']);
    expect(recorded).toEqual([
      ['inner', 25],
      ['outer', 25],
    ]);
    // A failure is still a whole event: it carries the error.
    const failure = new Error('down');
    await expect(inner.execute(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(events).toMatchObject([{ type: 'call', outcome: 'failure', error: failure }]);
  });

  it('reports a value a policy returned but counted as a failure as a failed call, that value its error', async () => {
    const events: PolicyEvent[] = [];
    const listener = Object.assign((event: PolicyEvent) => void events.push(event), {
      [bindSuccess]: () => () => void events.push({ type: 'fast-success' } as never),
    });
    const failed = { status: 503 };
    markFailedResult(failed);
    const policy = pipeline({ listener }, new Tag('a', []));
    await expect(policy.execute(() => failed)).resolves.toBe(failed);
    await expect(policy.execute(() => ({ status: 503 }))).resolves.toEqual(failed);
    await expect(policy.execute(() => 1)).resolves.toBe(1);
    expect(events).toEqual([
      expect.objectContaining({ type: 'call', outcome: 'failure', error: failed }),
      { type: 'fast-success' },
      { type: 'fast-success' },
    ]);
  });

  it('reports call events for an empty pipeline too', async () => {
    const listener = vi.fn<TelemetryListener>();
    await pipeline({ listener }).execute(() => 1);
    expect(listener).toHaveBeenCalledWith(
      expect.objectContaining({ type: 'call', outcome: 'success' }),
    );
  });

  it('keeps the outcome when the listener throws', async () => {
    const listener = (): void => {
      throw new Error('exporter down');
    };
    await expect(pipeline({ listener }, new Tag('a', [])).execute(() => 'ok')).resolves.toBe('ok');
    const failure = new Error('real failure');
    await expect(
      pipeline({ listener }, new Tag('a', [])).execute(() => Promise.reject(failure)),
    ).rejects.toBe(failure);
  });

  it('reads no clock when there is no listener', async () => {
    const clock = new FakeClock();
    const now = vi.spyOn(clock, 'now');
    await pipeline({ clock }, new Tag('a', [], clock)).execute(() => 1);
    expect(now).not.toHaveBeenCalled();
  });

  it("takes the first Bulwark policy's clock when none is given", () => {
    const clock = new FakeClock();
    const policy = pipeline(retry(handleAll, { maxAttempts: 0 }), new Tag('a', [], clock));
    expect(policy.clock).toBe(clock);
  });

  it('prefers the clock option over its policies’ clocks', () => {
    const mine = new FakeClock();
    const policy = pipeline({ clock: mine }, new Tag('a', [], new FakeClock()));
    expect(policy.clock).toBe(mine);
  });

  it('accepts an empty options object', async () => {
    await expect(pipeline({}, new Wrapper('a')).execute(() => 'x')).resolves.toBe('a(x)');
  });
});

describe('pipeline() arguments', () => {
  const a = new Tag('a', []);

  it.each<[string, unknown[], string]>([
    [
      'a number first',
      [42],
      'expected pipeline argument 1 to be a policy or an options object, got 42',
    ],
    [
      'null first',
      [null],
      'expected pipeline argument 1 to be a policy or an options object, got null',
    ],
    [
      'an array first',
      [[a]],
      'expected pipeline argument 1 to be a policy or an options object, got an array',
    ],
    [
      'a string first',
      ['retry'],
      'expected pipeline argument 1 to be a policy or an options object, got "retry"',
    ],
    [
      'an object without execute() after a policy',
      [a, {}],
      'expected pipeline argument 2 to be a policy with an execute() method, got an object without execute()',
    ],
    [
      'undefined after a policy',
      [a, undefined],
      'expected pipeline argument 2 to be a policy with an execute() method, got undefined',
    ],
    [
      'a function after options and a policy',
      [{}, a, () => undefined],
      'expected pipeline argument 3 to be a policy with an execute() method, got a function',
    ],
    [
      'an execute that is not a function',
      [a, { execute: true }],
      'expected pipeline argument 2 to be a policy with an execute() method, got an object without execute()',
    ],
    [
      'a second options object',
      [{}, {}],
      'expected pipeline argument 2 to be a policy with an execute() method, got an object without execute()',
    ],
  ])('rejects %s with a TypeError', (_, args, message) => {
    expect(() => pipeline(...(args as AnyPolicy[]))).toThrow(new TypeError(message));
  });

  it('rejects a misspelt option and a clock that is not a Clock', () => {
    expect(() => pipeline({ operationName: 'x' } as never)).toThrow(
      new TypeError(
        'unknown option "operationName" for pipeline(); did you mean "operation"? expected one of operation, listener, clock',
      ),
    );
    expect(() => pipeline({ clock: {} as never })).toThrow(
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
      ),
    );
  });

  it('rejects an empty operation name', () => {
    expect(() => pipeline({ operation: '' })).toThrow(
      new TypeError('expected operation to be a non-empty string, got ""'),
    );
  });

  it('rejects an operation name that is not a string', () => {
    expect(() => pipeline({ operation: 42 as unknown as string })).toThrow(
      new TypeError('expected operation to be a non-empty string, got 42'),
    );
  });

  it('rejects an operation name over 256 characters', () => {
    expect(() => pipeline({ operation: 'o'.repeat(257) })).toThrow(
      new RangeError(
        `expected operation to be a string of at most 256 characters, got "${'o'.repeat(40)}…"`,
      ),
    );
  });

  it('rejects a listener that is not a function', () => {
    expect(() => pipeline({ listener: 'console' as unknown as TelemetryListener })).toThrow(
      new TypeError('expected listener to be a function, got "console"'),
    );
  });

  it('accepts a policy object whose execute is its only member', async () => {
    const minimal = {
      execute: <T>(fn: (context: { signal: AbortSignal }) => T, signal?: AbortSignal) =>
        Promise.resolve(fn({ signal: signal ?? new AbortController().signal })),
    } as unknown as AnyPolicy;
    await expect(pipeline(minimal).execute(() => 'ok')).resolves.toBe('ok');
  });
});

describe('pipeline() cancellation', () => {
  it('rejects with a CancelledError without calling the function when the caller already aborted', async () => {
    const controller = new AbortController();
    controller.abort('user left');
    const fn = vi.fn();
    const log: string[] = [];
    const result = pipeline(new Tag('a', log)).execute(fn, controller.signal);
    await expect(result).rejects.toBeInstanceOf(CancelledError);
    const error = (await result.catch((e: unknown) => e)) as CancelledError;
    expect(error.reason).toBe('user left');
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect(fn).not.toHaveBeenCalled();
    expect(log).toEqual([]);
  });

  it('rejects an empty pipeline the same way', async () => {
    const fn = vi.fn();
    await expect(pipeline().execute(fn, AbortSignal.abort())).rejects.toSatisfy(isCancelledError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects with the Bulwark error the caller aborted with', async () => {
    const reason = new TimeoutError(100);
    await expect(
      pipeline(new Tag('a', [])).execute(() => 1, AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
  });

  it('reports the rejection as a failed call when a listener is set', async () => {
    const events: PolicyEvent[] = [];
    const fn = vi.fn();
    const policy = pipeline({ listener: (event) => events.push(event) }, new Tag('a', []));
    await expect(policy.execute(fn, AbortSignal.abort())).rejects.toSatisfy(isCancelledError);
    expect(fn).not.toHaveBeenCalled();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'call', outcome: 'failure' });
    expect(isCancelledError((events[0] as CallEvent).error)).toBe(true);
  });
});

describe('cockatiel policies inside pipeline()', () => {
  it('runs a cockatiel retry around the layers inside it, mapping its 0-based attempt to 1-based', async () => {
    const log: string[] = [];
    const attempts: number[] = [];
    const policy = pipeline(
      new Tag('outer', log),
      retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) }),
      new Tag('inner', log),
    );
    const value = await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error(`attempt ${attempt}`);
      return 'done';
    });
    expect(value).toBe('done');
    expect(attempts).toEqual([1, 2, 3]);
    expect(log.filter((line) => line === 'enter outer')).toHaveLength(1);
    expect(log.filter((line) => line === 'enter inner')).toHaveLength(3);
  });

  it('shows attempt 1 when no retry is involved', async () => {
    const policy = pipeline(timeout(60_000, TimeoutStrategy.Aggressive), new Tag('a', []));
    await expect(policy.execute(({ attempt }) => attempt)).resolves.toBe(1);
  });

  it('gives up after the cockatiel retry’s attempts with the last error', async () => {
    const policy = pipeline(retry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(0) }));
    let calls = 0;
    await expect(
      policy.execute(() => {
        throw new Error(`failure ${++calls}`);
      }),
    ).rejects.toThrow('failure 2');
  });

  it("hands the function a cockatiel timeout's signal and rejects when it elapses", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const log: string[] = [];
    const policy = pipeline(
      new Tag('outer', log),
      timeout(100, TimeoutStrategy.Aggressive),
      new Tag('inner', log),
    );
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const result = policy.execute(({ signal }) => {
      seen = signal;
      return new Promise(() => undefined);
    }, caller.signal);
    const check = expect(result).rejects.toThrow('Operation timed out after 100ms');
    await vi.advanceTimersByTimeAsync(100);
    await check;
    expect(seen).not.toBe(caller.signal);
    expect(seen!.aborted).toBe(true);
    expect(log).toContain('exit outer');
  });

  it("aborts the function's signal when the caller aborts, through a cockatiel timeout", async () => {
    const caller = new AbortController();
    const policy = pipeline(timeout(60_000, TimeoutStrategy.Cooperative), new Tag('a', []));
    let seen: AbortSignal | undefined;
    const result = policy.execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(new Error('stopped')));
        }),
      caller.signal,
    );
    await vi.waitFor(() => expect(seen).toBeDefined());
    caller.abort();
    await expect(result).rejects.toThrow('stopped');
    expect(seen!.aborted).toBe(true);
  });

  it('lets Bulwark layers inside a cockatiel step see that step’s signal', async () => {
    const signals: AbortSignal[] = [];
    class SignalProbe extends BulwarkPolicy {
      constructor() {
        super(systemClock);
      }
      protected async run(context: Context, next: Next): Promise<unknown> {
        signals.push(context.signal);
        return await next.call(context);
      }
    }
    const policy = pipeline(
      new SignalProbe(),
      timeout(60_000, TimeoutStrategy.Aggressive),
      new SignalProbe(),
    );
    const fnSignal = await policy.execute(({ signal }) => signal);
    expect(signals).toHaveLength(2);
    expect(signals[1]).not.toBe(signals[0]);
    expect(fnSignal).toBe(signals[1]);
    // cockatiel aborts its own signal once the call returns.
    expect(signals[1]!.aborted).toBe(true);
    expect(signals[0]!.aborted).toBe(false);
  });

  it('opens a cockatiel circuit breaker and rejects without running the inner layers', async () => {
    const log: string[] = [];
    const policy = pipeline(
      circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(2) }),
      new Tag('inner', log),
    );
    const fail = (): never => {
      throw new Error('down');
    };
    await expect(policy.execute(fail)).rejects.toThrow('down');
    await expect(policy.execute(fail)).rejects.toThrow('down');
    log.length = 0;
    const fn = vi.fn();
    const error: unknown = await policy.execute(fn).catch((e: unknown) => e);
    // Still cockatiel's class, and also Bulwark's, so the guards and HTTP answers know it.
    expect(error).toBeInstanceOf(CockatielBrokenCircuitError);
    expect(isBrokenCircuitError(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(CockatielBrokenCircuitError);
    expect(isBrokenCircuitError((error as Error).cause)).toBe(false);
    expect(fn).not.toHaveBeenCalled();
    expect(log).toEqual([]);
  });

  it('limits concurrency with a cockatiel bulkhead', async () => {
    const policy = pipeline(bulkhead(1, 0), new Tag('inner', []));
    const gate = deferred<string>();
    const first = policy.execute(() => gate.promise);
    const error = await policy.execute(() => 'second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CockatielBulkheadRejectedError);
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'BULWARK_BULKHEAD_REJECTED', reason: 'full' });
    gate.resolve('first');
    await expect(first).resolves.toBe('first');
    await expect(policy.execute(() => 'third')).resolves.toBe('third');
  });

  it('runs a cockatiel wrap() as one step', async () => {
    const attempts: number[] = [];
    const policy = pipeline(
      new Wrapper('a'),
      wrap(
        retry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(0) }),
        timeout(60_000, TimeoutStrategy.Cooperative),
      ),
      new Wrapper('b'),
    );
    const value = await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt === 1) throw new Error('first');
      return 'x';
    });
    expect(value).toBe('a(b(x))');
    expect(attempts).toEqual([1, 2]);
  });

  it('keeps the operation name across a cockatiel step', async () => {
    const policy = pipeline(
      { operation: 'get-user' },
      retry(handleAll, { maxAttempts: 0 }),
      new Tag('a', []),
    );
    await expect(policy.execute((context) => context.operation)).resolves.toBe('get-user');
  });

  it('is a cockatiel policy too: a pipeline with cockatiel steps nests inside wrap()', async () => {
    const inner = pipeline(
      new Wrapper('a'),
      retry(handleAll, { maxAttempts: 0 }),
      new Wrapper('b'),
    );
    const policy = wrap(timeout(60_000, TimeoutStrategy.Cooperative), inner);
    await expect(policy.execute(() => 'x')).resolves.toBe('a(b(x))');
  });
});
