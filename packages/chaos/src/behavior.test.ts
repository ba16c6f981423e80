import { type PolicyEvent, pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { chaosBehavior } from './behavior.js';

/** A stand-in for a pooled connection that a behaviour can kill. */
class Connection {
  open = true;
  query(): string {
    if (!this.open) {
      // The pool notices the dead connection and opens a new one for the next query.
      this.open = true;
      throw Object.assign(new Error('socket closed'), { code: 'ECONNRESET' });
    }
    return 'rows';
  }
}

describe('chaosBehavior', () => {
  it('runs the behaviour before the call, then the call, with the call’s context', async () => {
    const order: string[] = [];
    const policy = chaosBehavior({
      rate: 1,
      behavior: ({ context }) => order.push(`behavior ${context.operation}`),
    });
    const result = await pipeline({ operation: 'db.query' }, policy).execute(() => {
      order.push('call');
      return 'rows';
    });
    expect(result).toBe('rows');
    expect(order).toEqual(['behavior db.query', 'call']);
  });

  it('waits for an asynchronous behaviour before the call', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    const call = chaosBehavior({
      rate: 1,
      behavior: () =>
        new Promise<void>((resolve) =>
          clock.setTimeout(() => {
            order.push('behavior done');
            resolve();
          }, 100),
        ),
    }).execute(() => order.push('call'));
    await clock.advance(99);
    expect(order).toEqual([]);
    await clock.advance(1);
    await call;
    expect(order).toEqual(['behavior done', 'call']);
  });

  it('fails the call, without running it, when the behaviour throws or rejects', async () => {
    let ran = false;
    const thrown = new Error('thrown');
    await expect(
      chaosBehavior({
        rate: 1,
        behavior: () => {
          throw thrown;
        },
      }).execute(() => (ran = true)),
    ).rejects.toBe(thrown);
    const rejected = new Error('rejected');
    await expect(
      chaosBehavior({ rate: 1, behavior: () => Promise.reject(rejected) }).execute(
        () => (ran = true),
      ),
    ).rejects.toBe(rejected);
    expect(ran).toBe(false);
  });

  it('composes with retry: a connection killed before the call fails it, and the retry gets a new one', async () => {
    const clock = new FakeClock();
    const connection = new Connection();
    const retries: PolicyEvent[] = [];
    let decided = 0;
    const call = pipeline(
      retry({ clock, backoff: constantBackoff(0), listener: (e) => retries.push(e) }),
      chaosBehavior({
        rate: 1,
        enabled: () => decided++ < 1,
        behavior: () => (connection.open = false),
      }),
    );
    expect(await call.execute(() => connection.query())).toBe('rows');
    const scheduled = retries.filter((e) => e.type === 'retry-scheduled');
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]).toMatchObject({ attempt: 1, error: { code: 'ECONNRESET' } });
  });
});
