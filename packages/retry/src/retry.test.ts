import { getEventListeners } from 'node:events';
import {
  CancelledError,
  DeadlineExceededError,
  type ExecutionContext,
  type PolicyEvent,
  type SuccessTemplate,
  TimeoutError,
  bindSuccess,
  type HttpAttemptInfo,
  pipeline,
} from '@bulwark/core';
import { BulwarkPolicy, type Context, type Next, httpAttemptSource } from '@bulwark/core/internal';
import { FakeClock, settle } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { type BackoffArgs, constantBackoff, exponentialBackoff } from './backoff.js';
import { type RetryOptions, type RetryScheduledHintEvent, retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

const NOW = Date.UTC(2026, 0, 1);

function networkError(message = 'socket hang up'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

function unavailable(headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 503, headers });
}

function errorWithHeaders(headers: Record<string, string>): Error {
  return Object.assign(new Error('Request failed with status code 503'), {
    response: { status: 503, headers },
  });
}

function setup(options: RetryOptions = {}, clock = new FakeClock({ date: NOW })) {
  const events: PolicyEvent[] = [];
  const policy = retry({
    backoff: constantBackoff(100),
    clock,
    listener: (event) => events.push(event),
    ...options,
  });
  const ofType = <T extends PolicyEvent['type']>(type: T) =>
    events.filter((e): e is Extract<PolicyEvent, { type: T }> => e.type === type);
  return { clock, events, policy, ofType };
}

/**
 * A whole-call deadline in front of the retry, as @bulwark/timeout's deadline() would set. With
 * `announce` false it aborts its scope without telling the context (as a foreign timeout would).
 */
class TestDeadline extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly budgetMs: number,
    private readonly announce = true,
  ) {
    super(clock);
  }

  protected async run(context: Context, next: Next): Promise<unknown> {
    const scope = context.scope.child();
    const handle = this.clock.setTimeout(
      () => scope.abort(new DeadlineExceededError(this.budgetMs)),
      this.budgetMs,
    );
    const deadline = this.announce ? this.clock.now() + this.budgetMs : context.deadline;
    try {
      return await next.call(context.withScope(scope, deadline));
    } finally {
      this.clock.clearTimeout(handle);
      scope.dispose();
    }
  }
}

/** Records the context it is given, then passes it on unchanged. */
class Probe extends BulwarkPolicy {
  seen: Context[] = [];
  constructor(clock: FakeClock) {
    super(clock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    this.seen.push(context);
    return next.call(context);
  }
}

describe('retry: attempts', () => {
  it('returns a first success without retrying, waiting or reading the clock', async () => {
    const { clock, policy } = setup({ listener: undefined });
    const now = vi.spyOn(clock, 'now');
    const dateNow = vi.spyOn(clock, 'dateNow');
    const fn = vi.fn(() => 'ok');
    await expect(policy.execute(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledOnce();
    expect(now).not.toHaveBeenCalled();
    expect(dateNow).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes the context through unchanged on a first attempt that is already attempt 1', async () => {
    const clock = new FakeClock();
    const probe = new Probe(clock);
    const policy = pipeline(probe, retry({ clock }));
    let received: ExecutionContext | undefined;
    await policy.execute((context) => {
      received = context;
    });
    expect(received).toBe(probe.seen[0]);
  });

  it('retries a retryable error and returns the later success, numbering attempts from 1', async () => {
    const { clock, policy } = setup();
    const attempts: number[] = [];
    let calls = 0;
    const p = policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (++calls < 3) throw networkError();
      return 'ok';
    });
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('counts maxAttempts as all attempts, the first included, and then throws the last error', async () => {
    const { clock, policy, ofType } = setup({ maxAttempts: 3 });
    const errors = [networkError('1'), networkError('2'), networkError('3')];
    let calls = 0;
    const p = policy.execute(() => {
      throw errors[calls++]!;
    });
    const done = expect(p).rejects.toBe(errors[2]);
    await clock.runAll();
    await done;
    expect(calls).toBe(3);
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'max-attempts', attempt: 3 }]);
  });

  it('makes a single attempt with maxAttempts: 1', async () => {
    const { policy } = setup({ maxAttempts: 1 });
    const error = networkError();
    const fn = vi.fn(() => Promise.reject(error));
    await expect(policy.execute(fn)).rejects.toBe(error);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('defaults to 3 attempts', async () => {
    const clock = new FakeClock();
    const policy = retry({ clock, backoff: constantBackoff(1) });
    const fn = vi.fn(() => Promise.reject(networkError()));
    const done = expect(policy.execute(fn)).rejects.toThrow('socket hang up');
    await clock.runAll();
    await done;
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('throws a non-retryable error at once', async () => {
    const { policy, ofType } = setup();
    const error = new Error('bad input');
    const fn = vi.fn(() => Promise.reject(error));
    await expect(policy.execute(fn)).rejects.toBe(error);
    expect(fn).toHaveBeenCalledOnce();
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'not-retryable', error }]);
  });

  it('retries a function that throws synchronously', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const p = policy.execute(() => {
      if (++calls === 1) throw networkError();
      return 'ok';
    });
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
  });

  it('sets attempt 1 on the first attempt inside an outer retry that is on attempt 2', async () => {
    const clock = new FakeClock();
    const inner = retry({ clock, maxAttempts: 1 });
    const outer = retry({ clock, backoff: constantBackoff(0) });
    const seen: number[] = [];
    let calls = 0;
    await pipeline(outer, inner).execute(({ attempt }) => {
      seen.push(attempt);
      if (++calls === 1) throw networkError();
    });
    expect(seen).toEqual([1, 1]);
  });
});

describe('retry: classification', () => {
  it('retries a result the classifier counts as a failure, and returns the last one when attempts run out', async () => {
    const { clock, policy } = setup();
    const results = [unavailable(), unavailable(), unavailable()];
    let calls = 0;
    const p = policy.execute(() => results[calls++]);
    await clock.runAll();
    await expect(p).resolves.toBe(results[2]);
    expect(calls).toBe(3);
  });

  it('returns the first result that is not a failure', async () => {
    const { clock, policy } = setup();
    const ok = new Response('fine', { status: 200 });
    let calls = 0;
    const p = policy.execute(() => (++calls === 1 ? unavailable() : ok));
    await clock.runAll();
    await expect(p).resolves.toBe(ok);
  });

  it('uses the error and result predicates it is given', async () => {
    const flaky = new Error('flaky');
    const { clock, policy } = setup({
      classify: { error: (e) => e === flaky, result: (r) => r === 'again' },
    });
    const outcomes: Array<() => unknown> = [
      () => Promise.reject(flaky),
      () => 'again',
      () => 'done',
    ];
    let calls = 0;
    const p = policy.execute(() => outcomes[calls++]!());
    await clock.runAll();
    await expect(p).resolves.toBe('done');
  });

  it('retries no error when the classifier has only a result predicate', async () => {
    const { policy } = setup({ classify: { result: () => false } });
    const fn = vi.fn(() => Promise.reject(networkError()));
    await expect(policy.execute(fn)).rejects.toThrow('socket hang up');
    expect(fn).toHaveBeenCalledOnce();
  });

  it('never retries a cancellation or an exceeded deadline, whatever the classifier says', async () => {
    const { policy } = setup({ classify: { error: () => true } });
    for (const error of [new CancelledError(), new DeadlineExceededError(100)]) {
      const fn = vi.fn(() => Promise.reject(error));
      await expect(policy.execute(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledOnce();
    }
  });

  it("retries Bulwark's TimeoutError from an attempt timeout by default", async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const p = policy.execute(() => {
      if (++calls === 1) throw new TimeoutError(50);
      return 'ok';
    });
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
  });

  it('retries a network error that fetch wrapped in its cause', async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const p = policy.execute(() => {
      if (++calls === 1) throw new TypeError('fetch failed', { cause: networkError() });
      return 'ok';
    });
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
  });

  it("reports through handles() whether the classifier counts an error, in cockatiel's onFailure", async () => {
    const { clock, policy } = setup({ maxAttempts: 1 });
    const handled: boolean[] = [];
    policy.onFailure(({ handled: h }) => handled.push(h));
    await expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await expect(policy.execute(() => Promise.reject(new Error('bug')))).rejects.toThrow();
    await expect(policy.execute(() => Promise.reject(new CancelledError()))).rejects.toThrow();
    expect(handled).toEqual([true, false, false]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('releases the body of a result it retries away, but not of the result it returns', async () => {
    const { clock, policy } = setup({ maxAttempts: 2 });
    const first = { status: 503, body: { cancel: vi.fn(() => Promise.resolve()) } };
    const last = { status: 503, body: { cancel: vi.fn(() => Promise.resolve()) } };
    let calls = 0;
    const p = policy.execute(() => (++calls === 1 ? first : last));
    await clock.runAll();
    await expect(p).resolves.toBe(last);
    expect(first.body.cancel).toHaveBeenCalledOnce();
    expect(last.body.cancel).not.toHaveBeenCalled();
  });
});

describe('retry: backoff', () => {
  it('waits exactly the backoff delay before the next attempt', async () => {
    const { clock, policy } = setup({ backoff: constantBackoff(100) });
    const fn = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(99);
    expect(fn).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await expect(p).resolves.toBe('ok');
  });

  it('draws full jitter from the injected random source', async () => {
    const { clock, policy, ofType } = setup({
      maxAttempts: 4,
      backoff: exponentialBackoff({ initialDelayMs: 100, jitter: 'full' }),
      random: () => 0.5,
    });
    const done = expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await clock.runAll();
    await done;
    expect(ofType('retry-scheduled').map((e) => e.delayMs)).toEqual([50, 100, 200]);
  });

  it('feeds each backoff delay back as previousDelayMs, within one call', async () => {
    const backoff = vi.fn(({ previousDelayMs }: BackoffArgs) => previousDelayMs + 10);
    const { clock, policy } = setup({ maxAttempts: 4, backoff });
    const done = expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await clock.runAll();
    await done;
    expect(backoff.mock.calls.map(([args]) => args.previousDelayMs)).toEqual([0, 10, 20]);
    expect(backoff.mock.calls.map(([args]) => args.attempt)).toEqual([1, 2, 3]);
  });

  it('caps every backoff delay at maxDelayMs', async () => {
    const { clock, policy, ofType } = setup({ backoff: constantBackoff(5000), maxDelayMs: 300 });
    const done = expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await clock.runAll();
    await done;
    expect(ofType('retry-scheduled').map((e) => e.delayMs)).toEqual([300, 300]);
  });

  it('treats NaN or a negative delay from a custom backoff as 0, and Infinity as the cap', async () => {
    const values = [Number.NaN, -5, Infinity];
    let i = 0;
    const { clock, policy, ofType } = setup({
      maxAttempts: 4,
      backoff: () => values[i++]!,
      maxDelayMs: 700,
    });
    const done = expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await clock.runAll();
    await done;
    expect(ofType('retry-scheduled').map((e) => e.delayMs)).toEqual([0, 0, 700]);
  });

  it('holds the process open while it waits, unless unref is set', async () => {
    for (const unref of [false, true]) {
      const { clock, policy } = setup({ unref });
      const p = policy.execute(vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValue(1));
      await settle();
      expect(clock.pendingTimers).toBe(1);
      expect(clock.referencedTimers).toBe(unref ? 0 : 1);
      await clock.runAll();
      await expect(p).resolves.toBe(1);
    }
  });
});

describe('retry: server delay hints', () => {
  it('waits exactly the Retry-After: 2 seconds instead of the backoff', async () => {
    const { clock, policy, ofType } = setup({ backoff: constantBackoff(10) });
    const fn = vi
      .fn()
      .mockResolvedValueOnce(unavailable({ 'Retry-After': '2' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(1999);
    expect(fn).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await expect(p).resolves.toBe('ok');
    expect(ofType('retry-scheduled')).toMatchObject([
      { delayMs: 2000, delaySource: 'server-hint', hintMs: 2000, attempt: 1 },
    ]);
  });

  it('reads Retry-After from the response of a thrown error', async () => {
    const { clock, policy } = setup({ backoff: constantBackoff(10) });
    const fn = vi
      .fn()
      .mockRejectedValueOnce(errorWithHeaders({ 'retry-after': '1' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(999);
    expect(fn).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    await expect(p).resolves.toBe('ok');
  });

  it('waits until a Retry-After HTTP-date, measured on clock.dateNow()', async () => {
    const { clock, policy } = setup();
    const fn = vi
      .fn()
      .mockResolvedValueOnce(unavailable({ 'Retry-After': 'Thu, 01 Jan 2026 00:00:05 GMT' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(4999);
    expect(fn).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await expect(p).resolves.toBe('ok');
  });

  it('falls back to the backoff when Retry-After is garbage', async () => {
    const { clock, policy, ofType } = setup({ backoff: constantBackoff(100) });
    const fn = vi
      .fn()
      .mockResolvedValueOnce(unavailable({ 'Retry-After': 'tomorrow-ish' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(100);
    expect(fn).toHaveBeenCalledTimes(2);
    await expect(p).resolves.toBe('ok');
    expect(ofType('retry-scheduled')).toMatchObject([
      { delayMs: 100, delaySource: 'backoff', hintMs: undefined },
    ]);
  });

  it('does not retry when grpc-retry-pushback-ms is negative', async () => {
    const { policy, ofType } = setup();
    const error = Object.assign(new Error('UNAVAILABLE'), {
      code: 'ECONNRESET',
      metadata: { get: (name: string) => (name === 'grpc-retry-pushback-ms' ? ['-1'] : []) },
    });
    const fn = vi.fn(() => Promise.reject(error));
    await expect(policy.execute(fn)).rejects.toBe(error);
    expect(fn).toHaveBeenCalledOnce();
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'not-retryable', error }]);
  });

  it('caps a hint above maxHintMs and reports the uncapped hint in the event', async () => {
    const { clock, policy, ofType } = setup({ maxHintMs: 5000 });
    const fn = vi
      .fn()
      .mockResolvedValueOnce(unavailable({ 'Retry-After': '120' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(5000);
    expect(fn).toHaveBeenCalledTimes(2);
    await expect(p).resolves.toBe('ok');
    const [scheduled] = ofType('retry-scheduled') as RetryScheduledHintEvent[];
    expect(scheduled).toMatchObject({
      delayMs: 5000,
      delaySource: 'server-hint',
      hintMs: 120_000,
    });
  });

  it('uses a custom delayHint, and ignores NaN or negative hints from it', async () => {
    const hints = [750, Number.NaN, -3];
    let i = 0;
    const { clock, policy, ofType } = setup({ maxAttempts: 4, delayHint: () => hints[i++] });
    const done = expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await clock.runAll();
    await done;
    expect(ofType('retry-scheduled').map((e) => [e.delayMs, e.delaySource])).toEqual([
      [750, 'server-hint'],
      [100, 'backoff'],
      [100, 'backoff'],
    ]);
  });

  it('falls back to the backoff when delayHint throws', async () => {
    const { clock, policy, ofType } = setup({
      delayHint: () => {
        throw new Error('broken extractor');
      },
    });
    const fn = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    expect(ofType('retry-scheduled')).toMatchObject([{ delaySource: 'backoff' }]);
  });

  it('passes the failure, its kind, the attempt and the wall clock to delayHint', async () => {
    const delayHint = vi.fn(() => undefined);
    const { clock, policy } = setup({ delayHint, maxAttempts: 2 });
    const result = unavailable();
    const p = policy.execute(() => result);
    await clock.runAll();
    await p;
    expect(delayHint).toHaveBeenCalledWith({
      error: result,
      isResult: true,
      attempt: 1,
      dateNow: NOW,
    });
  });
});

describe('retry: deadline', () => {
  it('gives up at once, with the original failure, when Retry-After: 3600 outlasts a 5 s deadline', async () => {
    const { clock, policy: retryPolicy, ofType } = setup();
    const policy = pipeline(new TestDeadline(clock, 5000), retryPolicy);
    const error = errorWithHeaders({ 'Retry-After': '3600' });
    const fn = vi.fn(() => Promise.reject(error));
    const p = policy.execute(fn);
    const done = expect(p).rejects.toBe(error);
    await settle();
    // Nothing is left waiting: neither a retry sleep nor (the call having ended) the deadline.
    expect(clock.pendingTimers).toBe(0);
    expect(clock.now()).toBe(0);
    await done;
    expect(fn).toHaveBeenCalledOnce();
    expect(ofType('retry-gave-up')).toMatchObject([
      { reason: 'hint-exceeds-deadline', attempt: 1, error },
    ]);
  });

  it('compares the uncapped hint with the deadline', async () => {
    const { clock, policy: retryPolicy, ofType } = setup({ maxHintMs: 1000 });
    const policy = pipeline(new TestDeadline(clock, 5000), retryPolicy);
    const response = unavailable({ 'Retry-After': '60' });
    const p = policy.execute(() => response);
    await settle();
    expect(clock.pendingTimers).toBe(0);
    await expect(p).resolves.toBe(response);
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'hint-exceeds-deadline' }]);
  });

  it('gives up at once when the backoff delay would end at or after the deadline', async () => {
    const { clock, policy: retryPolicy, ofType } = setup({ backoff: constantBackoff(2000) });
    const policy = pipeline(new TestDeadline(clock, 3000), retryPolicy);
    const errors = [networkError('first'), networkError('second')];
    let calls = 0;
    const p = policy.execute(() => Promise.reject(errors[calls++]!));
    const done = expect(p).rejects.toBe(errors[1]);
    // First retry fits (2000 < 3000); the second would start at 4000.
    await clock.advance(2000);
    expect(calls).toBe(2);
    expect(clock.pendingTimers).toBe(0);
    await done;
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'deadline', attempt: 2 }]);
  });

  it('gives up when the wait would end exactly at the deadline', async () => {
    const { clock, policy: retryPolicy, ofType } = setup({ backoff: constantBackoff(1500) });
    const policy = pipeline(new TestDeadline(clock, 3000), retryPolicy);
    const errors = [networkError('first'), networkError('second')];
    let calls = 0;
    const p = policy.execute(() => Promise.reject(errors[calls++]!));
    const done = expect(p).rejects.toBe(errors[1]);
    await clock.advance(1500);
    expect(clock.pendingTimers).toBe(0);
    await done;
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'deadline', attempt: 2 }]);
  });

  it('retries within the deadline when the hint fits', async () => {
    const { clock, policy: retryPolicy } = setup();
    const policy = pipeline(new TestDeadline(clock, 5000), retryPolicy);
    const fn = vi
      .fn()
      .mockResolvedValueOnce(unavailable({ 'Retry-After': '2' }))
      .mockResolvedValueOnce('ok');
    const p = policy.execute(fn);
    await clock.advance(2000);
    await expect(p).resolves.toBe('ok');
  });

  it('sees each attempt run with the deadline it was given', async () => {
    const { clock, policy: retryPolicy } = setup();
    const policy = pipeline(new TestDeadline(clock, 5000), retryPolicy);
    const seen: Array<[number, number]> = [];
    const p = policy.execute((context) => {
      seen.push([context.attempt, context.remaining()]);
      if (context.attempt === 1) throw networkError();
      return 'ok';
    });
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    expect(seen).toEqual([
      [1, 5000],
      [2, 4900],
    ]);
  });

  it("rejects with the scope's own abort error when its deadline fires during a backoff sleep", async () => {
    const { clock, policy: retryPolicy, ofType } = setup({ backoff: constantBackoff(900) });
    const policy = pipeline(new TestDeadline(clock, 500, false), retryPolicy);
    const fn = vi.fn(() => Promise.reject(networkError()));
    const p = policy.execute(fn);
    const done = expect(p).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(500);
    await done;
    expect(fn).toHaveBeenCalledOnce();
    expect(clock.pendingTimers).toBe(0);
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'aborted', attempt: 1 }]);
  });
});

describe('retry: budget', () => {
  it('surfaces the original failure with budget-exhausted when the budget is empty', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1000, clock });
    const { policy, ofType } = setup({ budget, maxAttempts: 5 }, clock);
    const errors = [networkError('a'), networkError('b')];
    let calls = 0;
    const p = policy.execute(() => Promise.reject(errors[calls++]!));
    const done = expect(p).rejects.toBe(errors[1]);
    await clock.runAll();
    await done;
    expect(calls).toBe(2);
    expect(ofType('retry-gave-up')).toMatchObject([
      { reason: 'budget-exhausted', attempt: 2, error: errors[1] },
    ]);
  });

  it('refills after the window, and is shared by every policy given it', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1000, clock });
    const a = retry({ clock, budget, backoff: constantBackoff(0) });
    const b = retry({ clock, budget, backoff: constantBackoff(0) });
    const failing = vi.fn(() => Promise.reject(networkError()));

    await expect(a.execute(failing)).rejects.toThrow();
    expect(failing).toHaveBeenCalledTimes(2); // one retry, then the budget is empty
    await expect(b.execute(failing)).rejects.toThrow();
    expect(failing).toHaveBeenCalledTimes(3); // b shares the empty budget: no retry

    await clock.advance(1000);
    await expect(b.execute(failing)).rejects.toThrow();
    expect(failing).toHaveBeenCalledTimes(5); // refilled: one retry again
  });

  it('records one request per call, not per attempt', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, clock });
    const policy = retry({ clock, budget, backoff: constantBackoff(0) });
    await policy.execute(() => 'ok');
    await policy.execute(() => 'ok');
    let calls = 0;
    await policy.execute(() => {
      if (++calls === 1) throw networkError();
      return 'ok';
    });
    expect(budget.state).toMatchObject({ requests: 3, retries: 1, available: 2 });
  });

  it('takes nothing from the budget when it gives up for another reason', async () => {
    const clock = new FakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1000, clock });
    const policy = retry({ clock, budget, maxAttempts: 1 });
    await expect(policy.execute(() => Promise.reject(networkError()))).rejects.toThrow();
    await expect(policy.execute(() => Promise.reject(new Error('bug')))).rejects.toThrow();
    expect(budget.available).toBe(1);
  });
});

describe('retry: cancellation', () => {
  it('ends a backoff sleep the moment the caller aborts, clearing the timer and the listener', async () => {
    const { clock, policy, ofType } = setup({ backoff: constantBackoff(10_000) });
    const controller = new AbortController();
    const fn = vi.fn(() => Promise.reject(networkError()));
    const p = policy.execute(fn, controller.signal);
    const done = expect(p).rejects.toBeInstanceOf(CancelledError);
    await settle();
    expect(clock.pendingTimers).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);

    controller.abort('user left');
    await done;
    await expect(p).rejects.toMatchObject({ reason: 'user left' });
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(fn).toHaveBeenCalledOnce();
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'aborted', attempt: 1 }]);
  });

  it('removes its abort listener when a sleep ends normally', async () => {
    const { clock, policy } = setup();
    const controller = new AbortController();
    const fn = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce('ok');
    const p = policy.execute(fn, controller.signal);
    await settle();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('does not start the next attempt when the caller aborts just as the sleep ends', async () => {
    const fake = new FakeClock({ date: NOW });
    const controller = new AbortController();
    // A clock whose timer callback is followed, in the same tick, by the caller's abort.
    const clock = Object.assign(Object.create(fake) as FakeClock, {
      setTimeout: (callback: () => void, ms: number) =>
        fake.setTimeout(() => {
          callback();
          controller.abort();
        }, ms),
    });
    const { policy, ofType } = setup({}, clock);
    const fn = vi.fn(() => Promise.reject(networkError()));
    const p = policy.execute(fn, controller.signal);
    const done = expect(p).rejects.toBeInstanceOf(CancelledError);
    await fake.advance(100);
    await done;
    expect(fn).toHaveBeenCalledOnce();
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'aborted', attempt: 1 }]);
  });

  it('does not start an attempt when the caller has already aborted', async () => {
    const { policy } = setup();
    const controller = new AbortController();
    controller.abort();
    const fn = vi.fn();
    await expect(policy.execute(fn, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects with the abort error, not the attempt error, when the caller aborted during the attempt', async () => {
    const clock = new FakeClock({ date: NOW });
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1000, clock });
    const { policy, ofType } = setup({ budget }, clock);
    const controller = new AbortController();
    const fn = vi.fn(() => {
      controller.abort();
      return Promise.reject(networkError());
    });
    await expect(policy.execute(fn, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(fn).toHaveBeenCalledOnce();
    expect(clock.pendingTimers).toBe(0);
    // Decided before anything is scheduled: no retry announced, nothing taken from the budget.
    expect(ofType('retry-scheduled')).toEqual([]);
    expect(budget.available).toBe(1);
    expect(ofType('retry-gave-up')).toMatchObject([{ reason: 'aborted' }]);
  });
});

describe('retry: telemetry', () => {
  it('records a successful first attempt through a listener fast path, named and per operation', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const recorded: Array<[SuccessTemplate, number]> = [];
    const listener = Object.assign((event: PolicyEvent) => void events.push(event), {
      [bindSuccess]: (template: SuccessTemplate) => (durationMs: number) =>
        void recorded.push([template, durationMs]),
    });
    const policy = retry({ name: 'users-api', clock, listener });
    const slow = () => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 15));
    const calls = [policy.execute(slow), pipeline({ operation: 'get-user' }, policy).execute(slow)];
    await clock.advance(15);
    await expect(Promise.all(calls)).resolves.toEqual(['ok', 'ok']);
    expect(recorded).toEqual([
      [
        {
          type: 'attempt',
          policy: 'retry',
          name: 'users-api',
          operation: undefined,
          attempt: 1,
          outcome: 'success',
          error: undefined,
        },
        15,
      ],
      [expect.objectContaining({ operation: 'get-user', attempt: 1 }), 15],
    ]);
    expect(events).toEqual([]);
  });

  it('reports each attempt with its outcome and duration, the scheduled retries and the give-up', async () => {
    const { clock, policy, events } = setup({ name: 'users-api', maxAttempts: 2 });
    const error = networkError();
    const p = pipeline({ operation: 'get-user' }, policy).execute(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 30));
      throw error;
    });
    const done = expect(p).rejects.toBe(error);
    await clock.runAll();
    await done;
    const common = { policy: 'retry', name: 'users-api', operation: 'get-user' };
    expect(events).toEqual([
      { ...common, type: 'attempt', attempt: 1, outcome: 'failure', durationMs: 30, error },
      {
        ...common,
        type: 'retry-scheduled',
        attempt: 1,
        delayMs: 100,
        delaySource: 'backoff',
        hintMs: undefined,
        error,
      },
      { ...common, type: 'attempt', attempt: 2, outcome: 'failure', durationMs: 30, error },
      { ...common, type: 'retry-gave-up', attempt: 2, reason: 'max-attempts', error },
    ]);
  });

  it('reports a successful attempt', async () => {
    const { policy, events } = setup();
    await policy.execute(() => 'ok');
    expect(events).toEqual([
      {
        type: 'attempt',
        policy: 'retry',
        name: undefined,
        operation: undefined,
        attempt: 1,
        outcome: 'success',
        durationMs: 0,
        error: undefined,
      },
    ]);
  });

  it('keeps the outcome when the listener throws', async () => {
    const { policy } = setup({
      listener: () => {
        throw new Error('exporter down');
      },
    });
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('puts on each attempt event the HTTP request its function says the attempt sent', async () => {
    const clock = new FakeClock({ date: NOW });
    const events: PolicyEvent[] = [];
    // With a fast path, a successful first attempt would otherwise be a bare duration.
    const listener = Object.assign((event: PolicyEvent) => void events.push(event), {
      [bindSuccess]: () => () => void events.push({ type: 'fast-success' } as never),
    });
    const policy = retry({ backoff: constantBackoff(0), clock, listener });
    const sent = (statusCode: number): HttpAttemptInfo => ({
      method: 'GET',
      url: 'https://api.example/x',
      statusCode,
    });
    /** Answers `statuses` in turn, and describes attempts as `describe` says. */
    const call = (
      statuses: number[],
      describe: (attempt: number) => HttpAttemptInfo | undefined,
    ) => {
      let n = 0;
      return Object.assign(() => new Response(null, { status: statuses[n++]! }), {
        [httpAttemptSource]: { httpAttempt: describe },
      });
    };

    // The second attempt says it sent nothing, as one a breaker rejected would.
    await policy.execute(call([503, 200], (attempt) => (attempt === 1 ? sent(503) : undefined)));
    await policy.execute(call([200], () => sent(200)));
    await policy.execute(() => 'not http');

    expect(events.map((e) => (e.type === 'attempt' ? [e.attempt, e.http] : e.type))).toEqual([
      [1, sent(503)],
      'retry-scheduled',
      [2, undefined],
      [1, sent(200)],
      'fast-success',
    ]);
  });

  it.each([
    ['on the fused path', (p: ReturnType<typeof pipeline>) => p],
    // A pipeline run as a step of another runs layer by layer.
    ['layer by layer', (p: ReturnType<typeof pipeline>) => pipeline(p)],
  ])(
    'reports the call as failed when the retry gives up on a failed result and returns it (%s)',
    async (_, wrap) => {
      const clock = new FakeClock({ date: NOW });
      const calls: PolicyEvent[] = [];
      // A listener with a fast path: a success would be reported through it, not as an event.
      const listener = Object.assign((event: PolicyEvent) => void calls.push(event), {
        [bindSuccess]: () => () => void calls.push({ type: 'success' } as never),
      });
      const policy = wrap(
        pipeline(
          { operation: 'get-user', listener, clock },
          retry({ maxAttempts: 2, backoff: constantBackoff(0), clock }),
        ),
      );
      const last = unavailable();
      let n = 0;
      const p = policy.execute(() => (++n === 1 ? unavailable() : last));
      await clock.runAll();
      await expect(p).resolves.toBe(last);
      expect(calls).toEqual([
        expect.objectContaining({ type: 'call', outcome: 'failure', error: last }),
      ]);
      // A result the classifier accepts is still a success.
      calls.length = 0;
      await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
      expect(calls).toEqual([{ type: 'success' }]);
    },
  );
});

describe('retry: options', () => {
  it.each<[string, RetryOptions, Error]>([
    [
      'maxAttempts 0',
      { maxAttempts: 0 },
      new RangeError('expected maxAttempts to be an integer between 1 and 1000, got 0'),
    ],
    [
      'maxAttempts 1001',
      { maxAttempts: 1001 },
      new RangeError('expected maxAttempts to be an integer between 1 and 1000, got 1001'),
    ],
    [
      'maxAttempts Infinity',
      { maxAttempts: Infinity },
      new RangeError('expected maxAttempts to be an integer between 1 and 1000, got Infinity'),
    ],
    [
      'maxAttempts 2.5',
      { maxAttempts: 2.5 },
      new RangeError('expected maxAttempts to be an integer between 1 and 1000, got 2.5'),
    ],
    [
      'maxAttempts "3"',
      { maxAttempts: '3' as unknown as number },
      new TypeError('expected maxAttempts to be an integer between 1 and 1000, got "3"'),
    ],
    [
      'a backoff that is not a function',
      { backoff: 100 as unknown as () => number },
      new TypeError('expected backoff to be a function, got 100'),
    ],
    [
      'maxDelayMs -1',
      { maxDelayMs: -1 },
      new RangeError('expected maxDelayMs to be a finite number between 0 and 86400000, got -1'),
    ],
    [
      'maxHintMs Infinity',
      { maxHintMs: Infinity },
      new RangeError(
        'expected maxHintMs to be a finite number between 0 and 86400000, got Infinity',
      ),
    ],
    [
      'a classifier that is a function',
      { classify: (() => true) as unknown as object },
      new TypeError(
        'expected classify to be an object with error and/or result predicates, got a function',
      ),
    ],
    [
      'an empty classifier',
      { classify: {} },
      new TypeError('expected classify to have an error or a result predicate, got neither'),
    ],
    [
      'a classifier with a non-function predicate',
      { classify: { error: true as unknown as () => boolean } },
      new TypeError('expected classify.error to be a function, got boolean'),
    ],
    [
      'a delayHint that is not a function',
      { delayHint: 'retry-after' as unknown as () => undefined },
      new TypeError('expected delayHint to be a function, got "retry-after"'),
    ],
    [
      'a budget that is not a RetryBudget',
      { budget: { ratio: 0.2 } as never },
      new TypeError('expected budget to be a RetryBudget from retryBudget(), got an object'),
    ],
    [
      'an empty name',
      { name: '' },
      new TypeError('expected name to be a non-empty string, got ""'),
    ],
    [
      'a listener that is not a function',
      { listener: {} as never },
      new TypeError('expected listener to be a function, got an object'),
    ],
    [
      'a clock without timers',
      { clock: { now: () => 0 } as never },
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
      ),
    ],
    [
      'a random that is not a function',
      { random: 0.5 as never },
      new TypeError('expected random to be a function, got 0.5'),
    ],
    [
      'unref that is not a boolean',
      { unref: 'yes' as never },
      new TypeError('expected unref to be a boolean, got "yes"'),
    ],
    [
      "cockatiel's name for something else",
      { maxRetries: 3 } as never,
      new TypeError(
        'unknown option "maxRetries" for retry(); expected one of maxAttempts, backoff, maxDelayMs, classify, delayHint, maxHintMs, budget, name, listener, clock, random, unref',
      ),
    ],
    [
      'a misspelt option',
      { maxAtempts: 3 } as never,
      new TypeError(
        'unknown option "maxAtempts" for retry(); did you mean "maxAttempts"? expected one of maxAttempts, backoff, maxDelayMs, classify, delayHint, maxHintMs, budget, name, listener, clock, random, unref',
      ),
    ],
    [
      'a misspelt predicate name in classify',
      { classify: { errors: () => true } as never },
      new TypeError(
        'unknown option "classify.errors" for retry(); did you mean "error"? expected one of error, result',
      ),
    ],
  ])('rejects %s with the exact message', (_label, options, expected) => {
    expect(() => retry(options)).toThrow(expected);
    expect(() => retry(options)).toThrow(expected.constructor);
  });

  it('rejects options that are not an object', () => {
    expect(() => retry(null as never)).toThrow(
      new TypeError('expected the options of retry() to be an object, got null'),
    );
  });

  it('accepts the boundaries of every range', () => {
    expect(() =>
      retry({ maxAttempts: 1, maxDelayMs: 0, maxHintMs: 86_400_000, unref: true }),
    ).not.toThrow();
    expect(retry({ maxAttempts: 1000 }).maxAttempts).toBe(1000);
    expect(retry().maxAttempts).toBe(3);
  });
});
