import {
  type ExecutionContext,
  type PolicyEvent,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  isTimeoutError,
  pipeline,
} from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { breakerRegistry, consecutive } from '@bulwark/circuit-breaker';
import { fallback } from '@bulwark/fallback';
import { idempotent, isNotIdempotentError } from '@bulwark/hedging';
import { isRateLimitedError, tokenBucket } from '@bulwark/rate-limit';
import { constantBackoff, retryBudget } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { standardPipeline } from './standard-pipeline.js';

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const never = () => new Promise<never>(() => {});

/** A listener that keeps every event, and the events it kept. */
function recorder() {
  const events: PolicyEvent[] = [];
  return { events, listener: (event: PolicyEvent) => void events.push(event) };
}

/** A promise's outcome so far, without waiting for it. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('standardPipeline: the order of the stages', () => {
  it('ends a call at the deadline before the retries run out, the last attempt cut to what is left', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({
      clock,
      deadlineMs: 1_000,
      attemptTimeoutMs: 600,
      retry: { maxAttempts: 10, backoff: constantBackoff(100) },
    });
    const left: number[] = [];
    const call = watch(
      policy.execute((context) => {
        left.push(context.remaining());
        return never();
      }),
    );
    await clock.advance(999);
    expect(call.settled).toBe(false);
    await clock.advance(1);
    expect(isDeadlineExceededError(call.error)).toBe(true);
    // The first attempt had its own 600 ms; the second, started at 700, only the 300 left.
    expect(left).toEqual([600, 300]);
  });

  it('counts every attempt in the breaker, so the retries of one call can open it', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({
      clock,
      retry: { backoff: constantBackoff(0) },
      breaker: { strategy: consecutive({ threshold: 3 }) },
    });
    let runs = 0;
    const fail = () => {
      runs++;
      return Promise.reject(reset());
    };
    const first = expect(policy.execute(fail)).rejects.toThrow('socket hang up');
    await clock.advance(0);
    await first;
    expect(runs).toBe(3);
    expect(policy.breaker?.state).toBe('open');
    await expect(policy.execute(fail)).rejects.toSatisfy(isBrokenCircuitError);
    expect(runs).toBe(3);
  });

  it('answers from the fallback for an exhausted retry, then for the open breaker', async () => {
    const clock = new FakeClock();
    const { events, listener } = recorder();
    const policy = standardPipeline({
      clock,
      listener,
      fallback: { value: 'cached' },
      retry: { backoff: constantBackoff(0) },
      breaker: { strategy: consecutive({ threshold: 3 }) },
    });
    let runs = 0;
    const fail = () => {
      runs++;
      return Promise.reject(reset());
    };
    const first = policy.execute(fail);
    await clock.advance(0);
    await expect(first).resolves.toBe('cached');
    await expect(policy.execute(fail)).resolves.toBe('cached');
    expect(runs).toBe(3);
    const reasons = events.flatMap((e) => (e.type === 'fallback' ? [e.reason] : []));
    expect(reasons).toEqual(['ECONNRESET', 'BULWARK_BROKEN_CIRCUIT']);
  });

  it('answers from the fallback for an attempt the deadline cut short only when the answer is at hand', async () => {
    const clock = new FakeClock();
    const slowAnswer = () => new Promise((resolve) => clock.setTimeout(() => resolve('slow'), 10));
    const atHand = standardPipeline({ clock, deadlineMs: 1_000, fallback: { value: 'at hand' } });
    const slow = standardPipeline({ clock, deadlineMs: 1_000, fallback: { fn: slowAnswer } });
    // Outside the pipeline, a fallback answers for the deadline itself, however long it takes.
    const wrapped = pipeline({ clock }, fallback({ fn: slowAnswer, clock }), slow);
    const calls = [atHand, slow, wrapped].map((policy) => watch(policy.execute(never)));
    await clock.advance(1_010);
    expect(calls[0]).toEqual({ settled: true, value: 'at hand' });
    expect(isDeadlineExceededError(calls[1]!.error)).toBe(true);
    expect(calls[2]).toEqual({ settled: true, value: 'slow' });
  });

  it('refuses a call over the rate limit without running or retrying it', async () => {
    const clock = new FakeClock();
    const { events, listener } = recorder();
    const limiter = tokenBucket({ limit: 1, windowMs: 1_000, clock });
    const policy = standardPipeline({ clock, listener, rateLimit: { limiter } });
    let runs = 0;
    await expect(policy.execute(() => ++runs)).resolves.toBe(1);
    await expect(policy.execute(() => ++runs)).rejects.toSatisfy(isRateLimitedError);
    expect(runs).toBe(1);
    expect(
      events.filter((e) => e.type === 'retry-scheduled' || e.type === 'retry-gave-up'),
    ).toEqual([]);
  });

  it('holds a call in the bulkhead queue outside its deadline, which starts once it runs', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, deadlineMs: 100, bulkhead: { limit: 1, queue: 1 } });
    let release!: (value: string) => void;
    const first = policy.execute(() => new Promise<string>((resolve) => (release = resolve)));
    const second = watch(
      policy.execute(async () => {
        await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 90));
        return 'second';
      }),
    );
    await clock.advance(80);
    release('first');
    await expect(first).resolves.toBe('first');
    // Queued for 80 ms, then 90 ms of work: within its own 100 ms, counted from its start.
    await clock.advance(90);
    expect(second).toEqual({ settled: true, value: 'second' });
  });

  it('hedges in the retry’s place, on the same budget, for calls marked idempotent', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, hedging: { idempotent: 'marked', delay: 50 } });
    expect(policy.retry).toBeUndefined();
    expect(policy.hedging?.budget).toBe(policy.budget);
    let attempts = 0;
    const call = watch(
      policy.execute(idempotent(() => (++attempts === 1 ? never() : Promise.resolve('hedge')))),
    );
    await clock.advance(50);
    expect(call).toEqual({ settled: true, value: 'hedge' });
    expect(attempts).toBe(2);
    await expect(policy.execute(() => 'unmarked')).rejects.toSatisfy(isNotIdempotentError);
  });

  it('ends every stage at once when the caller aborts', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, fallback: { value: 'fallback' } });
    const controller = new AbortController();
    const call = watch(policy.execute(never, controller.signal));
    controller.abort();
    await clock.advance(0);
    expect(isCancelledError(call.error)).toBe(true);
  });
});

describe('standardPipeline: each stage turned off by name', () => {
  it.each([
    ['deadlineMs', 'deadline'],
    ['retry', 'retry'],
    ['breaker', 'breaker'],
    ['attemptTimeoutMs', 'attemptTimeout'],
  ] as const)('leaves out the stage %s: false turns off', (option, handle) => {
    const policy = standardPipeline({ [option]: false });
    expect(policy[handle]).toBeUndefined();
    expect(policy.policies).toHaveLength(3);
  });

  it('runs the function alone when every stage is off', async () => {
    const policy = standardPipeline({
      deadlineMs: false,
      retry: false,
      breaker: false,
      attemptTimeoutMs: false,
    });
    expect(policy.policies).toEqual([]);
    expect(policy.budget).toBeUndefined();
    await expect(policy.execute(() => 42)).resolves.toBe(42);
  });

  it('runs a failing call once with retry off, and makes no budget', async () => {
    const policy = standardPipeline({ retry: false });
    let runs = 0;
    const fail = () => {
      runs++;
      return Promise.reject(reset());
    };
    await expect(policy.execute(fail)).rejects.toThrow('socket hang up');
    expect(runs).toBe(1);
    expect(policy.budget).toBeUndefined();
  });

  it('keeps calling a failing downstream with the breaker off', async () => {
    const policy = standardPipeline({ retry: false, breaker: false });
    for (let i = 0; i < 100; i++)
      await expect(policy.execute(() => Promise.reject(reset()))).rejects.toThrow();
    await expect(policy.execute(() => 'still called')).resolves.toBe('still called');
  });

  it('lets an attempt run to the deadline with the attempt timeout off', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({
      clock,
      retry: false,
      attemptTimeoutMs: false,
      deadlineMs: 5_000,
    });
    const call = watch(policy.execute(never));
    await clock.advance(4_999);
    expect(call.settled).toBe(false);
    await clock.advance(1);
    expect(isDeadlineExceededError(call.error)).toBe(true);
  });

  it('sets no deadline with deadlineMs off', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({
      clock,
      retry: false,
      attemptTimeoutMs: false,
      deadlineMs: false,
    });
    let deadline = 0;
    const controller = new AbortController();
    const call = watch(
      policy.execute((context) => {
        deadline = context.deadline;
        return never();
      }, controller.signal),
    );
    await clock.advance(3_600_000);
    expect(call.settled).toBe(false);
    expect(deadline).toBe(Infinity);
    expect(clock.pendingTimers).toBe(0);
    controller.abort();
  });

  it('retries without a budget with budget off', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({
      clock,
      budget: false,
      retry: { backoff: constantBackoff(0) },
    });
    expect(policy.budget).toBeUndefined();
    expect(policy.retry?.budget).toBeUndefined();
    let runs = 0;
    const call = policy.execute(() => (++runs < 3 ? Promise.reject(reset()) : 'third'));
    await clock.runAll();
    await expect(call).resolves.toBe('third');
  });
});

describe('standardPipeline: instances and the breaker per key', () => {
  it('uses a breaker of a registry as given, so the registry sees its failures', async () => {
    const breakers = breakerRegistry({ breaker: { strategy: consecutive({ threshold: 1 }) } });
    const policy = standardPipeline({ retry: false, breaker: breakers.get('https://a.example') });
    expect(policy.breaker).toBe(breakers.get('https://a.example'));
    await expect(policy.execute(() => Promise.reject(reset()))).rejects.toThrow();
    expect(breakers.view('https://a.example')?.state).toBe('open');
  });

  it('picks the breaker of each call with a function of its context', async () => {
    const breakers = breakerRegistry();
    const shared = standardPipeline({
      retry: false,
      breaker: (context: ExecutionContext) => breakers.get(context.operation ?? 'none'),
    });
    expect(shared.breaker).toBeUndefined();
    const a = pipeline({ operation: 'a' }, shared);
    const b = pipeline({ operation: 'b' }, shared);
    breakers.isolate('a');
    await expect(a.execute(() => 'a')).rejects.toSatisfy(isIsolatedCircuitError);
    await expect(b.execute(() => 'b')).resolves.toBe('b');
    expect(breakers.view('b')?.state).toBe('closed');
  });

  it('fails the call with a TypeError when the breaker function returns no breaker', async () => {
    const policy = standardPipeline({ breaker: () => ({}) as never });
    await expect(policy.execute(() => 'not run')).rejects.toThrow(
      'expected the breaker function to return a circuit breaker, got an object',
    );
  });

  it('shares a bulkhead given to two pipelines', async () => {
    const shared = bulkhead({ limit: 1 });
    const first = standardPipeline({ bulkhead: shared });
    const second = standardPipeline({ bulkhead: shared });
    expect(first.bulkhead).toBe(shared);
    let release!: () => void;
    const running = first.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(second.execute(() => 'refused')).rejects.toSatisfy(isBulkheadRejectedError);
    release();
    await running;
  });

  it('draws the retries of two pipelines from one budget given to both', async () => {
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 0 });
    const { events, listener } = recorder();
    const one = standardPipeline({ budget, listener });
    const two = standardPipeline({ budget, listener });
    expect(one.budget).toBe(budget);
    await expect(one.execute(() => Promise.reject(reset()))).rejects.toThrow();
    await expect(two.execute(() => Promise.reject(reset()))).rejects.toThrow();
    const gaveUp = events.flatMap((e) => (e.type === 'retry-gave-up' ? [e.reason] : []));
    expect(gaveUp).toEqual(['budget-exhausted', 'budget-exhausted']);
    expect(budget.state.requests).toBe(2);
  });
});

describe('standardPipeline: as a policy', () => {
  it('takes the operation of an enclosing pipeline, and reports calls and stages to its listener', async () => {
    const { events, listener } = recorder();
    const inner = standardPipeline({ listener });
    const outer = pipeline({ operation: 'users.get' }, inner);
    let seen: string | undefined;
    await outer.execute((context) => (seen = context.operation));
    expect(seen).toBe('users.get');
    expect(events.map((e) => [e.type, e.operation])).toEqual([
      ['breaker-created', undefined],
      ['breaker-used', 'users.get'],
      ['attempt', 'users.get'],
      ['call', 'users.get'],
    ]);
  });

  it('gives a stage’s own listener the stage’s events', async () => {
    const top = recorder();
    const own = recorder();
    const policy = standardPipeline({ listener: top.listener, retry: { listener: own.listener } });
    await policy.execute(() => 'ok');
    expect(own.events.map((e) => e.type)).toEqual(['attempt']);
    expect(top.events.map((e) => e.type)).toEqual(['breaker-created', 'call']);
  });

  it('reports to an onSuccess listener on the pipeline itself', async () => {
    const policy = standardPipeline();
    const durations: number[] = [];
    policy.onSuccess(({ duration }) => durations.push(duration));
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
    expect(durations).toHaveLength(1);
  });

  it('names the operation it was given in its context', async () => {
    const policy = standardPipeline({ operation: 'orders.place' });
    await expect(policy.execute((context) => context.operation)).resolves.toBe('orders.place');
  });

  it('passes a timed-out attempt to the retry as a TimeoutError', async () => {
    const clock = new FakeClock();
    const { events, listener } = recorder();
    const policy = standardPipeline({ clock, listener, attemptTimeoutMs: 100 });
    let attempts = 0;
    const call = policy.execute(() => (++attempts === 1 ? never() : 'second'));
    await clock.runAll();
    await expect(call).resolves.toBe('second');
    const scheduled = events.find((e) => e.type === 'retry-scheduled');
    expect(isTimeoutError(scheduled?.type === 'retry-scheduled' && scheduled.error)).toBe(true);
  });
});
