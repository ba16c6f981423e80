import { type PolicyEvent, isBulkheadRejectedError } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BREAKER_FAILURE_RATIO,
  DEFAULT_BREAKER_MIN_THROUGHPUT,
  DEFAULT_BREAK_DURATION_MS,
  DEFAULT_BULKHEAD_LIMIT,
  DEFAULT_BULKHEAD_QUEUE,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BREAK_DURATION_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
  DEFAULT_RETRY_BUDGET_RATIO,
  DEFAULT_RETRY_BUDGET_WINDOW_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
} from './defaults.js';
import { standardPipeline } from './standard-pipeline.js';

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const never = () => new Promise<never>(() => {});
const fail = () => Promise.reject(reset());

function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; error?: unknown } = { settled: false };
  promise.then(
    () => (state.settled = true),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('standardPipeline: the defaults are the documented constants', () => {
  it('gives the whole call DEFAULT_DEADLINE_MS', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, retry: false, attemptTimeoutMs: false });
    const call = watch(policy.execute(never));
    await clock.advance(DEFAULT_DEADLINE_MS - 1);
    expect(call.settled).toBe(false);
    await clock.advance(1);
    expect(call.error).toMatchObject({
      code: 'BULWARK_DEADLINE_EXCEEDED',
      budgetMs: DEFAULT_DEADLINE_MS,
    });
  });

  it('limits each attempt to DEFAULT_ATTEMPT_TIMEOUT_MS', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, retry: false });
    const call = watch(policy.execute(never));
    await clock.advance(DEFAULT_ATTEMPT_TIMEOUT_MS - 1);
    expect(call.settled).toBe(false);
    await clock.advance(1);
    expect(call.error).toMatchObject({
      code: 'BULWARK_TIMEOUT',
      timeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
    });
  });

  it('sizes the defaults so that every attempt gets its whole limit within the deadline', () => {
    const backoff = DEFAULT_RETRY_BASE_DELAY_MS * (2 ** (DEFAULT_MAX_ATTEMPTS - 1) - 1);
    expect(DEFAULT_MAX_ATTEMPTS * DEFAULT_ATTEMPT_TIMEOUT_MS + backoff).toBeLessThan(
      DEFAULT_DEADLINE_MS,
    );
  });

  it('makes DEFAULT_MAX_ATTEMPTS attempts, with full jitter from DEFAULT_RETRY_BASE_DELAY_MS', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    const policy = standardPipeline({
      clock,
      // Draws just below 1: each delay is just below its ceiling.
      retry: { random: () => 0.999 },
      listener: (event: PolicyEvent) => {
        if (event.type === 'retry-scheduled') delays.push(event.delayMs);
      },
    });
    let runs = 0;
    const call = watch(policy.execute(() => (runs++, fail())));
    await clock.runAll();
    expect(call.error).toMatchObject({ code: 'ECONNRESET' });
    expect(runs).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(delays).toEqual([
      Math.floor(0.999 * DEFAULT_RETRY_BASE_DELAY_MS),
      Math.floor(0.999 * 2 * DEFAULT_RETRY_BASE_DELAY_MS),
    ]);
  });

  it('caps the backoff at DEFAULT_RETRY_MAX_DELAY_MS', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    const policy = standardPipeline({
      clock,
      retry: { random: () => 0.999, maxAttempts: 7 },
      listener: (event: PolicyEvent) => {
        if (event.type === 'retry-scheduled') delays.push(event.delayMs);
      },
    });
    const call = watch(policy.execute(fail));
    await clock.runAll();
    expect(call.settled).toBe(true);
    expect(delays.at(-1)).toBe(Math.floor(0.999 * DEFAULT_RETRY_MAX_DELAY_MS));
  });

  it('shares one retry budget of the documented ratio, reserve and window', () => {
    const policy = standardPipeline();
    expect(policy.retry?.budget).toBe(policy.budget);
    expect(policy.budget?.state).toMatchObject({
      ratio: DEFAULT_RETRY_BUDGET_RATIO,
      minRetriesPerSecond: DEFAULT_RETRY_BUDGET_MIN_PER_SECOND,
      windowMs: DEFAULT_RETRY_BUDGET_WINDOW_MS,
      available: (DEFAULT_RETRY_BUDGET_MIN_PER_SECOND * DEFAULT_RETRY_BUDGET_WINDOW_MS) / 1000,
    });
  });

  it('keeps the breaker closed below DEFAULT_BREAKER_MIN_THROUGHPUT attempts, however many failed', async () => {
    const policy = standardPipeline({ retry: false });
    for (let i = 0; i < DEFAULT_BREAKER_MIN_THROUGHPUT - 1; i++) {
      await expect(policy.execute(fail)).rejects.toThrow();
    }
    expect(policy.breaker?.state).toBe('closed');
  });

  it('opens the breaker once DEFAULT_BREAKER_FAILURE_RATIO of the attempts failed, not before', async () => {
    const failures = DEFAULT_BREAKER_MIN_THROUGHPUT * DEFAULT_BREAKER_FAILURE_RATIO;
    const policy = standardPipeline({ retry: false });
    for (let i = 0; i < DEFAULT_BREAKER_MIN_THROUGHPUT - failures; i++) {
      await policy.execute(() => 'ok');
    }
    for (let i = 0; i < failures - 1; i++) await expect(policy.execute(fail)).rejects.toThrow();
    expect(policy.breaker?.state).toBe('closed');
    await expect(policy.execute(fail)).rejects.toThrow();
    expect(policy.breaker?.state).toBe('open');
  });

  it('breaks for DEFAULT_BREAK_DURATION_MS, doubling per failed trial up to DEFAULT_MAX_BREAK_DURATION_MS', async () => {
    const clock = new FakeClock();
    const policy = standardPipeline({ clock, retry: false });
    for (let i = 0; i < DEFAULT_BREAKER_MIN_THROUGHPUT; i++) {
      await expect(policy.execute(fail)).rejects.toThrow();
    }
    const breaker = policy.breaker!;
    expect(breaker.view().breakMs).toBe(DEFAULT_BREAK_DURATION_MS);
    await clock.advance(DEFAULT_BREAK_DURATION_MS - 1);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
    const breaks: number[] = [];
    for (let i = 0; i < 6; i++) {
      await expect(policy.execute(fail)).rejects.toThrow('socket hang up');
      breaks.push(breaker.view().breakMs);
      await clock.advance(breaker.view().breakMs);
    }
    const doubled = (n: number) =>
      Math.min(DEFAULT_MAX_BREAK_DURATION_MS, DEFAULT_BREAK_DURATION_MS * 2 ** n);
    expect(breaks).toEqual([1, 2, 3, 4, 5, 6].map(doubled));
    expect(breaks.at(-1)).toBe(DEFAULT_MAX_BREAK_DURATION_MS);
  });

  it('limits calls to DEFAULT_BULKHEAD_LIMIT at once with DEFAULT_BULKHEAD_QUEUE waiting when the bulkhead is on', async () => {
    const policy = standardPipeline({ bulkhead: true, deadlineMs: false, attemptTimeoutMs: false });
    expect(policy.bulkhead).toMatchObject({
      limit: DEFAULT_BULKHEAD_LIMIT,
      queueLimit: DEFAULT_BULKHEAD_QUEUE,
    });
    const releases: Array<() => void> = [];
    const running = Array.from({ length: DEFAULT_BULKHEAD_LIMIT }, () =>
      policy.execute(() => new Promise<void>((resolve) => releases.push(resolve))),
    );
    await expect(policy.execute(() => 'one too many')).rejects.toSatisfy(isBulkheadRejectedError);
    for (const release of releases) release();
    await Promise.all(running);
  });

  it('keeps the default limit when the bulkhead is given only a queue', () => {
    const policy = standardPipeline({ bulkhead: { queue: 5 } });
    expect(policy.bulkhead).toMatchObject({ limit: DEFAULT_BULKHEAD_LIMIT, queueLimit: 5 });
  });

  it('keeps rate limit, bulkhead, fallback and hedging off by default', () => {
    const policy = standardPipeline();
    expect(policy.rateLimit).toBeUndefined();
    expect(policy.bulkhead).toBeUndefined();
    expect(policy.fallback).toBeUndefined();
    expect(policy.hedging).toBeUndefined();
    expect(policy.policies).toEqual([
      policy.deadline,
      policy.retry,
      policy.breaker,
      policy.attemptTimeout,
    ]);
  });
});
