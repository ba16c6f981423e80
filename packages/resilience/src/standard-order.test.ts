import { type AnyPolicy, pipeline } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { type StandardStages, standardOrder } from './standard-order.js';

const noEvents = () => ({ dispose: () => undefined });

/** A cockatiel-shaped policy that records, in the order calls reach it, that it ran. */
function marker(name: string, seen: string[]): AnyPolicy {
  return {
    _altReturn: undefined as never,
    onSuccess: noEvents,
    onFailure: noEvents,
    execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) {
      seen.push(name);
      return Promise.resolve(fn({ signal: signal ?? new AbortController().signal }));
    },
  };
}

const NAMES = [
  'outer',
  'rateLimit',
  'bulkhead',
  'deadline',
  'fallback',
  'retry',
  'perAttempt',
  'breaker',
  'attemptTimeout',
] as const;

describe('standardOrder', () => {
  it('puts every stage in the standard order, outermost first, whatever order they are given in', async () => {
    const seen: string[] = [];
    const stages: Record<string, unknown> = {};
    for (const name of [...NAMES].reverse()) stages[name] = marker(name, seen);
    await pipeline(...standardOrder(stages as StandardStages)).execute(() => 'done');
    expect(seen).toEqual([...NAMES]);
  });

  it('leaves out the stages that are absent', () => {
    const retry = marker('retry', []);
    const breaker = marker('breaker', []);
    expect(standardOrder({ breaker, retry, deadline: undefined })).toEqual([retry, breaker]);
    expect(standardOrder({})).toEqual([]);
  });
});
