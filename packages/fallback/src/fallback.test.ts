import {
  BrokenCircuitError,
  CancelledError,
  DeadlineExceededError,
  type ExecutionContext,
  type FallbackEvent,
  type PolicyEvent,
  TimeoutError,
  isBulwarkError,
  pipeline,
} from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { FakeClock, settle } from '@bulwark/testing';
import { deadline, timeout } from '@bulwark/timeout';
import { describe, expect, it, vi } from 'vitest';
import { FallbackFailedError, isFallbackFailedError } from './errors.js';
import { type FallbackOptions, type FallbackPolicy, fallback } from './fallback.js';
import type { FallbackArgs } from './timed-fallback.js';

const never = () => new Promise<never>(() => {});

function networkError(message = 'socket hang up'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

function setup(options: FallbackOptions, clock = new FakeClock()) {
  const events: PolicyEvent[] = [];
  const policy = fallback({
    clock,
    listener: (event) => events.push(event),
    ...options,
  });
  return { clock, events, policy };
}

/** The policy alone (layer by layer), and inside a pipeline with a time limit (the fused path). */
const placements: Array<[string, (policy: FallbackPolicy, clock: FakeClock) => FallbackPolicy]> = [
  ['alone', (policy) => policy],
  [
    'in a fused pipeline',
    (policy, clock) =>
      pipeline(
        policy,
        timeout(60_000, { clock, strategy: 'cooperative' }),
      ) as unknown as FallbackPolicy,
  ],
];

describe('fallback({ value })', () => {
  it.each(placements)('answers a failure with the value (%s)', async (_label, place) => {
    const { clock, events, policy } = setup({ value: 'cached' });
    const failure = networkError();
    await expect(
      place(policy, clock).execute(() => {
        throw failure;
      }),
    ).resolves.toBe('cached');
    expect(events).toEqual([
      {
        type: 'fallback',
        policy: 'fallback',
        name: undefined,
        operation: undefined,
        reason: 'ECONNRESET',
        outcome: 'success',
        durationMs: 0,
        error: failure,
        fallbackError: undefined,
      },
    ]);
  });

  it.each(placements)('passes a success through untouched (%s)', async (_label, place) => {
    const { clock, events, policy } = setup({ value: 'cached' });
    await expect(place(policy, clock).execute(() => 'fresh')).resolves.toBe('fresh');
    expect(events).toEqual([]);
  });

  it('answers with undefined when that is the value given', async () => {
    const { policy } = setup({ value: undefined });
    await expect(policy.execute(() => Promise.reject(networkError()))).resolves.toBeUndefined();
  });

  it.each(placements)(
    'answers a result that when.result rejects, releasing that result (%s)',
    async (_label, place) => {
      const { clock, events, policy } = setup({
        value: 'default',
        when: { result: (result) => (result as Response).status >= 500 },
      });
      const unavailable = new Response('busy', { status: 503 });
      await expect(place(policy, clock).execute(() => unavailable)).resolves.toBe('default');
      expect(unavailable.bodyUsed).toBe(true);
      expect(events).toEqual([expect.objectContaining({ reason: '503', outcome: 'success' })]);
    },
  );
});

describe('fallback({ fn })', () => {
  it.each(placements)(
    'runs the function once with the error and a context of its own (%s)',
    async (_label, place) => {
      const seen: FallbackArgs[] = [];
      const { clock, policy } = setup({
        fn: (args) => {
          seen.push(args);
          return `stale (${(args.error as Error).message})`;
        },
      });
      const caller: ExecutionContext[] = [];
      await expect(
        place(policy, clock).execute((context) => {
          caller.push(context);
          throw networkError('reset');
        }),
      ).resolves.toBe('stale (reset)');
      expect(seen).toHaveLength(1);
      expect(seen[0]!.isResult).toBe(false);
      expect(seen[0]!.error).toMatchObject({ code: 'ECONNRESET' });
      expect(seen[0]!.context.signal).not.toBe(caller[0]!.signal);
      expect(seen[0]!.context.signal.aborted).toBe(false);
      expect(seen[0]!.context.deadline).toBe(clock.now() + 1_000);
    },
  );

  it('aborts the function’s signal at timeoutMs and fails with a FallbackFailedError wrapping both errors', async () => {
    let signal: AbortSignal | undefined;
    const { clock, policy } = setup({
      fn: ({ context }) => {
        signal = context.signal;
        return never();
      },
      timeoutMs: 250,
    });
    const original = networkError();
    const call = policy.execute(() => Promise.reject(original));
    const outcome = expect(call).rejects.toBeInstanceOf(FallbackFailedError);
    await clock.advance(249);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    await outcome;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    const error = (await call.catch((e: unknown) => e)) as FallbackFailedError;
    expect(error.cause).toBe(original);
    expect(error.fallbackError).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(
      'the fallback for ECONNRESET failed: operation timed out after 250 ms',
    );
  });

  it('releases the caller at the limit even when the function ignores its signal, and discards a late answer', async () => {
    const clock = new FakeClock();
    const late = new Response('late');
    let answer!: (value: unknown) => void;
    const { events, policy } = setup(
      { fn: () => new Promise((resolve) => (answer = resolve)), timeoutMs: 100 },
      clock,
    );
    const call = policy.execute(() => Promise.reject(networkError()));
    const outcome = expect(call).rejects.toSatisfy(isFallbackFailedError);
    await clock.advance(100);
    await outcome;
    expect(events).toEqual([
      expect.objectContaining({
        type: 'fallback',
        reason: 'ECONNRESET',
        outcome: 'failure',
        durationMs: 100,
      }),
    ]);
    expect((events[0] as FallbackEvent).fallbackError).toBeInstanceOf(TimeoutError);
    answer(late);
    await settle();
    expect(late.bodyUsed).toBe(true);
  });

  it('wraps what the function throws in a FallbackFailedError, with the original failure as cause', async () => {
    const original = networkError();
    const own = new Error('cache unavailable');
    const { events, policy } = setup({
      fn: () => {
        throw own;
      },
    });
    const error = await policy.execute(() => Promise.reject(original)).catch((e: unknown) => e);
    expect(isFallbackFailedError(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_FALLBACK_FAILED',
      name: 'FallbackFailedError',
      cause: original,
      fallbackError: own,
      reason: 'ECONNRESET',
      message: 'the fallback for ECONNRESET failed: cache unavailable',
    });
    expect(events).toEqual([
      expect.objectContaining({ outcome: 'failure', error: original, fallbackError: own }),
    ]);
  });

  it('gives the function no more than what is left of a pipeline deadline', async () => {
    const clock = new FakeClock();
    const seen: ExecutionContext[] = [];
    const { events, policy } = setup(
      {
        fn: ({ context }) => {
          seen.push(context);
          return never();
        },
        timeoutMs: 1_000,
      },
      clock,
    );
    const call = pipeline(deadline(300, { clock }), policy).execute(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
      throw networkError();
    });
    const outcome = expect(call).rejects.toBeInstanceOf(DeadlineExceededError);
    await clock.advance(100);
    expect(seen[0]!.deadline).toBe(300);
    expect(seen[0]!.remaining()).toBe(200);
    await clock.advance(200);
    await outcome;
    expect(seen[0]!.signal.aborted).toBe(true);
    expect(events).toEqual([expect.objectContaining({ outcome: 'failure' })]);
    expect((events[0] as FallbackEvent).fallbackError).toBeInstanceOf(DeadlineExceededError);
  });
});

describe('fallback: which failures it answers for', () => {
  it('answers every thrown error by default', async () => {
    const { policy } = setup({ value: 'default' });
    await expect(
      policy.execute(() => {
        throw new TypeError('a bug is a failure too');
      }),
    ).resolves.toBe('default');
  });

  it('lets a failure when.error does not count through untouched, without running the function', async () => {
    const fn = vi.fn(() => 'default');
    const { events, policy } = setup({
      fn,
      when: { error: (error) => (error as { code?: string }).code === 'ECONNRESET' },
    });
    const notFound = Object.assign(new Error('no such item'), { status: 404 });
    await expect(policy.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(fn).not.toHaveBeenCalled();
    expect(events).toEqual([]);
  });

  it('answers no returned value by default, however bad it looks', async () => {
    const { policy } = setup({ value: 'default' });
    const unavailable = new Response('busy', { status: 503 });
    await expect(policy.execute(() => unavailable)).resolves.toBe(unavailable);
  });
});

describe('fallback: cancellation is not a failure', () => {
  it.each(placements)(
    'does not run when the caller’s own signal aborted: the cancellation surfaces (%s)',
    async (_label, place) => {
      const fn = vi.fn(() => 'default');
      const { clock, policy } = setup({ fn });
      const caller = new AbortController();
      const call = place(policy, clock).execute(
        ({ signal }) =>
          new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(networkError('aborted under me'))),
          ),
        caller.signal,
      );
      const outcome = expect(call).rejects.toThrow('aborted under me');
      caller.abort();
      await outcome;
      expect(fn).not.toHaveBeenCalled();
    },
  );

  it('does not answer for a CancelledError, whoever raised it', async () => {
    const { policy } = setup({ value: 'default' });
    const cancelled = new CancelledError();
    await expect(policy.execute(() => Promise.reject(cancelled))).rejects.toBe(cancelled);
  });

  it('stops waiting for the function when the caller aborts during it, with the cancellation', async () => {
    let signal: AbortSignal | undefined;
    const { events, policy } = setup({
      fn: ({ context }) => {
        signal = context.signal;
        return never();
      },
    });
    const caller = new AbortController();
    const call = policy.execute(() => Promise.reject(networkError()), caller.signal);
    await settle();
    expect(signal?.aborted).toBe(false);
    const outcome = expect(call).rejects.toBeInstanceOf(CancelledError);
    caller.abort();
    await outcome;
    expect(signal?.aborted).toBe(true);
    expect(events).toEqual([expect.objectContaining({ outcome: 'failure' })]);
    expect((events[0] as FallbackEvent).fallbackError).toBeInstanceOf(CancelledError);
  });
});

describe('fallback in a pipeline', () => {
  it('answers for an open circuit breaker', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutive({ threshold: 1 }), clock });
    const { events, policy } = setup({ value: 'from cache' }, clock);
    const guarded = pipeline(policy, breaker);
    await expect(guarded.execute(() => Promise.reject(networkError()))).resolves.toBe('from cache');
    const dependency = vi.fn(() => 'fresh');
    await expect(guarded.execute(dependency)).resolves.toBe('from cache');
    expect(dependency).not.toHaveBeenCalled();
    expect(events.map((e) => (e as { reason: string }).reason)).toEqual([
      'ECONNRESET',
      'BULWARK_BROKEN_CIRCUIT',
    ]);
    expect((events[1] as { error: unknown }).error).toBeInstanceOf(BrokenCircuitError);
  });

  it('answers for a full bulkhead', async () => {
    const clock = new FakeClock();
    const { events, policy } = setup({ fn: ({ error }) => ({ shed: true, error }) }, clock);
    const limited = pipeline(policy, bulkhead({ limit: 1, clock }));
    const running = limited.execute(never);
    await expect(limited.execute(() => 'second')).resolves.toMatchObject({ shed: true });
    expect(events).toEqual([
      expect.objectContaining({ reason: 'BULWARK_BULKHEAD_REJECTED', outcome: 'success' }),
    ]);
    void running;
  });

  it('answers for an exceeded deadline when it sits outside the deadline', async () => {
    const clock = new FakeClock();
    const { events, policy } = setup({ value: 'late default' }, clock);
    const call = pipeline(policy, deadline(200, { clock })).execute(never);
    await clock.advance(200);
    await expect(call).resolves.toBe('late default');
    expect(events).toEqual([expect.objectContaining({ reason: 'BULWARK_DEADLINE_EXCEEDED' })]);
  });

  it('runs its function under its own limit when a cooperative deadline outside it has expired', async () => {
    const clock = new FakeClock();
    let signal: AbortSignal | undefined;
    const { policy } = setup(
      {
        fn: ({ context }) => {
          signal = context.signal;
          return 'answered after the deadline';
        },
      },
      clock,
    );
    const call = pipeline(deadline(200, { clock, strategy: 'cooperative' }), policy).execute(
      ({ signal: inner }) =>
        new Promise((_resolve, reject) =>
          inner.addEventListener('abort', () => reject(inner.reason as Error)),
        ),
    );
    await clock.advance(200);
    await expect(call).resolves.toBe('answered after the deadline');
    expect(signal?.aborted).toBe(false);
  });
});

describe('fallback: options', () => {
  it.each<[string, Record<string, unknown>, Error]>([
    [
      'neither value nor fn',
      {},
      new TypeError('expected exactly one of value and fn, got neither'),
    ],
    [
      'both value and fn',
      { value: 1, fn: () => 2 },
      new TypeError('expected exactly one of value and fn, got both'),
    ],
    [
      'a fn that is not a function',
      { fn: 'x' },
      new TypeError('expected fn to be a function, got "x"'),
    ],
    [
      'timeoutMs with a value',
      { value: 1, timeoutMs: 100 },
      new TypeError(
        'expected timeoutMs only with fn (a value needs no time limit), got it with value',
      ),
    ],
    [
      'a negative timeoutMs',
      { fn: () => 1, timeoutMs: -1 },
      new RangeError('expected timeoutMs to be an integer between 1 and 2147483647, got -1'),
    ],
    [
      'a NaN timeoutMs',
      { fn: () => 1, timeoutMs: Number.NaN },
      new TypeError('expected timeoutMs to be an integer between 1 and 2147483647, got NaN'),
    ],
    [
      'a when without predicates',
      { value: 1, when: {} },
      new TypeError('expected when to have an error or a result predicate, got neither'),
    ],
    [
      'a when that is a function',
      { value: 1, when: () => true },
      new TypeError(
        'expected when to be an object with error and/or result predicates, got a function',
      ),
    ],
    [
      'a misspelt option',
      { value: 1, timeout: 100 },
      new TypeError(
        'unknown option "timeout" for fallback(); did you mean "timeoutMs"? expected one of value, fn, when, timeoutMs, name, listener, clock',
      ),
    ],
  ])('refuses %s, naming what was expected and what was given', (_label, options, error) => {
    expect(() => fallback(options as unknown as FallbackOptions)).toThrow(error);
  });
});
