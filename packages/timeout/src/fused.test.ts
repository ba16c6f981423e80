// The pipeline's fused path (core's fused.ts) with the real policies: one frame per call for
// bulkhead, deadline, retry, breaker and timeout. Each test pins down a behaviour the
// layer-by-layer path has, and that the fused path must keep.
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  type ExecutionContext,
  type PolicyEvent,
  type SuccessTemplate,
  type TelemetryListener,
  TimeoutError,
  bindSuccess,
  pipeline,
} from '@bulwark/core';
import { Context, Frame, Scope, toContext } from '@bulwark/core/internal';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.js';
import { timeout } from './timeout.js';

const never = () => new Promise<never>(() => {});

/** The benchmark's pipeline on a fake clock, every policy reporting to `events`. */
function fivePolicies(
  clock: FakeClock,
  options: {
    deadline?: 'aggressive' | 'cooperative';
    timeout?: 'aggressive' | 'cooperative';
    listener?: TelemetryListener;
  } = {},
) {
  const events: PolicyEvent[] = [];
  const listener = options.listener ?? ((event: PolicyEvent) => void events.push(event));
  const limiter = bulkhead({ limit: 1, queue: 5, clock, listener });
  const breaker = circuitBreaker({ strategy: consecutive({ threshold: 5 }), clock, listener });
  const policy = pipeline(
    { operation: 'op', listener },
    limiter,
    deadline(1_000, { strategy: options.deadline ?? 'aggressive', clock, listener }),
    retry({ maxAttempts: 3, backoff: () => 10, clock, listener, classify: { error: () => true } }),
    breaker,
    timeout(100, { strategy: options.timeout ?? 'cooperative', clock, listener }),
  );
  return { policy, events, limiter, breaker };
}

describe('the fused path', () => {
  it('gives the function one context: attempt 1, the innermost deadline, a signal that aborts on the timeout', async () => {
    const clock = new FakeClock({ now: 5_000 });
    const { policy } = fivePolicies(clock);
    let seen: ExecutionContext | undefined;
    const call = policy.execute((context) => {
      seen = context;
      return new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => reject(new Error('stopped')));
      });
    });
    const settled = expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(seen!.attempt).toBe(1);
    expect(seen!.operation).toBe('op');
    expect(seen!.deadline).toBe(5_100);
    expect(seen!.remaining()).toBe(100);
    await clock.advance(100);
    expect(seen!.signal.aborted).toBe(true);
    expect(seen!.signal.reason).toBeInstanceOf(TimeoutError);
    // The timeout's expiry is retried: attempt 2 runs layer by layer, with a context of its own.
    await clock.advance(10);
    expect(seen!.attempt).toBe(2);
    expect(seen!.deadline).toBe(5_210);
    seen = undefined;
    await clock.advance(200);
    expect(seen!.attempt).toBe(3);
    await clock.advance(100);
    await settled;
  });

  it('releases the caller when the aggressive deadline ends during a retry, and aborts that attempt', async () => {
    const clock = new FakeClock();
    const { policy, limiter } = fivePolicies(clock);
    const signals: AbortSignal[] = [];
    // Attempt 1 ignores its signal (the cooperative timeout waits for it); later ones hang.
    const call = policy.execute(({ signal, attempt }) => {
      signals.push(signal);
      if (attempt === 1)
        return new Promise((_r, reject) => clock.setTimeout(() => reject(new Error('late')), 950));
      return never();
    });
    const settled = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(950);
    expect(signals).toHaveLength(1);
    await clock.advance(10);
    expect(signals).toHaveLength(2);
    expect(limiter.active).toBe(1);
    await clock.advance(40);
    await settled;
    expect(signals[1]!.aborted).toBe(true);
    expect(signals[1]!.reason).toBeInstanceOf(DeadlineExceededError);
    // The bulkhead's slot is free once the caller is released.
    expect(limiter.active).toBe(0);
  });

  it('with a cooperative deadline, waits for the function and then fails with the deadline', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      deadline(1_000, { strategy: 'cooperative', clock }),
      retry({ maxAttempts: 3, backoff: () => 10, clock, classify: { error: () => true } }),
      timeout(5_000, { strategy: 'cooperative', clock }),
    );
    let settledAt: number | undefined;
    // Attempt 1 fails at once; attempt 2 stops 5 ms after its signal aborts.
    const call = policy.execute(({ signal, attempt }) => {
      if (attempt === 1) return Promise.reject(new Error('boom'));
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () =>
          clock.setTimeout(() => reject(new Error('stopped')), 5),
        );
      });
    });
    const settled = expect(call.finally(() => (settledAt = clock.now()))).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    await clock.advance(1_000);
    expect(settledAt).toBeUndefined();
    await clock.advance(5);
    await settled;
    expect(settledAt).toBe(1_005);
  });

  it('ignores a released attempt that settles late while the retry runs the next one', async () => {
    const clock = new FakeClock();
    const policy = pipeline(
      retry({ maxAttempts: 2, backoff: () => 10, clock, classify: { error: () => true } }),
      timeout(100, { strategy: 'aggressive', clock }),
    );
    const call = policy.execute(({ attempt }) => {
      const [value, ms] = attempt === 1 ? ['late', 150] : ['second', 50];
      return new Promise((resolve) => clock.setTimeout(() => resolve(value), ms));
    });
    // Attempt 1 is released at 100 and settles at 150, while attempt 2 runs from 110 to 160.
    await clock.advance(155);
    await clock.advance(10);
    await expect(call).resolves.toBe('second');
  });

  it('releases the caller at once when the caller aborts, with an aggressive limit', async () => {
    const clock = new FakeClock();
    const { policy, limiter } = fivePolicies(clock);
    const controller = new AbortController();
    const call = policy.execute(never, controller.signal);
    controller.abort(new Error('caller left'));
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    expect(limiter.active).toBe(0);
  });

  it('reports each call once, with an attempt event that shares its end reading', async () => {
    const clock = new FakeClock();
    const { policy, events } = fivePolicies(clock);
    // The breaker reported its creation when it was built; the calls are what this is about.
    events.length = 0;
    const call = policy.execute(
      () => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 30)),
    );
    await clock.advance(30);
    await expect(call).resolves.toBe('ok');
    // The breaker's first call of 'op' is reported once, so a listener knows what it serves.
    expect(events.map((event) => event.type)).toEqual(['breaker-used', 'attempt', 'call']);
    expect(events).toMatchObject([
      { type: 'breaker-used', operation: 'op', state: 'closed' },
      { type: 'attempt', attempt: 1, outcome: 'success', durationMs: 30, operation: 'op' },
      { type: 'call', outcome: 'success', durationMs: 30, operation: 'op' },
    ]);
  });

  it('reports successes through a listener fast path, with the same end reading, and failures as events', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const recorded: string[] = [];
    const listener = Object.assign((event: PolicyEvent) => void events.push(event), {
      [bindSuccess]: (t: SuccessTemplate) => (durationMs: number) =>
        void recorded.push(`${t.type}:${t.policy}:${t.operation}:${durationMs}`),
    });
    const { policy } = fivePolicies(clock, { listener });
    expect(events.map((e) => e.type)).toEqual(['breaker-created']);
    events.length = 0;
    const first = policy.execute(
      () => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 30)),
    );
    await clock.advance(30);
    await expect(first).resolves.toBe('ok');
    expect(recorded).toEqual(['attempt:retry:op:30', 'call:pipeline:op:30']);
    // No event for the success itself: only the breaker's one report of the operation it serves.
    expect(events.map((e) => [e.type, e.operation])).toEqual([['breaker-used', 'op']]);
    events.length = 0;

    // Attempt 1 fails: it and the retry's decisions are events; attempt 2's success is one
    // too (only first attempts are bound), and the call's success goes through the fast path.
    recorded.length = 0;
    let attempts = 0;
    const second = policy.execute(() => {
      attempts++;
      return attempts === 1 ? Promise.reject(new Error('flaky')) : 'ok';
    });
    await clock.advance(10);
    await expect(second).resolves.toBe('ok');
    expect(events.map((e) => [e.type, 'outcome' in e ? e.outcome : undefined])).toEqual([
      ['attempt', 'failure'],
      ['retry-scheduled', undefined],
      ['attempt', 'success'],
    ]);
    expect(recorded).toEqual(['call:pipeline:op:10']);
  });

  it('falls back to the layer-by-layer path when the bulkhead would queue, and keeps order', async () => {
    const clock = new FakeClock();
    const { policy, limiter } = fivePolicies(clock);
    const order: number[] = [];
    const first = policy.execute(
      () => new Promise((resolve) => clock.setTimeout(() => resolve(order.push(1)), 20)),
    );
    const second = policy.execute(() => order.push(2));
    expect(limiter.queued).toBe(1);
    await clock.advance(20);
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
    expect(limiter.active).toBe(0);
  });

  it('counts failures in the breaker, and an open breaker rejects through the layer-by-layer path', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const breaker = circuitBreaker({ strategy: consecutive({ threshold: 2 }), clock });
    const policy = pipeline(
      bulkhead({ limit: 10, clock }),
      breaker,
      timeout(100, { clock, listener: (event) => events.push(event) }),
    );
    await expect(policy.execute(() => Promise.reject(new Error('a')))).rejects.toThrow('a');
    const slow = expect(policy.execute(never)).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(100);
    await slow;
    expect(breaker.state).toBe('open');
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(events.map((event) => event.type)).toEqual(['timeout']);
  });

  it('rejects when the bulkhead is full and has no queue, through the layer-by-layer path', async () => {
    const clock = new FakeClock();
    const policy = pipeline(bulkhead({ limit: 1, clock }), timeout(100, { clock }));
    const first = policy.execute(
      () => new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 10)),
    );
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    await clock.advance(10);
    await first;
  });

  it('hands a spreading caller (cockatiel-style, signal argument given) a plain context', async () => {
    const clock = new FakeClock();
    const policy = pipeline(timeout(100, { clock }));
    const copy = await policy.execute((context) => ({ ...context }), undefined);
    expect(copy.attempt).toBe(1);
    expect(copy.deadline).toBe(100);
    expect(copy.signal).toBeInstanceOf(AbortSignal);
  });

  it('aborts the signal before it reports the expiry, as a limit outside a pipeline does', async () => {
    const clock = new FakeClock();
    let signal: AbortSignal | undefined;
    const abortedAtEvent: boolean[] = [];
    const policy = pipeline(
      bulkhead({ limit: 5, clock }),
      timeout(100, { clock, listener: () => abortedAtEvent.push(signal!.aborted) }),
    );
    const call = policy.execute((context) => {
      signal = context.signal;
      return never();
    });
    const settled = expect(call).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(100);
    await settled;
    expect(abortedAtEvent).toEqual([true]);
  });

  it('notices an onSuccess listener added after the first fused call, and runs layer by layer', async () => {
    const clock = new FakeClock();
    const limit = timeout(100, { clock });
    const policy = pipeline(bulkhead({ limit: 5, clock }), limit);
    await expect(policy.execute(() => 1)).resolves.toBe(1);
    const successes: unknown[] = [];
    limit.onSuccess((event) => successes.push(event));
    await expect(policy.execute(() => 2)).resolves.toBe(2);
    expect(successes).toHaveLength(1);
  });

  it('leaves no timer-queue entry and no listener behind over 10k calls on one caller signal', async () => {
    const clock = new FakeClock();
    const limit = timeout(100, { clock });
    const budget = deadline(1_000, { clock });
    const policy = pipeline(bulkhead({ limit: 5, clock }), budget, retry({ clock }), limit);
    const controller = new AbortController();
    for (let i = 0; i < 10_000; i++) await policy.execute(() => i, controller.signal);
    expect(limit.pending).toBe(0);
    expect(budget.pending).toBe(0);
    expect(clock.pendingTimers).toBeLessThanOrEqual(2);
  });
});

describe('a time limit alone', () => {
  it('runs fused and keeps the layer-by-layer behaviour: signal aborted, then the error', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const limit = timeout(100, { strategy: 'aggressive', clock, listener: (e) => events.push(e) });
    let seen: ExecutionContext | undefined;
    const call = limit.execute((context) => {
      seen = context;
      return never();
    });
    const settled = expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(seen!.deadline).toBe(100);
    expect(seen!.attempt).toBe(1);
    await clock.advance(100);
    await settled;
    expect(seen!.signal.aborted).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['timeout']);
    expect(limit.pending).toBe(0);
  });

  it('fails a lone deadline with DeadlineExceededError and a caller abort with CancelledError', async () => {
    const clock = new FakeClock();
    const budget = deadline(50, { clock });
    const late = budget.execute(() => never());
    const exceeded = expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(50);
    await exceeded;
    const controller = new AbortController();
    const cancelled = budget.execute(() => never(), controller.signal);
    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    expect(budget.pending).toBe(0);
  });

  it('switches to the layer-by-layer path once an onSuccess listener is added', async () => {
    const clock = new FakeClock();
    const limit = timeout(100, { clock });
    await expect(limit.execute(() => 1)).resolves.toBe(1);
    const successes: unknown[] = [];
    limit.onSuccess((event) => successes.push(event));
    await expect(limit.execute(() => 2)).resolves.toBe(2);
    expect(successes).toHaveLength(1);
  });

  it('leaves no timer-queue entry behind over 10k calls', async () => {
    const clock = new FakeClock();
    const limit = timeout(100, { clock });
    const budget = deadline(1_000, { clock });
    for (let i = 0; i < 10_000; i++) {
      await limit.execute(() => i);
      await budget.execute(() => i);
    }
    expect(limit.pending).toBe(0);
    expect(budget.pending).toBe(0);
    expect(clock.pendingTimers).toBeLessThanOrEqual(2);
  });
});

describe('Pipeline.runCall()', () => {
  /** Deadline, retry and breaker: the HTTP client's pipeline, without the attempt timeout. */
  function clientPipeline(clock: FakeClock, events: PolicyEvent[]) {
    const listener = (event: PolicyEvent) => void events.push(event);
    return pipeline(
      { clock },
      deadline(1_000, { clock, listener }),
      retry({
        maxAttempts: 2,
        backoff: () => 10,
        clock,
        listener,
        classify: { error: () => true },
      }),
      circuitBreaker({ strategy: consecutive({ threshold: 5 }), clock, listener }),
    );
  }

  it("runs a call without a deadline of its own on the fused path, under the call's operation", async () => {
    const clock = new FakeClock({ now: 1_000 });
    const events: PolicyEvent[] = [];
    const policy = clientPipeline(clock, events);
    let seen: ExecutionContext | undefined;
    const call = policy.runCall(
      (context) => {
        seen = context;
        return never();
      },
      Scope.never,
      Infinity,
      'GET https://example.test',
    );
    const settled = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(seen).toBeInstanceOf(Frame);
    expect(seen!.operation).toBe('GET https://example.test');
    // What a function that derives contexts (an attempt timeout inside it) gets from the frame.
    const context = toContext(seen!);
    expect(context).toBeInstanceOf(Context);
    expect(context.scope).toBe(seen);
    expect(context.deadline).toBe(2_000);
    expect(context.operation).toBe('GET https://example.test');
    await clock.advance(1_000);
    await settled;
    const expired = events.find((event) => event.type === 'deadline-exceeded');
    expect(expired?.operation).toBe('GET https://example.test');
  });

  it('runs a call with a deadline of its own layer by layer, where the deadline policy reads it', async () => {
    const clock = new FakeClock({ now: 1_000 });
    const policy = clientPipeline(clock, []);
    let seen: ExecutionContext | undefined;
    const call = policy.runCall(
      (context) => {
        seen = context;
        return never();
      },
      Scope.never,
      1_050,
      'op',
    );
    const settled = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(seen).toBeInstanceOf(Context);
    expect(seen!.deadline).toBe(1_050);
    expect(toContext(seen!)).toBe(seen);
    await clock.advance(50);
    await settled;
  });
});
