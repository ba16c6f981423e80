import { getEventListeners } from 'node:events';
import {
  BulkheadRejectedError,
  CancelledError,
  type Clock,
  type PolicyEvent,
  TimeoutError,
  isBulkheadRejectedError,
  isCancelledError,
  pipeline,
} from '@bulwark/core';
import { FakeClock, settle } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { adaptiveLimit } from './adaptive-limit.js';
import { type BulkheadOptions, DEFAULT_RETRY_AFTER_MS, bulkhead } from './bulkhead.js';
import { gate, sleep } from './test-helpers.js';

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('bulkhead: concurrency limit', () => {
  it('never runs more calls at once than the limit, however many arrive together', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 3, queue: 10, clock });
    let running = 0;
    let peak = 0;
    const calls = Array.from({ length: 10 }, (_, i) =>
      policy.execute(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(clock, 10 + i);
        running--;
        return i;
      }),
    );
    expect(policy.active).toBe(3);
    expect(policy.queued).toBe(7);
    await clock.runAll();
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(policy.active).toBe(0);
    expect(policy.queued).toBe(0);
  });

  it('reports its limit and queue size', () => {
    const policy = bulkhead({ limit: 4, queue: 7 });
    expect(policy.limit).toBe(4);
    expect(policy.queueLimit).toBe(7);
    expect(bulkhead({ limit: 1 }).queueLimit).toBe(0);
  });

  it('passes the value and the error of the function through unchanged', async () => {
    const policy = bulkhead({ limit: 1 });
    await expect(policy.execute(() => 42)).resolves.toBe(42);
    const failure = new Error('boom');
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('gives the function an execution context with a signal and the attempt', async () => {
    const policy = bulkhead({ limit: 1 });
    const controller = new AbortController();
    const seen = await policy.execute(
      ({ signal, attempt }) => ({ same: signal === controller.signal, attempt }),
      controller.signal,
    );
    expect(seen).toEqual({ same: true, attempt: 1 });
  });
});

describe('bulkhead: queue', () => {
  it('starts queued calls in the order they arrived', async () => {
    const policy = bulkhead({ limit: 1, queue: 5 });
    const started: number[] = [];
    const first = gate();
    const calls = [
      policy.execute(() => {
        started.push(0);
        return first.promise;
      }),
    ];
    for (let i = 1; i <= 4; i++) {
      calls.push(
        policy.execute(async () => {
          started.push(i);
          await settle();
        }),
      );
    }
    expect(policy.queued).toBe(4);
    first.resolve(undefined);
    await Promise.all(calls);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('starts the next queued call when a running call fails', async () => {
    const policy = bulkhead({ limit: 1, queue: 1 });
    const first = gate();
    const failing = policy.execute(() => first.promise);
    const queued = policy.execute(() => 'second');
    first.reject(new Error('first failed'));
    await expect(failing).rejects.toThrow('first failed');
    await expect(queued).resolves.toBe('second');
  });

  it('rejects a call at once when every slot is taken and there is no queue', async () => {
    const policy = bulkhead({ limit: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const fn = vi.fn();
    const error: unknown = await policy.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(error).toMatchObject({
      reason: 'full',
      limit: 1,
      queueLimit: 0,
      code: 'BULWARK_BULKHEAD_REJECTED',
      message: 'bulkhead full: 1 calls running and 0 queued',
    });
    first.resolve('done');
    await expect(running).resolves.toBe('done');
  });

  it('rejects a call at once, with a typed error, when the queue is full', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 2, clock });
    const first = gate();
    const calls = [
      policy.execute(() => first.promise),
      policy.execute(() => 1),
      policy.execute(() => 2),
    ];
    const fn = vi.fn();
    // No clock advance: the rejection needs no timer to arrive.
    await expect(policy.execute(fn)).rejects.toMatchObject({
      reason: 'full',
      limit: 1,
      queueLimit: 2,
      retryAfterMs: DEFAULT_RETRY_AFTER_MS,
    });
    expect(fn).not.toHaveBeenCalled();
    expect(policy.queued).toBe(2);
    first.resolve(0);
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2]);
  });

  it('admits calls again once the queue has room', async () => {
    const policy = bulkhead({ limit: 1, queue: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const queued = policy.execute(() => 'queued');
    await expect(policy.execute(() => 'late')).rejects.toBeInstanceOf(BulkheadRejectedError);
    first.resolve('first');
    await Promise.all([running, queued]);
    await expect(policy.execute(() => 'again')).resolves.toBe('again');
  });
});

describe('bulkhead: retryAfterMs hint', () => {
  it('carries the configured retryAfterMs', async () => {
    const policy = bulkhead({ limit: 1, retryAfterMs: 2500 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    await expect(policy.execute(() => 1)).rejects.toMatchObject({ retryAfterMs: 2500 });
    first.resolve(undefined);
    await running;
  });

  it('estimates retryAfterMs from recent call durations and the queue ahead when the limit is adaptive', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 2, min: 2, max: 2 }),
      queue: 2,
      clock,
    });
    // Before any call has been measured, the default applies.
    const first = [1, 2, 3, 4].map(() => policy.execute(() => sleep(clock, 200)));
    await expect(policy.execute(() => 0)).rejects.toMatchObject({
      retryAfterMs: DEFAULT_RETRY_AFTER_MS,
    });
    await clock.advance(400);
    await Promise.all(first);

    // Calls took 200 ms each; two more run and two wait: a newcomer needs about
    // 200 ms × (1 + 2 queued / 2 slots) = 400 ms.
    const hold = gate();
    const calls = [1, 2, 3, 4].map(() => policy.execute(() => hold.promise));
    await expect(policy.execute(() => 0)).rejects.toMatchObject({
      reason: 'full',
      retryAfterMs: 400,
    });
    hold.resolve(undefined);
    await Promise.all(calls);
  });

  it('never hints less than 1 ms, even when calls take no measurable time', async () => {
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 1, max: 1 }),
      clock: new FakeClock(),
    });
    await policy.execute(() => 0);
    const hold = gate();
    const running = policy.execute(() => hold.promise);
    await expect(policy.execute(() => 0)).rejects.toMatchObject({ retryAfterMs: 1 });
    hold.resolve(undefined);
    await running;
  });
});

describe('bulkhead: queue timeout', () => {
  it('rejects a call that waited longer than queueTimeoutMs with reason queue-timeout', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 3, queueTimeoutMs: 100, clock });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const fn = vi.fn(() => 'late');
    const waiting = policy.execute(fn);
    const check = expect(waiting).rejects.toMatchObject({
      reason: 'queue-timeout',
      limit: 1,
      queueLimit: 3,
      message: 'bulkhead queue timeout: no slot freed in time (limit 1, queue 3)',
    });
    await clock.advance(99);
    expect(policy.queued).toBe(1);
    await clock.advance(1);
    await check;
    expect(policy.queued).toBe(0);
    first.resolve(undefined);
    await running;
    expect(fn).not.toHaveBeenCalled();
  });

  it('times out each queued call on its own schedule while later ones keep their place', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 3, queueTimeoutMs: 100, clock });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const early = policy.execute(() => 'early');
    const earlyCheck = expect(early).rejects.toMatchObject({ reason: 'queue-timeout' });
    await clock.advance(50);
    const late = policy.execute(() => 'late');
    await clock.advance(50);
    await earlyCheck;
    expect(policy.queued).toBe(1);
    first.resolve(undefined);
    await running;
    await expect(late).resolves.toBe('late');
  });

  it('keeps one timer for all queued calls', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 10, queueTimeoutMs: 100, clock });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const waiting = Array.from({ length: 5 }, (_, i) => policy.execute(() => i));
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
    first.resolve('first');
    await expect(Promise.all([running, ...waiting])).resolves.toEqual(['first', 0, 1, 2, 3, 4]);
  });

  it('sets no timer at all without queueTimeoutMs', () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 10, clock });
    const first = gate();
    void policy.execute(() => first.promise);
    void policy.execute(() => 1);
    expect(clock.pendingTimers).toBe(0);
    first.resolve(undefined);
  });

  it('does not time out a call that got its slot in time', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 1, queueTimeoutMs: 100, clock });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const second = gate();
    const queued = policy.execute(() => second.promise);
    await clock.advance(50);
    first.resolve(undefined);
    await running;
    await clock.advance(500);
    second.resolve('second');
    await expect(queued).resolves.toBe('second');
  });

  it('removes the abort listener of a call that timed out in the queue', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ limit: 1, queue: 1, queueTimeoutMs: 100, clock });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const controller = new AbortController();
    const queued = policy.execute(() => 1, controller.signal);
    expect(abortListeners(controller.signal)).toBe(1);
    const check = expect(queued).rejects.toMatchObject({ reason: 'queue-timeout' });
    await clock.advance(100);
    await check;
    expect(abortListeners(controller.signal)).toBe(0);
    first.resolve(undefined);
    await running;
  });
});

describe('bulkhead: cancellation', () => {
  it('removes an aborted queued call at once and keeps the others in order', async () => {
    const policy = bulkhead({ limit: 1, queue: 5 });
    const started: string[] = [];
    const first = gate();
    const run = (name: string, signal?: AbortSignal): Promise<unknown> =>
      policy.execute(() => {
        started.push(name);
        return name === 'first' ? first.promise : name;
      }, signal);
    const controller = new AbortController();
    const calls = [run('first'), run('a')];
    const aborted = run('b', controller.signal);
    calls.push(run('c'), run('d'));
    expect(policy.queued).toBe(4);

    controller.abort('user went away');
    expect(policy.queued).toBe(3);
    const error: unknown = await aborted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect(isCancelledError(error)).toBe(true);
    expect((error as CancelledError).reason).toBe('user went away');
    expect(abortListeners(controller.signal)).toBe(0);

    first.resolve('first');
    await expect(Promise.all(calls)).resolves.toEqual(['first', 'a', 'c', 'd']);
    expect(started).toEqual(['first', 'a', 'c', 'd']);
  });

  it('frees the queue place of an aborted call for a newcomer', async () => {
    const policy = bulkhead({ limit: 1, queue: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const controller = new AbortController();
    const aborted = policy.execute(() => 'never', controller.signal);
    await expect(policy.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadRejectedError);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(CancelledError);
    const newcomer = policy.execute(() => 'newcomer');
    first.resolve('first');
    await expect(Promise.all([running, newcomer])).resolves.toEqual(['first', 'newcomer']);
  });

  it('fails an aborted queued call with the error that aborted its scope', async () => {
    const policy = bulkhead({ limit: 1, queue: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const controller = new AbortController();
    const queued = policy.execute(() => 1, controller.signal);
    const timeout = new TimeoutError(50);
    controller.abort(timeout);
    await expect(queued).rejects.toBe(timeout);
    first.resolve(undefined);
    await running;
  });

  it('removes the abort listener once a queued call starts', async () => {
    const policy = bulkhead({ limit: 1, queue: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const controller = new AbortController();
    let listenersWhileRunning = -1;
    const queued = policy.execute(() => {
      listenersWhileRunning = abortListeners(controller.signal);
      return 'queued';
    }, controller.signal);
    expect(abortListeners(controller.signal)).toBe(1);
    first.resolve(undefined);
    await expect(queued).resolves.toBe('queued');
    await running;
    expect(listenersWhileRunning).toBe(0);
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('adds no abort listener to a call that gets a slot at once', async () => {
    const policy = bulkhead({ limit: 1 });
    const controller = new AbortController();
    let listeners = -1;
    await policy.execute(() => {
      listeners = abortListeners(controller.signal);
    }, controller.signal);
    expect(listeners).toBe(0);
  });

  it('rejects a call whose signal is already aborted without running it or taking a slot', async () => {
    const policy = bulkhead({ limit: 1 });
    const controller = new AbortController();
    controller.abort('gone');
    const fn = vi.fn();
    const error: unknown = await policy.execute(fn, controller.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).reason).toBe('gone');
    expect(fn).not.toHaveBeenCalled();
    expect(policy.active).toBe(0);
    await expect(policy.execute(() => 'next')).resolves.toBe('next');
  });

  it('rejects an already aborted call with the abort error even when the bulkhead is full', async () => {
    const policy = bulkhead({ limit: 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const controller = new AbortController();
    controller.abort();
    await expect(policy.execute(() => 1, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(policy.queued).toBe(0);
    first.resolve(undefined);
    await running;
  });
});

describe('bulkhead: failures free their slot', () => {
  it('frees the slot of a function that throws synchronously', async () => {
    const policy = bulkhead({ limit: 1 });
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(policy.active).toBe(0);
    await expect(policy.execute(() => 'after')).resolves.toBe('after');
  });

  it('starts the next queued call when a running function throws synchronously', async () => {
    const policy = bulkhead({ limit: 1, queue: 3 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const throwing = policy.execute(() => {
      throw new Error('sync');
    });
    const after = policy.execute(() => 'after');
    first.resolve(undefined);
    await running;
    await expect(throwing).rejects.toThrow('sync');
    await expect(after).resolves.toBe('after');
    expect(policy.active).toBe(0);
  });

  it('drains a long run of queued calls that throw synchronously without growing the stack', async () => {
    const count = 20_000;
    const policy = bulkhead({ limit: 1, queue: count + 1 });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const failures = Array.from({ length: count }, () =>
      policy
        .execute(() => {
          throw new Error('sync');
        })
        .catch((e: unknown) => e),
    );
    const last = policy.execute(() => 'last');
    first.resolve(undefined);
    await running;
    const errors = await Promise.all(failures);
    expect(errors.every((e) => e instanceof Error && e.message === 'sync')).toBe(true);
    await expect(last).resolves.toBe('last');
  });
});

describe('bulkhead: hot path', () => {
  it('never reads the clock when the limit is fixed', async () => {
    const fake = new FakeClock();
    const now = vi.fn(() => fake.now());
    const clock: Clock = {
      now,
      dateNow: () => fake.dateNow(),
      setTimeout: (cb, ms) => fake.setTimeout(cb, ms),
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const policy = bulkhead({ limit: 2, clock });
    for (let i = 0; i < 100; i++) await policy.execute(() => i);
    expect(now).not.toHaveBeenCalled();
  });

  it('measures each call with the clock when the limit is adaptive', async () => {
    const fake = new FakeClock();
    const now = vi.fn(() => fake.now());
    const clock: Clock = {
      now,
      dateNow: () => fake.dateNow(),
      setTimeout: (cb, ms) => fake.setTimeout(cb, ms),
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const policy = bulkhead({ limit: adaptiveLimit({ algorithm: 'aimd' }), clock });
    await policy.execute(() => 1);
    expect(now).toHaveBeenCalledTimes(2);
  });
});

describe('bulkhead: in a pipeline', () => {
  it('limits calls made through pipeline() and names the operation in its events', async () => {
    const events: PolicyEvent[] = [];
    const policy = bulkhead({ limit: 1, name: 'db', listener: (e) => events.push(e) });
    const composed = pipeline({ operation: 'load-user' }, policy);
    const first = gate();
    const running = composed.execute(() => first.promise);
    await expect(composed.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    expect(events).toEqual([
      {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: 'db',
        operation: 'load-user',
        reason: 'full',
        active: 1,
        queued: 0,
        limit: 1,
      },
    ]);
    first.resolve('ok');
    await expect(running).resolves.toBe('ok');
  });

  it('shares its slots between every pipeline it sits in', async () => {
    const policy = bulkhead({ limit: 1 });
    const a = pipeline(policy);
    const b = pipeline(policy);
    const first = gate();
    const running = a.execute(() => first.promise);
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    first.resolve(undefined);
    await running;
  });
});

describe('bulkhead: cockatiel events', () => {
  it("flags its own rejections as handled in onFailure, and the function's failures as not", async () => {
    const policy = bulkhead({ limit: 1 });
    const failures: boolean[] = [];
    policy.onFailure(({ handled }) => failures.push(handled));
    const first = gate();
    const running = policy.execute(() => first.promise);
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    first.reject(new Error('downstream'));
    await expect(running).rejects.toThrow('downstream');
    expect(failures).toEqual([true, false]);
  });
});

describe('bulkhead: events', () => {
  it('reports a queued call with the counts after it joined the queue', async () => {
    const events: PolicyEvent[] = [];
    const policy = bulkhead({ limit: 1, queue: 2, listener: (e) => events.push(e) });
    const first = gate();
    const calls = [
      policy.execute(() => first.promise),
      policy.execute(() => 1),
      policy.execute(() => 2),
    ];
    expect(events).toEqual([
      {
        type: 'bulkhead-queued',
        policy: 'bulkhead',
        name: undefined,
        operation: undefined,
        active: 1,
        queued: 1,
      },
      {
        type: 'bulkhead-queued',
        policy: 'bulkhead',
        name: undefined,
        operation: undefined,
        active: 1,
        queued: 2,
      },
    ]);
    first.resolve(0);
    await Promise.all(calls);
  });

  it('reports a queue timeout as a rejection with reason queue-timeout', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = bulkhead({
      limit: 1,
      queue: 1,
      queueTimeoutMs: 10,
      clock,
      name: 'search',
      listener: (e) => events.push(e),
    });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const queued = policy.execute(() => 1);
    const check = expect(queued).rejects.toBeInstanceOf(BulkheadRejectedError);
    await clock.advance(10);
    await check;
    expect(events.filter((e) => e.type === 'bulkhead-rejected')).toEqual([
      {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: 'search',
        operation: undefined,
        reason: 'queue-timeout',
        active: 1,
        queued: 0,
        limit: 1,
      },
    ]);
    first.resolve(undefined);
    await running;
  });

  it('reports nothing for calls that get a slot at once', async () => {
    const listener = vi.fn();
    const policy = bulkhead({ limit: 2, listener });
    await Promise.all([policy.execute(() => 1), policy.execute(() => 2)]);
    expect(listener).not.toHaveBeenCalled();
  });

  it('keeps working when the listener throws', async () => {
    const policy = bulkhead({
      limit: 1,
      queue: 1,
      listener: () => {
        throw new Error('exporter down');
      },
    });
    const first = gate();
    const running = policy.execute(() => first.promise);
    const queued = policy.execute(() => 'queued');
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    first.resolve('first');
    await expect(Promise.all([running, queued])).resolves.toEqual(['first', 'queued']);
  });
});

describe('bulkhead: adaptive limit', () => {
  it('lowers the limit without touching running calls; it only admits fewer', async () => {
    const events: PolicyEvent[] = [];
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 3, min: 1, max: 10 }),
      queue: 5,
      listener: (e) => events.push(e),
    });
    const gates = [gate(), gate(), gate()];
    const running = gates.map((g) => policy.execute(() => g.promise));
    gates[0]!.reject(new Error('overloaded'));
    await expect(running[0]).rejects.toThrow('overloaded');
    expect(policy.limit).toBe(2);
    expect(policy.active).toBe(2);
    expect(events).toContainEqual({
      type: 'bulkhead-limit',
      policy: 'bulkhead',
      name: undefined,
      operation: undefined,
      from: 3,
      to: 2,
    });

    // Two still run under a limit of 2: a newcomer waits instead of taking the freed slot.
    const newcomer = policy.execute(() => 'newcomer');
    expect(policy.queued).toBe(1);
    gates[1]!.resolve('one');
    gates[2]!.resolve('two');
    await expect(Promise.all([running[1], running[2], newcomer])).resolves.toEqual([
      'one',
      'two',
      'newcomer',
    ]);
  });

  it('starts queued calls as soon as the limit rises, oldest first, before any call made meanwhile', async () => {
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 2, min: 1, max: 10 }),
      queue: 10,
    });
    const started: string[] = [];
    const gates: Record<string, ReturnType<typeof gate>> = {};
    const run = (name: string, before?: () => void): Promise<unknown> => {
      gates[name] = gate();
      return policy.execute(() => {
        started.push(name);
        before?.();
        return gates[name]!.promise;
      });
    };
    const calls = [run('a'), run('b')];
    let nested: Promise<unknown> | undefined;
    calls.push(
      run('c', () => {
        nested = run('e');
      }),
      run('d'),
      run('f'),
    );
    expect(policy.queued).toBe(3);

    // a succeeds with 2 in flight: the limit rises to 3 and two slots are free at once.
    gates.a!.resolve('a');
    await calls[0];
    expect(policy.limit).toBe(3);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(policy.queued).toBe(2);

    for (const name of ['b', 'c', 'd', 'f']) gates[name]!.resolve(name);
    await Promise.all(calls);
    gates.e!.resolve('e');
    await nested;
    expect(started).toEqual(['a', 'b', 'c', 'd', 'f', 'e']);
  });

  it('gives each bulkhead its own state when they share one adaptiveLimit()', async () => {
    const shared = adaptiveLimit({ algorithm: 'aimd', initial: 5, min: 1, max: 10 });
    const a = bulkhead({ limit: shared });
    const b = bulkhead({ limit: shared });
    await expect(a.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(a.limit).toBe(4);
    expect(b.limit).toBe(5);
  });

  it('leaves calls the caller cancelled out of the measurements', async () => {
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 5, min: 1, max: 10 }),
    });
    const controller = new AbortController();
    const call = policy.execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted by fetch')));
        }),
      controller.signal,
    );
    controller.abort();
    await expect(call).rejects.toThrow('aborted by fetch');
    expect(policy.limit).toBe(5);
  });

  it('counts a call failed by a timeout that aborted its scope as a drop', async () => {
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 5, min: 1, max: 10 }),
    });
    const controller = new AbortController();
    const call = policy.execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted by fetch')));
        }),
      controller.signal,
    );
    controller.abort(new TimeoutError(100));
    await expect(call).rejects.toThrow('aborted by fetch');
    expect(policy.limit).toBe(4);
  });

  it('leaves out failures that isDrop says are not overload', async () => {
    const isDrop = vi.fn(({ error }: { error: unknown }) => !(error instanceof RangeError));
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 5, min: 1, max: 10, isDrop }),
    });
    const notFound = new RangeError('404');
    await expect(policy.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(isDrop).toHaveBeenCalledWith({ error: notFound });
    expect(policy.limit).toBe(5);
    await expect(policy.execute(() => Promise.reject(new Error('503')))).rejects.toThrow('503');
    expect(policy.limit).toBe(4);
  });

  it('counts a failure as a drop when isDrop throws, and still fails with the original error', async () => {
    const policy = bulkhead({
      limit: adaptiveLimit({
        algorithm: 'aimd',
        initial: 5,
        min: 1,
        max: 10,
        isDrop: () => {
          throw new Error('classifier bug');
        },
      }),
    });
    await expect(policy.execute(() => Promise.reject(new Error('503')))).rejects.toThrow('503');
    expect(policy.limit).toBe(4);
  });

  it('emits no bulkhead-limit event when a sample leaves the limit where it was', async () => {
    const events: PolicyEvent[] = [];
    const policy = bulkhead({
      limit: adaptiveLimit({ algorithm: 'aimd', initial: 10, min: 1, max: 10 }),
      listener: (e) => events.push(e),
    });
    await policy.execute(() => 1);
    expect(policy.limit).toBe(10);
    expect(events).toEqual([]);
  });
});

describe('bulkhead: options', () => {
  function fails(options: unknown): () => unknown {
    return () => bulkhead(options as BulkheadOptions);
  }

  it('rejects options that are not an object', () => {
    expect(fails(undefined)).toThrow(
      new TypeError('expected the options of bulkhead() to be an object, got undefined'),
    );
    expect(fails(5)).toThrow(
      new TypeError('expected the options of bulkhead() to be an object, got 5'),
    );
  });

  it('rejects a misspelt option and a clock that is not a Clock', () => {
    expect(fails({ limit: 1, queueSize: 5 })).toThrow(
      new TypeError(
        'unknown option "queueSize" for bulkhead(); expected one of limit, queue, queueTimeoutMs, retryAfterMs, name, listener, clock',
      ),
    );
    expect(fails({ limit: 1, clock: { now: () => 0 } })).toThrow(
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
      ),
    );
  });

  it('rejects a limit that is not an integer >= 1 or an adaptiveLimit()', () => {
    expect(fails({})).toThrow(new TypeError('expected limit to be an integer >= 1, got undefined'));
    expect(fails({ limit: '3' })).toThrow(
      new TypeError('expected limit to be an integer >= 1, got "3"'),
    );
    expect(fails({ limit: 0 })).toThrow(
      new RangeError('expected limit to be an integer >= 1, got 0'),
    );
    expect(fails({ limit: 1.5 })).toThrow(
      new RangeError('expected limit to be an integer >= 1, got 1.5'),
    );
    expect(fails({ limit: Infinity })).toThrow(
      new RangeError('expected limit to be an integer >= 1, got Infinity'),
    );
    expect(fails({ limit: { algorithm: 'aimd', initial: 5, min: 1, max: 10 } })).toThrow(
      new TypeError('expected limit to be an integer >= 1 or an adaptiveLimit(), got an object'),
    );
  });

  it('rejects a queue size out of range', () => {
    expect(fails({ limit: 1, queue: -1 })).toThrow(
      new RangeError('expected queue to be an integer >= 0, got -1'),
    );
    expect(fails({ limit: 1, queue: Infinity })).toThrow(
      new RangeError('expected queue to be an integer >= 0, got Infinity'),
    );
  });

  it('rejects a queueTimeoutMs out of range, or one set without a queue', () => {
    expect(fails({ limit: 1, queue: 1, queueTimeoutMs: 0 })).toThrow(
      new RangeError('expected queueTimeoutMs to be a finite number >= 1, got 0'),
    );
    expect(fails({ limit: 1, queue: 1, queueTimeoutMs: 'soon' })).toThrow(
      new TypeError('expected queueTimeoutMs to be a number >= 1, got "soon"'),
    );
    expect(fails({ limit: 1, queueTimeoutMs: 100 })).toThrow(
      new RangeError('expected queue to be an integer >= 1 when queueTimeoutMs is set, got 0'),
    );
  });

  it('rejects a retryAfterMs out of range', () => {
    expect(fails({ limit: 1, retryAfterMs: -1 })).toThrow(
      new RangeError('expected retryAfterMs to be a finite number >= 0, got -1'),
    );
  });

  it('rejects a bad name or listener', () => {
    expect(fails({ limit: 1, name: '' })).toThrow(
      new TypeError('expected name to be a non-empty string, got ""'),
    );
    expect(fails({ limit: 1, listener: 'log' })).toThrow(
      new TypeError('expected listener to be a function, got "log"'),
    );
  });
});
