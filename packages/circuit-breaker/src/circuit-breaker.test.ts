import {
  BrokenCircuitError,
  CancelledError,
  DeadlineExceededError,
  IsolatedCircuitError,
  isBrokenCircuitError,
  pipeline,
  type PolicyEvent,
  TimeoutError,
} from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  circuitBreaker,
  type CircuitBreakerOptions,
  MAX_REPORTED_OPERATIONS,
} from './circuit-breaker.js';
import { consecutive } from './consecutive.js';
import { countWindow } from './count-window.js';
import { timeWindow } from './time-window.js';

const boom = (): never => {
  throw new Error('boom');
};

function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A breaker that opens on the first failure, on a fake clock. */
function setup(options: CircuitBreakerOptions = {}) {
  const clock = new FakeClock();
  const events: PolicyEvent[] = [];
  const breaker = circuitBreaker({
    strategy: consecutive({ threshold: 1 }),
    breakDurationMs: 1000,
    clock,
    listener: (event) => events.push(event),
    ...options,
  });
  const trip = () => expect(breaker.execute(boom)).rejects.toThrow('boom');
  return { clock, breaker, events, trip };
}

describe('circuitBreaker() when open', () => {
  it('rejects calls without running them, with the key and the time until the next trial', async () => {
    const { clock, breaker, trip } = setup({ key: 'api.example.com' });
    await trip();
    await clock.advance(400);
    const fn = vi.fn(() => 'ok');
    const error = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(isBrokenCircuitError(error)).toBe(true);
    expect(error).toMatchObject({
      key: 'api.example.com',
      retryAfterMs: 600,
      code: 'BULWARK_BROKEN_CIRCUIT',
      message: 'circuit api.example.com is open; next trial in 600 ms',
    });
  });

  it('rounds retryAfterMs up to whole milliseconds', async () => {
    const { clock, breaker, trip } = setup();
    await trip();
    await clock.advance(999.5);
    await expect(breaker.execute(() => 'ok')).rejects.toMatchObject({
      retryAfterMs: 1,
      key: undefined,
      message: 'circuit is open; next trial in 1 ms',
    });
  });

  it('stays open until breakDurationMs has elapsed, then admits a trial', async () => {
    const { clock, breaker, trip } = setup();
    await trip();
    await clock.advance(999);
    await expect(breaker.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    await clock.advance(1);
    await expect(breaker.execute(() => 'trial')).resolves.toBe('trial');
    expect(breaker.state).toBe('closed');
  });

  it('defaults breakDurationMs to 30 s', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutive({ threshold: 1 }), clock });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(() => 'ok')).rejects.toMatchObject({ retryAfterMs: 30_000 });
    await clock.advance(30_000);
    await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('rejects a synchronous throw of the wrapped function as a failure, never synchronously', async () => {
    const { breaker } = setup();
    const result = breaker.execute(boom);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });
});

describe('circuitBreaker() half-open', () => {
  it('admits exactly halfOpenTrials trial calls and rejects the rest', async () => {
    const { clock, breaker, trip } = setup({ halfOpenTrials: 3, key: 'k' });
    await trip();
    await clock.advance(1000);
    const trials = [deferred(), deferred(), deferred()];
    const running = trials.map((d) => breaker.execute(() => d.promise));
    const extra = vi.fn(() => 'extra');
    const rejected = await breaker.execute(extra).catch((e: unknown) => e);
    expect(extra).not.toHaveBeenCalled();
    expect(rejected).toBeInstanceOf(BrokenCircuitError);
    expect(rejected).toMatchObject({
      key: 'k',
      retryAfterMs: undefined,
      message: 'circuit k is half-open and its trial calls are taken',
    });
    expect(breaker.view().halfOpen).toEqual({ trials: 3, inFlight: 3, passed: 0 });
    trials.forEach((d, i) => d.resolve(`t${i}`));
    await expect(Promise.all(running)).resolves.toEqual(['t0', 't1', 't2']);
  });

  it('closes only once every trial has succeeded', async () => {
    const { clock, breaker, trip } = setup({ halfOpenTrials: 2 });
    await trip();
    await clock.advance(1000);
    await breaker.execute(() => 'first');
    expect(breaker.state).toBe('half-open');
    expect(breaker.view().halfOpen).toEqual({ trials: 2, inFlight: 0, passed: 1 });
    // The slot of a passed trial is not handed out again: one more trial is admitted.
    await breaker.execute(() => 'second');
    expect(breaker.state).toBe('closed');
  });

  it('admits one trial by default', async () => {
    const { clock, breaker, trip } = setup({ halfOpenTrials: undefined });
    await trip();
    await clock.advance(1000);
    const trial = deferred();
    const running = breaker.execute(() => trial.promise);
    await expect(breaker.execute(() => 'second')).rejects.toBeInstanceOf(BrokenCircuitError);
    trial.resolve('ok');
    await running;
    expect(breaker.state).toBe('closed');
  });

  it('re-opens on a failed trial and ignores the trials still in flight', async () => {
    const { clock, breaker, trip } = setup({ halfOpenTrials: 2 });
    await trip();
    await clock.advance(1000);
    const slow = deferred();
    const stale = breaker.execute(() => slow.promise);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view()).toMatchObject({
      state: 'open',
      retryAfterMs: 1000,
      halfOpen: undefined,
    });
    await clock.advance(1000);
    await breaker.execute(() => 'new trial');
    expect(breaker.view().halfOpen).toEqual({ trials: 2, inFlight: 0, passed: 1 });
    // The trial of the previous half-open period must not count as this one's second.
    slow.resolve('late');
    await expect(stale).resolves.toBe('late');
    expect(breaker.view().halfOpen).toEqual({ trials: 2, inFlight: 0, passed: 1 });
  });

  it('ignores a trial failing after another trial already re-opened the breaker', async () => {
    const { clock, breaker, trip } = setup({ halfOpenTrials: 2 });
    await trip();
    await clock.advance(1000);
    const slow = deferred();
    const stale = breaker.execute(() => slow.promise);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await clock.advance(400);
    slow.reject(new Error('late'));
    await expect(stale).rejects.toThrow('late');
    // Not a second re-open: the break is not restarted.
    expect(breaker.view()).toMatchObject({ state: 'open', retryAfterMs: 600, reopens: 1 });
  });

  it('ignores a failing result of a call admitted while closed that arrives in half-open', async () => {
    const { clock, breaker } = setup({ classify: { result: ({ result }) => result === 503 } });
    const late = deferred<number>();
    const running = breaker.execute(() => late.promise);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await clock.advance(1000);
    const trial = deferred();
    const trialRun = breaker.execute(() => trial.promise);
    late.resolve(503);
    await expect(running).resolves.toBe(503);
    expect(breaker.state).toBe('half-open');
    trial.resolve('ok');
    await trialRun;
    expect(breaker.state).toBe('closed');
  });

  it('frees the slot of a trial whose error does not count', async () => {
    const { clock, breaker, trip } = setup();
    await trip();
    await clock.advance(1000);
    await expect(
      breaker.execute(() => Promise.reject(new CancelledError())),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(breaker.view().halfOpen).toEqual({ trials: 1, inFlight: 0, passed: 0 });
    await breaker.execute(() => 'ok');
    expect(breaker.state).toBe('closed');
  });

  it('fails a trial whose result counts as a failure', async () => {
    const { clock, breaker, trip } = setup({
      classify: { result: ({ result }) => result === 503 },
    });
    await trip();
    await clock.advance(1000);
    await expect(breaker.execute(() => 503)).resolves.toBe(503);
    expect(breaker.state).toBe('open');
  });

  it('fails a trial slower than slowCallMs when the strategy has a slow-call rule', async () => {
    const { clock, breaker } = setup({
      strategy: countWindow({ size: 1, slowCallMs: 100 }),
    });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await clock.advance(1000);
    const slowTrial = breaker.execute(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 101));
      return 'slow';
    });
    await clock.advance(101);
    await expect(slowTrial).resolves.toBe('slow');
    expect(breaker.state).toBe('open');
  });

  it('ignores the late outcome of a call admitted while closed', async () => {
    const { clock, breaker } = setup({ strategy: consecutive({ threshold: 2 }) });
    const late = deferred();
    const running = breaker.execute(() => late.promise);
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.state).toBe('open');
    await clock.advance(1000);
    const trial = deferred();
    const trialRun = breaker.execute(() => trial.promise);
    // A failure from before the break is no verdict on the trial: the breaker stays half-open.
    late.reject(new Error('late'));
    await expect(running).rejects.toThrow('late');
    expect(breaker.view()).toMatchObject({
      state: 'half-open',
      halfOpen: { inFlight: 1, passed: 0 },
    });
    trial.resolve('ok');
    await trialRun;
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker() break backoff', () => {
  it('multiplies the break on each failed trial up to maxMs, and restarts from breakDurationMs once closed', async () => {
    const { clock, breaker, trip } = setup({ breakBackoff: { factor: 2, maxMs: 5000 } });
    const breaks: number[] = [];
    await trip();
    breaks.push(breaker.view().retryAfterMs!);
    for (let i = 0; i < 4; i++) {
      await clock.advance(breaker.view().retryAfterMs!);
      await expect(breaker.execute(boom)).rejects.toThrow('boom');
      breaks.push(breaker.view().retryAfterMs!);
    }
    expect(breaks).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(breaker.view()).toMatchObject({ breakMs: 5000, reopens: 4 });
    await clock.advance(5000);
    await breaker.execute(() => 'ok');
    expect(breaker.view()).toMatchObject({ state: 'closed', breakMs: 1000, reopens: 0 });
    await trip();
    expect(breaker.view().retryAfterMs).toBe(1000);
  });

  it('keeps every break at breakDurationMs without breakBackoff', async () => {
    const { clock, breaker, trip } = setup();
    await trip();
    await clock.advance(1000);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view()).toMatchObject({ retryAfterMs: 1000, reopens: 1 });
  });

  it('caps the default maxMs at breakDurationMs when the break is longer than 5 minutes', async () => {
    const { clock, breaker, trip } = setup({ breakDurationMs: 600_000, breakBackoff: {} });
    await trip();
    await clock.advance(600_000);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view()).toMatchObject({ breakMs: 600_000, reopens: 1 });
  });

  it('defaults the factor to 2 and maxMs to 5 minutes', async () => {
    const { clock, breaker, trip } = setup({ breakDurationMs: 100_000, breakBackoff: {} });
    await trip();
    await clock.advance(100_000);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view().breakMs).toBe(200_000);
    await clock.advance(200_000);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.view().breakMs).toBe(300_000);
  });
});

describe('circuitBreaker() isolate() and reset()', () => {
  it('isolate() rejects every call with an IsolatedCircuitError until reset()', async () => {
    const { clock, breaker } = setup({ key: 'db' });
    breaker.isolate();
    const fn = vi.fn(() => 'ok');
    await expect(breaker.execute(fn)).rejects.toThrow(new IsolatedCircuitError('db'));
    await expect(breaker.execute(fn)).rejects.toMatchObject({
      key: 'db',
      code: 'BULWARK_ISOLATED_CIRCUIT',
    });
    await clock.advance(1_000_000);
    expect(breaker.state).toBe('isolated');
    await expect(breaker.execute(fn)).rejects.toBeInstanceOf(IsolatedCircuitError);
    expect(fn).not.toHaveBeenCalled();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(fn)).resolves.toBe('ok');
  });

  it('reset() closes an open breaker and forgets its counters and backoff', async () => {
    const { clock, breaker, trip } = setup({
      strategy: countWindow({ size: 2, minimumCalls: 2 }),
      breakBackoff: { factor: 3 },
    });
    await trip();
    await trip();
    await clock.advance(1000);
    await trip();
    expect(breaker.view()).toMatchObject({ state: 'open', breakMs: 3000, failures: 2 });
    breaker.reset();
    expect(breaker.view()).toMatchObject({
      state: 'closed',
      breakMs: 1000,
      reopens: 0,
      failures: 0,
      calls: 0,
    });
  });

  it('reset() makes the outcomes of calls still in flight not count', async () => {
    const { breaker } = setup();
    const late = deferred();
    const running = breaker.execute(() => late.promise);
    breaker.reset();
    late.reject(new Error('late'));
    await expect(running).rejects.toThrow('late');
    expect(breaker.state).toBe('closed');
  });

  it('isolate() twice reports one transition', () => {
    const { breaker, events } = setup();
    breaker.isolate();
    breaker.isolate();
    expect(events.filter((e) => e.type === 'breaker-state')).toHaveLength(1);
  });
});

describe('circuitBreaker() classify', () => {
  it('does not count a CancelledError', async () => {
    const { breaker } = setup();
    await expect(
      breaker.execute(() => Promise.reject(new CancelledError())),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(breaker.state).toBe('closed');
  });

  it('does not count a DeadlineExceededError', async () => {
    const { breaker } = setup();
    await expect(
      breaker.execute(() => Promise.reject(new DeadlineExceededError(100))),
    ).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(breaker.state).toBe('closed');
  });

  it('does not count whatever the call threw after the caller aborted it', async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const running = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        ),
      controller.signal,
    );
    controller.abort();
    await expect(running).rejects.toThrow('aborted');
    expect(breaker.state).toBe('closed');
  });

  it('counts an abort caused by a timeout', async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const running = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        ),
      controller.signal,
    );
    controller.abort(new TimeoutError(100));
    await expect(running).rejects.toThrow('aborted');
    expect(breaker.state).toBe('open');
  });

  it('counts a TimeoutError', async () => {
    const { breaker } = setup();
    await expect(
      breaker.execute(() => Promise.reject(new TimeoutError(50))),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(breaker.state).toBe('open');
  });

  it('uses classify.error in place of the default, telling it whether the caller aborted', async () => {
    const seen: unknown[] = [];
    const { breaker } = setup({
      classify: {
        error: ({ error, callerAborted }) => {
          seen.push({ error, callerAborted });
          return error instanceof RangeError;
        },
      },
    });
    const notCounted = new TypeError('client bug');
    await expect(breaker.execute(() => Promise.reject(notCounted))).rejects.toBe(notCounted);
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => Promise.reject(new CancelledError()))).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    const counted = new RangeError('server down');
    await expect(breaker.execute(() => Promise.reject(counted))).rejects.toBe(counted);
    expect(breaker.state).toBe('open');
    expect(seen[0]).toEqual({ error: notCounted, callerAborted: false });
  });

  it('counts results that classify.result flags, and still returns them', async () => {
    const { breaker } = setup({
      strategy: consecutive({ threshold: 2 }),
      classify: { result: ({ result }) => (result as { status: number }).status >= 500 },
    });
    await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await expect(breaker.execute(() => ({ status: 200 }))).resolves.toEqual({ status: 200 });
    await breaker.execute(() => ({ status: 500 }));
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => ({ status: 502 }));
    expect(breaker.state).toBe('open');
  });
});

describe('circuitBreaker() clock reads', () => {
  function countingClock() {
    const clock = new FakeClock();
    const counted = {
      reads: 0,
      now: () => {
        counted.reads++;
        return clock.now();
      },
      dateNow: () => clock.dateNow(),
      setTimeout: (cb: () => void, ms: number) => clock.setTimeout(cb, ms),
      clearTimeout: (handle: unknown) => clock.clearTimeout(handle),
    };
    return counted;
  }

  it('never reads the clock for a closed call with the consecutive strategy', async () => {
    const clock = countingClock();
    const breaker = circuitBreaker({ strategy: consecutive({ threshold: 10 }), clock });
    await breaker.execute(() => 'ok');
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(clock.reads).toBe(0);
  });

  it('never reads the clock for a closed call with a count window and no slow-call rule', async () => {
    const clock = countingClock();
    const breaker = circuitBreaker({ strategy: countWindow(), clock });
    await breaker.execute(() => 'ok');
    expect(clock.reads).toBe(0);
  });

  it('reads the clock once per call with a time window', async () => {
    const clock = countingClock();
    const breaker = circuitBreaker({ strategy: timeWindow(), clock });
    await breaker.execute(() => 'ok');
    expect(clock.reads).toBe(1);
  });

  it('reads the clock twice per call with a slow-call rule', async () => {
    const clock = countingClock();
    const breaker = circuitBreaker({ strategy: countWindow({ slowCallMs: 10 }), clock });
    await breaker.execute(() => 'ok');
    expect(clock.reads).toBe(2);
  });
});

describe('circuitBreaker() events', () => {
  it('reports the first call of each named operation once (breaker-used), on either path a call takes', async () => {
    const { breaker, events, trip } = setup({ name: 'users' });
    const fused = pipeline({ operation: 'get-user' }, breaker);
    // On another clock than the breaker's, a pipeline runs its policies layer by layer.
    const layered = pipeline({ operation: 'list-users', clock: new FakeClock() }, breaker);
    for (let i = 0; i < 2; i++) {
      await fused.execute(() => 'ok');
      await layered.execute(() => 'ok');
    }
    await breaker.execute(() => 'ok'); // names no operation
    await trip();
    const late = pipeline({ operation: 'delete-user' }, breaker);
    await expect(late.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    const base = { policy: 'circuit-breaker', name: 'users', key: undefined };
    expect(events.filter((e) => e.type === 'breaker-used')).toEqual([
      { ...base, type: 'breaker-used', operation: 'get-user', state: 'closed' },
      { ...base, type: 'breaker-used', operation: 'list-users', state: 'closed' },
      { ...base, type: 'breaker-used', operation: 'delete-user', state: 'open' },
    ]);
  });

  it(`remembers at most ${MAX_REPORTED_OPERATIONS} operations of a breaker`, async () => {
    const { breaker, events } = setup();
    for (let i = 0; i < MAX_REPORTED_OPERATIONS + 10; i++) {
      await pipeline({ operation: `op-${i}` }, breaker).execute(() => 'ok');
    }
    await pipeline({ operation: 'op-0' }, breaker).execute(() => 'ok');
    const used = events.filter((e) => e.type === 'breaker-used').map((e) => e.operation);
    expect(used).toHaveLength(MAX_REPORTED_OPERATIONS);
    expect(used.at(-1)).toBe(`op-${MAX_REPORTED_OPERATIONS - 1}`);
  });

  it('reports every transition and rejection in order, with key, name and operation', async () => {
    const { clock, breaker, events } = setup({ key: 'k', name: 'users' });
    const policy = pipeline({ operation: 'get-user' }, breaker);
    await expect(policy.execute(boom)).rejects.toThrow('boom');
    await expect(policy.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    await clock.advance(1000);
    await policy.execute(() => 'ok');
    breaker.isolate();
    await expect(policy.execute(() => 'ok')).rejects.toBeInstanceOf(IsolatedCircuitError);
    breaker.reset();
    const base = { policy: 'circuit-breaker', name: 'users', key: 'k' };
    expect(events).toEqual([
      { ...base, type: 'breaker-created', operation: undefined, state: 'closed' },
      { ...base, type: 'breaker-used', operation: 'get-user', state: 'closed' },
      { ...base, type: 'breaker-state', operation: 'get-user', from: 'closed', to: 'open' },
      { ...base, type: 'breaker-rejected', operation: 'get-user', state: 'open' },
      { ...base, type: 'breaker-state', operation: 'get-user', from: 'open', to: 'half-open' },
      { ...base, type: 'breaker-state', operation: 'get-user', from: 'half-open', to: 'closed' },
      { ...base, type: 'breaker-state', operation: undefined, from: 'closed', to: 'isolated' },
      { ...base, type: 'breaker-rejected', operation: 'get-user', state: 'isolated' },
      { ...base, type: 'breaker-state', operation: undefined, from: 'isolated', to: 'closed' },
    ]);
  });

  it('reports a failed trial as half-open to open, and a half-open rejection', async () => {
    const { clock, breaker, events, trip } = setup();
    await trip();
    await clock.advance(1000);
    const trial = deferred();
    const running = breaker.execute(() => trial.promise);
    await expect(breaker.execute(() => 'x')).rejects.toBeInstanceOf(BrokenCircuitError);
    trial.reject(new Error('still down'));
    await expect(running).rejects.toThrow('still down');
    expect(events.map((e) => (e.type === 'breaker-state' ? `${e.from}>${e.to}` : e.type))).toEqual([
      'breaker-created',
      'closed>open',
      'open>half-open',
      'breaker-rejected',
      'half-open>open',
    ]);
  });

  it("sets cockatiel's onFailure handled flag for counted errors and rejections only", async () => {
    const { breaker } = setup({ strategy: consecutive({ threshold: 2 }) });
    const handled: boolean[] = [];
    breaker.onFailure(({ handled: h }) => handled.push(h));
    await expect(breaker.execute(() => Promise.reject(new CancelledError()))).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(handled).toEqual([false, true, true, true]);
  });

  it('survives a listener that throws', async () => {
    const { breaker } = setup({
      listener: () => {
        throw new Error('exporter down');
      },
    });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
  });
});

describe('circuitBreaker() view()', () => {
  it('describes a closed count-window breaker', async () => {
    const { breaker } = setup({
      key: 'k',
      name: 'n',
      strategy: countWindow({ size: 10, slowCallMs: 100 }),
    });
    await breaker.execute(() => 'ok');
    await expect(breaker.execute(boom)).rejects.toThrow();
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    expect(breaker.view()).toEqual({
      key: 'k',
      name: 'n',
      state: 'closed',
      strategy: 'count-window',
      failures: 1,
      calls: 4,
      failureRatio: 0.25,
      slowCalls: 0,
      slowCallRatio: 0,
      breakMs: 1000,
      reopens: 0,
      nextTrialAt: undefined,
      retryAfterMs: undefined,
      halfOpen: undefined,
    });
  });

  it('describes an open breaker with the wall-clock time of its next trial', async () => {
    const { clock, breaker, trip } = setup();
    await trip();
    await clock.advance(250);
    expect(breaker.view()).toEqual({
      key: undefined,
      name: undefined,
      state: 'open',
      strategy: 'consecutive',
      failures: 1,
      calls: undefined,
      failureRatio: undefined,
      slowCalls: undefined,
      slowCallRatio: undefined,
      breakMs: 1000,
      reopens: 0,
      nextTrialAt: clock.dateNow() + 750,
      retryAfterMs: 750,
      halfOpen: undefined,
    });
  });

  it('reads half-open once the break has elapsed, before any call arrives, without an event', async () => {
    const { clock, breaker, events, trip } = setup();
    await trip();
    await clock.advance(1000);
    expect(breaker.view()).toMatchObject({
      state: 'half-open',
      nextTrialAt: undefined,
      retryAfterMs: undefined,
      halfOpen: { trials: 1, inFlight: 0, passed: 0 },
    });
    expect(events.map((e) => e.type)).toEqual(['breaker-created', 'breaker-state']);
  });

  it('is a copy: changing it changes nothing', async () => {
    const { breaker } = setup();
    const view = breaker.view() as { state: string };
    view.state = 'open';
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker() options', () => {
  const cases: Array<[string, CircuitBreakerOptions, Error]> = [
    [
      'a strategy that is not one',
      { strategy: { threshold: 5 } as never },
      new TypeError(
        'expected strategy to be a breaker strategy from consecutive(), countWindow() or timeWindow(), got an object',
      ),
    ],
    [
      'breakDurationMs 0',
      { breakDurationMs: 0 },
      new RangeError('expected breakDurationMs to be an integer >= 1, got 0'),
    ],
    [
      'a fractional breakDurationMs',
      { breakDurationMs: 1.5 },
      new RangeError('expected breakDurationMs to be an integer >= 1, got 1.5'),
    ],
    [
      'halfOpenTrials 0',
      { halfOpenTrials: 0 },
      new RangeError('expected halfOpenTrials to be an integer >= 1, got 0'),
    ],
    [
      'a string halfOpenTrials',
      { halfOpenTrials: '2' as never },
      new TypeError('expected halfOpenTrials to be an integer >= 1, got "2"'),
    ],
    [
      'a breakBackoff that is not an object',
      { breakBackoff: 2 as never },
      new TypeError('expected breakBackoff to be an object, got 2'),
    ],
    [
      'a breakBackoff.factor below 1',
      { breakBackoff: { factor: 0.5 } },
      new RangeError(
        'expected breakBackoff.factor to be a finite number between 1 and 100, got 0.5',
      ),
    ],
    [
      'a breakBackoff.maxMs below breakDurationMs',
      { breakDurationMs: 10_000, breakBackoff: { maxMs: 5000 } },
      new RangeError('expected breakBackoff.maxMs to be an integer >= 10000, got 5000'),
    ],
    [
      'a classify that is a function',
      { classify: (() => true) as never },
      new TypeError('expected classify to be an object, got a function'),
    ],
    [
      'a classify.error that is not a function',
      { classify: { error: true as never } },
      new TypeError('expected classify.error to be a function, got boolean'),
    ],
    [
      'a classify.result that is not a function',
      { classify: { result: 'x' as never } },
      new TypeError('expected classify.result to be a function, got "x"'),
    ],
    ['an empty key', { key: '' }, new TypeError('expected key to be a non-empty string, got ""')],
    [
      'a key over 1024 characters',
      { key: 'k'.repeat(1025) },
      new RangeError(
        `expected key to be a string of at most 1024 characters, got "${'k'.repeat(40)}…"`,
      ),
    ],
    [
      'a name that is not a string',
      { name: 7 as never },
      new TypeError('expected name to be a non-empty string, got 7'),
    ],
    [
      'a listener that is not a function',
      { listener: {} as never },
      new TypeError('expected listener to be a function, got an object'),
    ],
    [
      'a misspelt option',
      { breakDuration: 5_000 } as never,
      new TypeError(
        'unknown option "breakDuration" for circuitBreaker(); did you mean "breakDurationMs"? expected one of strategy, breakDurationMs, breakBackoff, halfOpenTrials, classify, name, key, listener, clock, restore',
      ),
    ],
    [
      'a clock without dateNow()',
      { clock: { now: () => 0 } as never },
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
      ),
    ],
  ];

  it.each<[string, CircuitBreakerOptions, string]>([
    [
      'breakBackoff',
      { breakBackoff: { factr: 2 } as never },
      'unknown option "breakBackoff.factr" for circuitBreaker(); did you mean "factor"? expected one of factor, maxMs',
    ],
    [
      'classify',
      { classify: { results: () => true } as never },
      'unknown option "classify.results" for circuitBreaker(); did you mean "result"? expected one of error, result',
    ],
  ])('rejects a misspelt option in %s, naming where it sits', (_where, options, message) => {
    expect(() => circuitBreaker(options)).toThrow(new TypeError(message));
  });

  it.each(cases)('rejects %s with the exact message', (_label, options, error) => {
    expect(() => circuitBreaker(options)).toThrow(error);
  });

  it('rejects options that are not an object', () => {
    expect(() => circuitBreaker(5 as never)).toThrow(
      new TypeError('expected the options of circuitBreaker() to be an object, got 5'),
    );
  });
});
