import type { ExecutionContext } from '@bulwark/core';
import type * as internal from '@bulwark/core/internal';
import { emit } from '@bulwark/core/internal';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { hedging } from './hedging.js';

// Every event object the hedger builds is built as the argument of emit(): a spy on emit() sees
// whether any was.
vi.mock('@bulwark/core/internal', async (importOriginal) => {
  const actual = await importOriginal<typeof internal>();
  return { ...actual, emit: vi.fn(actual.emit) };
});

/** A call that starts a hedge, wins with it and cancels the first attempt. */
async function hedgedCall(listener: ((event: unknown) => void) | undefined): Promise<void> {
  const clock = new FakeClock();
  const hedger = hedging({ idempotent: true, delay: 10, clock, listener });
  const answers: Array<(value: string) => void> = [];
  const call = hedger.execute(
    (_context: ExecutionContext) => new Promise<string>((resolve) => answers.push(resolve)),
  );
  await clock.advance(10);
  answers[1]!('hedge');
  await expect(call).resolves.toBe('hedge');
}

describe('hedging without a listener', () => {
  it('builds and reports no event at all', async () => {
    vi.mocked(emit).mockClear();
    await hedgedCall(undefined);
    expect(emit).not.toHaveBeenCalled();
  });

  it('reports the same call’s three events once a listener is given', async () => {
    vi.mocked(emit).mockClear();
    const listener = vi.fn();
    await hedgedCall(listener);
    expect(emit).toHaveBeenCalledTimes(3);
    expect(listener.mock.calls.map(([event]) => (event as { type: string }).type)).toEqual([
      'hedge-started',
      'hedge-won',
      'hedge-cancelled',
    ]);
  });
});
