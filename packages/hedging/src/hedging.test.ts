import {
  CancelledError,
  DeadlineExceededError,
  type ExecutionContext,
  type PolicyEvent,
  isCancelledError,
  pipeline,
} from '@bulwark/core';
import { BulwarkPolicy, type Context, type Next } from '@bulwark/core/internal';
import { retry, retryBudget } from '@bulwark/retry';
import { FakeClock, settle } from '@bulwark/testing';
import { deadline, timeout } from '@bulwark/timeout';
import { describe, expect, it, vi } from 'vitest';
import { adaptiveDelay } from './adaptive-delay.js';
import { NotIdempotentError, isNotIdempotentError } from './errors.js';
import { type HedgingOptions, hedging } from './hedging.js';
import { idempotent } from './idempotent.js';

/** An attempt the test settles by hand. */
interface Started {
  readonly context: ExecutionContext;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A function whose every call waits for the test to settle it. */
function manual() {
  const started: Started[] = [];
  const fn = (context: ExecutionContext) =>
    new Promise<unknown>((resolve, reject) => started.push({ context, resolve, reject }));
  return { started, fn };
}

function networkError(message = 'socket hang up'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

function setup(options: Partial<HedgingOptions> = {}, clock = new FakeClock()) {
  const events: PolicyEvent[] = [];
  const policy = hedging({
    idempotent: true,
    delay: 100,
    clock,
    listener: (event) => events.push(event),
    ...options,
  });
  return { clock, events, policy };
}

describe('hedging: the winner', () => {
  it('returns a first answer that comes before the delay, without starting a hedge', async () => {
    const { clock, events, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(99);
    started[0]!.resolve('first');
    await expect(call).resolves.toBe('first');
    await clock.advance(1_000);
    expect(started).toHaveLength(1);
    expect(started[0]!.context.signal.aborted).toBe(false);
    expect(events).toEqual([]);
  });

  it('starts a hedge after the delay, returns the hedge that answers first and aborts the first attempt', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(99);
    expect(started).toHaveLength(1);
    await clock.advance(1);
    expect(started).toHaveLength(2);
    started[1]!.resolve('hedge');
    await expect(call).resolves.toBe('hedge');
    const loser = started[0]!.context.signal;
    expect(loser.aborted).toBe(true);
    expect(isCancelledError(loser.reason)).toBe(true);
    expect((loser.reason as Error).message).toBe(
      'hedged attempt cancelled: attempt 2 answered first',
    );
    expect(started[1]!.context.signal.aborted).toBe(false);
  });

  it('aborts the hedge when the first attempt answers after all', async () => {
    const { clock, events, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(100);
    started[0]!.resolve('first');
    await expect(call).resolves.toBe('first');
    expect(started[1]!.context.signal.aborted).toBe(true);
    expect(events.filter((e) => e.type === 'hedge-won')).toEqual([
      expect.objectContaining({ attempt: 1, attempts: 2 }),
    ]);
  });

  it('gives each attempt its own signal, derived from the caller’s, and its own attempt number', async () => {
    const { clock, policy } = setup({ maxHedgedAttempts: 2 });
    const { started, fn } = manual();
    const caller = new AbortController();
    const call = policy.execute(fn, caller.signal);
    await clock.advance(200);
    expect(started.map((s) => s.context.attempt)).toEqual([1, 2, 3]);
    const signals = new Set(started.map((s) => s.context.signal));
    expect(signals.size).toBe(3);
    expect(signals.has(caller.signal)).toBe(false);
    const outcome = expect(call).rejects.toBeInstanceOf(CancelledError);
    caller.abort();
    expect(started.every((s) => s.context.signal.aborted)).toBe(true);
    for (const s of started) s.reject(s.context.signal.reason);
    await outcome;
  });

  it('aborts the loser’s signal through a timeout inside the hedger, read after an await', async () => {
    const clock = new FakeClock();
    const { policy } = setup({}, clock);
    const signals: AbortSignal[] = [];
    const answers: Array<(value: string) => void> = [];
    const call = pipeline(policy, timeout(10_000, { clock })).execute(async ({ signal }) => {
      await settle();
      signals.push(signal);
      return new Promise<string>((resolve) => answers.push(resolve));
    });
    await clock.advance(100);
    expect(signals).toHaveLength(2);
    answers[1]!('hedge');
    await expect(call).resolves.toBe('hedge');
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
  });

  it('treats an error the classifier does not count as the answer: it is thrown, nothing more starts', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    const outcome = expect(call).rejects.toThrow('not found');
    started[0]!.reject(new TypeError('not found'));
    await outcome;
    await clock.advance(1_000);
    expect(started).toHaveLength(1);
  });

  it('releases the body of a losing attempt that answers after the call has ended', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(100);
    started[1]!.resolve('hedge');
    await expect(call).resolves.toBe('hedge');
    const late = new Response('late body');
    started[0]!.resolve(late);
    await settle();
    expect(late.bodyUsed).toBe(true);
  });
});

describe('hedging: failures', () => {
  it('starts the next hedge at once when an attempt fails, without waiting for the delay', async () => {
    const { events, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    started[0]!.reject(networkError());
    await settle();
    expect(started).toHaveLength(2);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'hedge-started',
        attempt: 2,
        delayMs: 0,
        trigger: 'failure',
      }),
    ]);
    started[1]!.resolve('second');
    await expect(call).resolves.toBe('second');
  });

  it('hedges past a result the classifier counts as a failure, and releases it', async () => {
    const { policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    const unavailable = new Response('busy', { status: 503 });
    started[0]!.resolve(unavailable);
    await settle();
    expect(started).toHaveLength(2);
    started[1]!.resolve('ok');
    await expect(call).resolves.toBe('ok');
    expect(unavailable.bodyUsed).toBe(true);
  });

  it('throws the last failure as it was when every attempt fails', async () => {
    const { clock, policy } = setup({ maxHedgedAttempts: 2 });
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(200);
    const last = networkError('third');
    const outcome = expect(call).rejects.toBe(last);
    started[1]!.reject(networkError('second'));
    started[0]!.reject(networkError('first'));
    await settle();
    started[2]!.reject(last);
    await outcome;
  });

  it('returns the last failed result when every attempt returns one, releasing the others', async () => {
    const { policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    const first = new Response('busy', { status: 503 });
    const second = new Response('still busy', { status: 503 });
    started[0]!.resolve(first);
    await settle();
    started[1]!.resolve(second);
    await expect(call).resolves.toBe(second);
    expect(first.bodyUsed).toBe(true);
    expect(second.bodyUsed).toBe(false);
  });

  it('waits for attempts still running once no hedge is left to start', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(100);
    started[1]!.reject(networkError());
    await settle();
    expect(started).toHaveLength(2);
    started[0]!.resolve('slow but fine');
    await expect(call).resolves.toBe('slow but fine');
  });
});

describe('hedging: parallel mode', () => {
  it('starts every attempt at once with a delay of 0 and keeps the first answer', async () => {
    const { events, policy } = setup({ delay: 0, maxHedgedAttempts: 2 });
    const { started, fn } = manual();
    const call = policy.execute(fn);
    expect(started).toHaveLength(3);
    started[2]!.resolve('third');
    await expect(call).resolves.toBe('third');
    expect(started[0]!.context.signal.aborted).toBe(true);
    expect(started[1]!.context.signal.aborted).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({ type: 'hedge-started', attempt: 2, delayMs: 0, trigger: 'delay' }),
      expect.objectContaining({ type: 'hedge-started', attempt: 3, delayMs: 0, trigger: 'delay' }),
      expect.objectContaining({ type: 'hedge-won', attempt: 3, attempts: 3 }),
      expect.objectContaining({ type: 'hedge-cancelled', count: 2 }),
    ]);
  });
});

/**
 * A deadline carried in the context without a timer to enforce it, as a budget read from the wire
 * sets one for code that checks `remaining()` itself.
 */
class DeadlineOnly extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly at: number,
  ) {
    super(clock);
  }
  protected run(context: Context, next: Next): Promise<unknown> {
    return Promise.resolve(next.call(context.withScope(context.scope, this.at)));
  }
}

describe('hedging: the deadline', () => {
  it('never schedules a hedge that would start at or after the deadline', async () => {
    const clock = new FakeClock();
    const { policy } = setup({ delay: 150 }, clock);
    const { started, fn } = manual();
    const call = pipeline(deadline(100, { clock }), policy).execute(fn);
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    // The deadline's timer only: no hedge is queued for 150 ms.
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    await outcome;
    await clock.advance(1_000);
    expect(started).toHaveLength(1);
  });

  it('starts the hedges that fit before the deadline and none after it', async () => {
    const clock = new FakeClock();
    const { policy } = setup({ delay: 60, maxHedgedAttempts: 3 }, clock);
    const { started, fn } = manual();
    const call = pipeline(deadline(100, { clock }), policy).execute(fn);
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(60);
    expect(started).toHaveLength(2);
    expect(started[1]!.context.deadline).toBe(100);
    await clock.advance(40);
    await outcome;
    expect(started).toHaveLength(2);
  });

  it('starts no hedge after a failure once the deadline in the context has passed', async () => {
    const clock = new FakeClock();
    const { policy } = setup({ delay: 60, maxHedgedAttempts: 3 }, clock);
    const { started, fn } = manual();
    const call = pipeline(new DeadlineOnly(clock, 100), policy).execute(fn);
    await clock.advance(150);
    expect(started).toHaveLength(2);
    const last = networkError('second');
    const outcome = expect(call).rejects.toBe(last);
    started[0]!.reject(networkError('first'));
    await settle();
    expect(started).toHaveLength(2);
    started[1]!.reject(last);
    await outcome;
  });
});

describe('hedging: the retry budget', () => {
  it('stops hedging in an outage once the shared budget is spent, for hedges and retries alike', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0.1, minRetriesPerSecond: 0, clock });
    const { events, policy } = setup({ budget }, clock);
    const { started, fn } = manual();
    // Twenty calls deposit twenty first attempts: a 10% budget pays for two hedges.
    const calls = Array.from({ length: 20 }, () => policy.execute(fn));
    await clock.advance(100);
    expect(started).toHaveLength(22);
    expect(events.filter((e) => e.type === 'hedge-started')).toHaveLength(2);
    expect(budget.available).toBe(0);
    // A retry policy on the same budget finds it spent too.
    const retrying = retry({ budget, clock, listener: (event) => events.push(event) });
    await expect(
      retrying.execute(() => {
        throw networkError();
      }),
    ).rejects.toThrow('socket hang up');
    expect(events.at(-1)).toMatchObject({ type: 'retry-gave-up', reason: 'budget-exhausted' });
    for (const s of started) s.resolve('late');
    await Promise.all(calls);
  });

  it('deposits once per call, and not again for an outer retry’s later attempts', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, clock });
    const { policy } = setup({ budget, delay: 1_000 }, clock);
    let calls = 0;
    const withRetry = pipeline(retry({ clock, backoff: () => 0 }), policy);
    await expect(
      withRetry.execute(() => {
        if (++calls < 3) throw Object.assign(new Error('busy'), { status: 503 });
        return 'ok';
      }),
    ).resolves.toBe('ok');
    // The hedger deposited for the call's first attempt only: the retry's second attempt, which
    // went through the hedger again, added nothing.
    expect(calls).toBe(3);
    expect(budget.state.requests).toBe(1);
  });
});

describe('hedging: the adaptive delay', () => {
  /** Starts `count` calls that each answer after `latencyMs`, and lets them answer. */
  async function feed(
    policy: ReturnType<typeof hedging>,
    clock: FakeClock,
    count: number,
    latencyMs: number,
  ) {
    const calls = Array.from({ length: count }, () =>
      policy.execute(
        () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), latencyMs)),
      ),
    );
    await clock.advance(latencyMs);
    await Promise.all(calls);
  }

  it('hedges after the fallback delay until enough latencies are in, then at their percentile', async () => {
    const clock = new FakeClock();
    const delay = adaptiveDelay({ fallbackDelayMs: 500, minSamples: 20 });
    const { events, policy } = setup({ delay }, clock);
    const { started, fn } = manual();
    await feed(policy, clock, 19, 10);
    void policy.execute(fn);
    await clock.advance(500);
    expect(events.at(-1)).toMatchObject({ type: 'hedge-started', delayMs: 500 });
    started[1]!.resolve('done');
    await feed(policy, clock, 1, 10);
    expect(delay.currentMs).toBeGreaterThanOrEqual(10);
    expect(delay.currentMs).toBeLessThan(11);
    void policy.execute(fn);
    await clock.advance(11);
    expect(events.at(-1)).toMatchObject({ type: 'hedge-started', delayMs: delay.currentMs });
    started[3]!.resolve('done');
  });

  it('follows a latency distribution that shifts, up and then down again', async () => {
    const clock = new FakeClock();
    const delay = adaptiveDelay({ minSamples: 20, halfLifeMs: 1_000 });
    const { policy } = setup({ delay }, clock);
    await feed(policy, clock, 100, 10);
    expect(delay.currentMs).toBeGreaterThanOrEqual(10);
    expect(delay.currentMs).toBeLessThan(11);
    // The downstream slows down: calls now take 40 ms, and are hedged until the delay catches up.
    for (let round = 0; round < 3; round++) await feed(policy, clock, 100, 40);
    expect(delay.currentMs).toBeGreaterThanOrEqual(40);
    expect(delay.currentMs).toBeLessThan(44);
    // And recovers: after some half-lives the slow period has faded out.
    for (let round = 0; round < 10; round++) {
      await feed(policy, clock, 100, 5);
      await clock.advance(1_000);
    }
    expect(delay.currentMs).toBeGreaterThanOrEqual(5);
    expect(delay.currentMs).toBeLessThan(5.5);
  });

  it('learns from the attempts that answer, not from the ones it cancels', async () => {
    const clock = new FakeClock();
    const delay = adaptiveDelay({ fallbackDelayMs: 50, minSamples: 1 });
    const { policy } = setup({ delay }, clock);
    const { started, fn } = manual();
    const call = policy.execute(fn);
    await clock.advance(80);
    started[1]!.resolve('hedge');
    await call;
    // The hedge answered in 30 ms; the first attempt, cut off at 80 ms, taught nothing.
    expect(delay.samples).toBe(1);
    expect(delay.currentMs).toBeGreaterThanOrEqual(30);
    expect(delay.currentMs).toBeLessThan(33);
  });
});

describe('hedging: calls that may not be repeated', () => {
  it('refuses to be built without the idempotent acknowledgement', () => {
    expect(() => hedging({} as HedgingOptions)).toThrow(
      new TypeError(
        'expected idempotent to be true (every call through this hedger is safe to repeat) or "marked" (only calls marked with idempotent()), got undefined',
      ),
    );
    expect(() => hedging({ idempotent: false } as unknown as HedgingOptions)).toThrow(
      /^expected idempotent to be true .*, got false$/,
    );
  });

  it("refuses an unmarked call through an idempotent: 'marked' hedger without running it", async () => {
    const { policy } = setup({ idempotent: 'marked' });
    const fn = vi.fn(() => 'ran');
    const refused = pipeline({ operation: 'orders.create' }, policy).execute(fn);
    await expect(refused).rejects.toBeInstanceOf(NotIdempotentError);
    await expect(refused).rejects.toSatisfy(isNotIdempotentError);
    await expect(refused).rejects.toThrow(
      'orders.create is not marked safe to repeat: mark its function with idempotent() or keep it away from the hedger',
    );
    expect(fn).not.toHaveBeenCalled();
  });

  it("hedges a call marked with idempotent() through an idempotent: 'marked' hedger", async () => {
    const { clock, policy } = setup({ idempotent: 'marked' });
    const { started, fn } = manual();
    const call = pipeline(policy).execute(idempotent(fn));
    await clock.advance(100);
    expect(started).toHaveLength(2);
    started[1]!.resolve('hedge');
    await expect(call).resolves.toBe('hedge');
  });
});

describe('hedging: events and timers', () => {
  it('reports the hedge it started, the attempt that won and the attempts it cancelled', async () => {
    const { clock, events, policy } = setup({ name: 'inventory', maxHedgedAttempts: 2 });
    const { started, fn } = manual();
    const call = pipeline({ operation: 'inventory.get' }, policy).execute(fn);
    await clock.advance(200);
    started[1]!.resolve('second');
    await call;
    const common = { policy: 'hedging', name: 'inventory', operation: 'inventory.get' };
    expect(events).toEqual([
      { type: 'hedge-started', ...common, attempt: 2, delayMs: 100, trigger: 'delay' },
      { type: 'hedge-started', ...common, attempt: 3, delayMs: 100, trigger: 'delay' },
      { type: 'hedge-won', ...common, attempt: 2, attempts: 3 },
      { type: 'hedge-cancelled', ...common, count: 2 },
    ]);
  });

  it('keeps every call waiting to hedge on one timer', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const calls = Array.from({ length: 100 }, () => policy.execute(fn));
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(90);
    expect(started).toHaveLength(200);
    for (const s of started) s.resolve('ok');
    await Promise.all(calls);
  });

  it('starts no hedge after the caller aborts and fails with the cancellation', async () => {
    const { clock, policy } = setup();
    const { started, fn } = manual();
    const caller = new AbortController();
    const call = policy.execute(fn, caller.signal);
    const outcome = expect(call).rejects.toBeInstanceOf(CancelledError);
    caller.abort(new Error('user left'));
    await clock.advance(100);
    expect(started).toHaveLength(1);
    started[0]!.reject(networkError());
    await outcome;
  });

  it('asks a delay function for each hedge with the attempt and the context, and hedges on time only for a number >= 0', async () => {
    const seen: Array<{ attempt: number; operation: string | undefined }> = [];
    const { clock, policy } = setup({
      maxHedgedAttempts: 3,
      delay: ({ attempt, context }) => {
        seen.push({ attempt, operation: context.operation });
        return attempt === 2 ? 10 : Number.NaN;
      },
    });
    const { started, fn } = manual();
    const call = pipeline({ operation: 'op' }, policy).execute(fn);
    await clock.advance(1_000);
    expect(started).toHaveLength(2);
    expect(seen).toEqual([
      { attempt: 2, operation: 'op' },
      { attempt: 3, operation: 'op' },
    ]);
    started[0]!.reject(networkError());
    await settle();
    expect(started).toHaveLength(3);
    started[2]!.resolve('third');
    await expect(call).resolves.toBe('third');
  });
});

describe('hedging: options', () => {
  it.each<[string, Record<string, unknown>, Error]>([
    [
      'a negative delay',
      { delay: -1 },
      new RangeError('expected delay to be a finite number between 0 and 2147483647, got -1'),
    ],
    [
      'a NaN delay',
      { delay: Number.NaN },
      new TypeError('expected delay to be a number between 0 and 2147483647, got NaN'),
    ],
    [
      'an Infinity delay',
      { delay: Infinity },
      new RangeError('expected delay to be a finite number between 0 and 2147483647, got Infinity'),
    ],
    [
      'a delay of the wrong kind',
      { delay: '100' },
      new TypeError(
        'expected delay to be a number of milliseconds, a function or an adaptiveDelay(), got "100"',
      ),
    ],
    [
      'maxHedgedAttempts 0',
      { maxHedgedAttempts: 0 },
      new RangeError('expected maxHedgedAttempts to be an integer between 1 and 10, got 0'),
    ],
    [
      'maxHedgedAttempts 1.5',
      { maxHedgedAttempts: 1.5 },
      new RangeError('expected maxHedgedAttempts to be an integer between 1 and 10, got 1.5'),
    ],
    [
      'maxHedgedAttempts 11',
      { maxHedgedAttempts: 11 },
      new RangeError('expected maxHedgedAttempts to be an integer between 1 and 10, got 11'),
    ],
    [
      'a misspelt option',
      { maxHedgeAttempts: 2 },
      new TypeError(
        'unknown option "maxHedgeAttempts" for hedging(); did you mean "maxHedgedAttempts"? expected one of idempotent, maxHedgedAttempts, delay, classify, budget, name, listener, clock',
      ),
    ],
    [
      'a classifier without predicates',
      { classify: {} },
      new TypeError('expected classify to have an error or a result predicate, got neither'),
    ],
    [
      'a misspelt classifier key',
      { classify: { errors: () => true } },
      new TypeError(
        'unknown option "errors" for classify(); did you mean "error"? expected one of error, result',
      ),
    ],
    [
      'a budget that is not one',
      { budget: { available: 3 } },
      new TypeError('expected budget to be a RetryBudget from retryBudget(), got an object'),
    ],
    [
      'a listener that is not a function',
      { listener: 'log' },
      new TypeError('expected listener to be a function, got "log"'),
    ],
  ])('refuses %s, naming what was expected and what was given', (_label, options, error) => {
    expect(() => hedging({ idempotent: true, ...options })).toThrow(error);
  });

  it('refuses options that are not an object', () => {
    expect(() => hedging(null as unknown as HedgingOptions)).toThrow(
      new TypeError('expected the options of hedging() to be an object, got null'),
    );
  });
});
