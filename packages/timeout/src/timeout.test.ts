import { getEventListeners } from 'node:events';
import {
  type AnyPolicy,
  CancelledError,
  DeadlineExceededError,
  type ExecutionContext,
  type PolicyEvent,
  TimeoutError,
  pipeline,
} from '@bulwark/core';
import { BulwarkPolicy, type Context, type Next } from '@bulwark/core/internal';
import { FakeClock } from '@bulwark/testing';
import { wrap, retry as cockatielRetry, handleAll, ConstantBackoff } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.js';
import { timeout } from './timeout.js';

const never = () => new Promise<never>(() => {});

/** A step that spends `ms` of fake time before calling the rest of the pipeline. */
class Spend extends BulwarkPolicy {
  constructor(
    private readonly fake: FakeClock,
    private readonly ms: number,
  ) {
    super(fake);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    await new Promise<void>((resolve) => this.fake.setTimeout(resolve, this.ms));
    return next.call(context);
  }
}

/** A step that only passes the call on: the fused path stops before it, so the layers inside it run one by one. */
class PassThrough extends BulwarkPolicy {
  constructor(clock: FakeClock) {
    super(clock);
  }
  protected run(context: Context, next: Next): Promise<unknown> {
    return Promise.resolve(next.call(context));
  }
}

/** A step that hands the rest of the pipeline a deadline already spent, as a spent budget header would. */
class SpentDeadline extends BulwarkPolicy {
  constructor(private readonly fake: FakeClock) {
    super(fake);
  }
  protected run(context: Context, next: Next): Promise<unknown> {
    return Promise.resolve(next.call(context.withScope(context.scope, this.fake.now())));
  }
}

describe('timeout()', () => {
  it('releases the caller with a TimeoutError when the function hangs (aggressive)', async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    let signal: AbortSignal | undefined;
    const call = policy.execute((ctx) => {
      signal = ctx.signal;
      return never();
    });
    const outcome = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(99);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    await outcome;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    expect(policy.pending).toBe(0);
  });

  it('returns the value of a call that finishes in time and leaves nothing pending', async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    await expect(policy.execute(() => 42)).resolves.toBe(42);
    await expect(policy.execute(async () => 'async')).resolves.toBe('async');
    expect(policy.pending).toBe(0);
  });

  it('passes through the error of a call that fails in time, sync throws included', async () => {
    const policy = timeout(100, { clock: new FakeClock() });
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(policy.execute(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(policy.pending).toBe(0);
  });

  it('waits for the function in cooperative mode and reports its abort as the timeout', async () => {
    const clock = new FakeClock();
    const policy = timeout(50, { clock, strategy: 'cooperative' });
    const call = policy.execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () =>
            setImmediate(() => reject(new Error('aborted by signal'))),
          );
        }),
    );
    const outcome = expect(call).rejects.toSatisfy(
      (e) => e instanceof TimeoutError && e.timeoutMs === 50,
    );
    await clock.advance(50);
    await outcome;
  });

  it('returns a cooperative function result that arrives after the timeout', async () => {
    const clock = new FakeClock();
    const policy = timeout(50, { clock, strategy: 'cooperative' });
    const call = policy.execute(
      ({ signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => resolve('stopped cleanly')),
        ),
    );
    await clock.advance(50);
    await expect(call).resolves.toBe('stopped cleanly');
  });

  it('shares one timer among concurrent calls and never keeps the process alive', async () => {
    const clock = new FakeClock();
    const policy = timeout(1_000, { clock });
    const calls = Array.from({ length: 100 }, () => policy.execute(never));
    const outcomes = calls.map((c) => expect(c).rejects.toBeInstanceOf(TimeoutError));
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
    await clock.advance(1_000);
    await Promise.all(outcomes);
    expect(policy.pending).toBe(0);
  });

  it('expires each call at its own time when calls start at different times', async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    const first = policy.execute(never);
    const firstOutcome = expect(first).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(60);
    let secondSettled = false;
    const second = policy.execute(never).catch((e: unknown) => {
      secondSettled = true;
      throw e;
    });
    const secondOutcome = expect(second).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(40);
    await firstOutcome;
    expect(secondSettled).toBe(false);
    await clock.advance(60);
    await secondOutcome;
  });

  it('creates no timer for a pipeline without a time limit', async () => {
    const clock = new FakeClock();
    const noLimits = pipeline({ clock }, new Spend(clock, 0));
    const call = noLimits.execute(() => 1);
    await clock.advance(0);
    await expect(call).resolves.toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not let a late rejection from an abandoned call go unhandled', async () => {
    const clock = new FakeClock();
    const policy = timeout(10, { clock });
    let rejectLate: (e: Error) => void = () => {};
    const call = policy.execute(() => new Promise((_, reject) => (rejectLate = reject)));
    const outcome = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(10);
    await outcome;
    rejectLate(new Error('too late'));
    await clock.advance(0);
  });

  it('releases an aggressive call at once when the caller aborts, and removes its listener', async () => {
    const clock = new FakeClock();
    const policy = timeout(10_000, { clock });
    const controller = new AbortController();
    const call = policy.execute(never, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('user left'));
    await expect(call).rejects.toSatisfy(
      (e) => e instanceof CancelledError && (e.reason as Error).message === 'user left',
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(policy.pending).toBe(0);
  });

  it('rejects without calling the function when the caller signal is already aborted', async () => {
    const policy = timeout(100, { clock: new FakeClock() });
    let called = false;
    await expect(
      policy.execute(() => {
        called = true;
      }, AbortSignal.abort()),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(called).toBe(false);
  });

  it('leaks no abort listener and no queue entry over 100k calls on one caller signal', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const policy = timeout(1_000, { clock });
    for (let i = 0; i < 100_000; i++) {
      // Reading the signal links a child signal to the caller's: the worst case for leaks.
      await policy.execute((ctx) => ctx.signal.aborted, controller.signal);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(policy.pending).toBe(0);
    expect(clock.pendingTimers).toBeLessThanOrEqual(1);
  });

  it('reports each expiry to the listener', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = timeout(20, { clock, name: 'db', listener: (e) => events.push(e) });
    const call = pipeline({ operation: 'load-user' }, policy).execute(never);
    const outcome = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(20);
    await outcome;
    expect(events).toEqual([
      { type: 'timeout', policy: 'timeout', name: 'db', operation: 'load-user', timeoutMs: 20 },
    ]);
  });

  it('gives inner layers a deadline of its own expiry', async () => {
    const clock = new FakeClock({ now: 1_000 });
    const seen: number[] = [];
    await timeout(300, { clock }).execute((ctx) => {
      seen.push(ctx.deadline, ctx.remaining());
    });
    expect(seen).toEqual([1_300, 300]);
  });

  it('lets the function see its signal abort inside cockatiel wrap()', async () => {
    const clock = new FakeClock();
    const policy = wrap(
      cockatielRetry(handleAll, { maxAttempts: 0, backoff: new ConstantBackoff(1) }),
      timeout(10, { clock }),
    );
    let signal: AbortSignal | undefined;
    const call = policy.execute((ctx) => {
      signal = ctx.signal;
      return never();
    });
    const outcome = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(10);
    await outcome;
    expect(signal?.aborted).toBe(true);
  });

  it.each([
    [0, RangeError, 'expected ms to be an integer between 1 and 2147483647, got 0'],
    [-5, RangeError, 'expected ms to be an integer between 1 and 2147483647, got -5'],
    [1.5, RangeError, 'expected ms to be an integer between 1 and 2147483647, got 1.5'],
    [2 ** 31, RangeError, 'expected ms to be an integer between 1 and 2147483647, got 2147483648'],
    [Number.NaN, TypeError, 'expected ms to be an integer between 1 and 2147483647, got NaN'],
    ['100', TypeError, 'expected ms to be an integer between 1 and 2147483647, got "100"'],
  ])('rejects ms = %s with a clear message', (ms, Kind, message) => {
    expect(() => timeout(ms as number)).toThrow(new Kind(message));
  });

  it('rejects misspelt options and a clock that is not a Clock', () => {
    expect(() => timeout(10, { stratgy: 'cooperative' } as never)).toThrow(
      new TypeError(
        'unknown option "stratgy" for timeout(); did you mean "strategy"? expected one of strategy, listener, name, clock',
      ),
    );
    expect(() => deadline(10, { budget: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "budget" for deadline(); expected one of strategy, listener, name, clock',
      ),
    );
    expect(() => timeout(10, { clock: Date as never })).toThrow(
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got a function',
      ),
    );
  });

  it('rejects unknown strategies and bad listeners', () => {
    expect(() => timeout(10, { strategy: 'pessimistic' as 'aggressive' })).toThrow(
      new TypeError(
        'expected strategy to be one of "aggressive", "cooperative", got "pessimistic"',
      ),
    );
    expect(() => timeout(10, { listener: 42 as unknown as () => void })).toThrow(
      new TypeError('expected listener to be a function, got 42'),
    );
  });
});

describe('deadline()', () => {
  it('shrinks an inner attempt timeout to what is left of the budget', async () => {
    const clock = new FakeClock();
    const expired: Array<[string, number]> = [];
    const policy = pipeline(
      deadline(1_000, { clock }),
      new Spend(clock, 700),
      timeout(800, { clock, listener: (e) => expired.push([e.type, clock.now()]) }),
    );
    let left: number | undefined;
    const call = policy.execute((ctx) => {
      left = ctx.remaining();
      return never();
    });
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(700);
    // 300 ms of the budget are left, not the timeout's 800.
    expect(left).toBe(300);
    await clock.advance(299);
    let settled = false;
    void call.catch(() => (settled = true));
    await clock.advance(0);
    expect(settled).toBe(false);
    await clock.advance(1);
    await outcome;
    // The attempt timeout itself ran out with the budget, and said why.
    expect(expired).toEqual([['deadline-exceeded', 1_000]]);
  });

  describe.each([
    [
      'on the fused path',
      (_clock: FakeClock, outer: AnyPolicy, inner: AnyPolicy) => pipeline(outer, inner),
    ],
    [
      'layer by layer',
      (clock: FakeClock, outer: AnyPolicy, inner: AnyPolicy) =>
        pipeline(outer, new PassThrough(clock), inner),
    ],
  ])('deadline(1000) around timeout(5000), %s', (_path, compose) => {
    it('ends the attempt at 1000 ms, as the timeout reports it: the deadline shrank it', async () => {
      const clock = new FakeClock({ now: 10_000 });
      const events: Array<PolicyEvent & { at: number }> = [];
      const listener = (event: PolicyEvent) => events.push({ ...event, at: clock.now() });
      const policy = compose(
        clock,
        deadline(1_000, { clock, name: 'call', listener }),
        timeout(5_000, { clock, name: 'attempt', listener }),
      );
      let seen: ExecutionContext | undefined;
      const call = policy.execute((ctx) => {
        seen = ctx;
        return never();
      });
      let failure: unknown;
      void call.catch((error: unknown) => (failure = error));
      await clock.advance(0);
      // The function is told the budget's end, not the end of a 5000 ms attempt.
      expect(seen!.deadline).toBe(11_000);
      expect(seen!.remaining()).toBe(1_000);
      await clock.advance(999);
      expect(failure).toBeUndefined();
      expect(events).toEqual([]);
      await clock.advance(1);
      expect(failure).toBeInstanceOf(DeadlineExceededError);
      expect(seen!.signal.aborted).toBe(true);
      expect(seen!.signal.reason).toBeInstanceOf(DeadlineExceededError);
      // The attempt timeout itself expired at 1000 ms, as the deadline, never as a timeout.
      expect(events).toContainEqual({
        type: 'deadline-exceeded',
        policy: 'timeout',
        name: 'attempt',
        operation: undefined,
        budgetMs: undefined,
        at: 11_000,
      });
      await clock.advance(10_000);
      expect(events.filter((e) => e.name === 'attempt')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'timeout')).toEqual([]);
    });
  });

  it('does not start an attempt when no budget is left', async () => {
    const clock = new FakeClock();
    let started = false;
    const policy = pipeline(
      deadline(500, { clock, strategy: 'cooperative' }),
      new Spend(clock, 500),
      timeout(100, { clock }),
    );
    const call = policy.execute(() => {
      started = true;
    });
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(500);
    await outcome;
    expect(started).toBe(false);
  });

  it('reports the attempt it refuses for lack of budget as deadline-exceeded', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    let started = false;
    const policy = pipeline(
      new SpentDeadline(clock),
      timeout(100, { clock, name: 'attempt', listener: (e) => events.push(e) }),
    );
    await expect(policy.execute(() => (started = true))).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(started).toBe(false);
    expect(events).toEqual([
      {
        type: 'deadline-exceeded',
        policy: 'timeout',
        name: 'attempt',
        operation: undefined,
        budgetMs: undefined,
      },
    ]);
  });

  it('releases the caller of an aggressive timeout inside a cooperative deadline when the deadline ends', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      deadline(100, { clock, strategy: 'cooperative' }),
      timeout(5_000, { clock, strategy: 'aggressive' }),
    );
    // Ignores its signal: only the aggressive timeout can release the caller.
    const call = policy.execute(never);
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(100);
    await outcome;
    expect(clock.referencedTimers).toBe(0);
  });

  it('keeps the shorter of two nested deadlines', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    await pipeline(deadline(200, { clock }), deadline(5_000, { clock })).execute(
      (ctx: ExecutionContext) => {
        seen.push(ctx.remaining());
      },
    );
    expect(seen).toEqual([200]);
  });

  it('fails the whole operation with DeadlineExceededError and reports the budget', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = deadline(250, { clock, listener: (e) => events.push(e) });
    const call = policy.execute(never);
    const outcome = expect(call).rejects.toSatisfy(
      (e) => e instanceof DeadlineExceededError && e.budgetMs === 250,
    );
    await clock.advance(250);
    await outcome;
    expect(events).toEqual([
      {
        type: 'deadline-exceeded',
        policy: 'timeout',
        name: undefined,
        operation: undefined,
        budgetMs: 250,
      },
    ]);
  });

  it('aborts the signal every inner layer sees when the budget runs out', async () => {
    const clock = new FakeClock();
    let inner: AbortSignal | undefined;
    const call = pipeline(deadline(100, { clock }), timeout(1_000, { clock })).execute((ctx) => {
      inner = ctx.signal;
      return never();
    });
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(100);
    await outcome;
    expect(inner?.aborted).toBe(true);
    expect(inner?.reason).toBeInstanceOf(DeadlineExceededError);
  });
});
