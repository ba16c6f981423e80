import { Context, terminal } from '@bulwark/core/internal';
import { describe, expect, it } from 'vitest';
import { WaitQueue, Waiter, type WaiterOwner } from './wait-queue.js';

const owner: WaiterOwner = { expire: () => {}, cancel: () => {} };

function waiters(count: number): Waiter[] {
  return Array.from(
    { length: count },
    () =>
      new Waiter(
        owner,
        Context.root(() => 0, undefined),
        terminal,
      ),
  );
}

function drain(queue: WaitQueue): Waiter[] {
  const out: Waiter[] = [];
  for (let w = queue.shift(); w !== undefined; w = queue.shift()) out.push(w);
  return out;
}

describe('WaitQueue', () => {
  it('hands waiters out first in, first out', () => {
    const queue = new WaitQueue();
    const [a, b, c] = waiters(3) as [Waiter, Waiter, Waiter];
    queue.push(a);
    queue.push(b);
    queue.push(c);
    expect(queue.size).toBe(3);
    expect(drain(queue)).toEqual([a, b, c]);
    expect(queue.isEmpty).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('removes a waiter from the middle, the head or the tail and keeps the rest in order', () => {
    const queue = new WaitQueue();
    const [a, b, c, d, e] = waiters(5) as [Waiter, Waiter, Waiter, Waiter, Waiter];
    for (const w of [a, b, c, d, e]) queue.push(w);
    expect(queue.delete(c)).toBe(true);
    expect(queue.delete(a)).toBe(true);
    expect(queue.delete(e)).toBe(true);
    expect(queue.size).toBe(2);
    expect(drain(queue)).toEqual([b, d]);
  });

  it('reports a waiter that already left as not removed', () => {
    const queue = new WaitQueue();
    const [a] = waiters(1) as [Waiter];
    queue.push(a);
    expect(queue.delete(a)).toBe(true);
    expect(queue.delete(a)).toBe(false);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('accepts new waiters after being emptied', () => {
    const queue = new WaitQueue();
    const [a, b] = waiters(2) as [Waiter, Waiter];
    queue.push(a);
    queue.delete(a);
    queue.push(b);
    expect(drain(queue)).toEqual([b]);
  });
});
