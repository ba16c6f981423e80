import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { Expirable, TimerQueue } from './timer-queue.js';

class Entry extends Expirable {
  constructor(
    readonly label: string,
    private readonly expired: string[],
    private readonly then?: (entry: Entry) => void,
  ) {
    super();
  }
  onExpire(): void {
    this.expired.push(this.label);
    this.then?.(this);
  }
}

function setup(now = 0) {
  const clock = new FakeClock({ now });
  const queue = new TimerQueue(clock);
  const expired: string[] = [];
  const entry = (label: string, then?: (entry: Entry) => void) => new Entry(label, expired, then);
  return { clock, queue, expired, entry };
}

describe('TimerQueue expiry', () => {
  it('expires entries when their time comes, in order', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('a'), 0, 100);
    queue.add(entry('b'), 0, 200);
    queue.add(entry('c'), 0, 300);
    await clock.advance(99);
    expect(expired).toEqual([]);
    await clock.advance(1);
    expect(expired).toEqual(['a']);
    await clock.advance(100);
    expect(expired).toEqual(['a', 'b']);
    await clock.advance(100);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(0);
  });

  it('calls onExpire with the clock at the entry’s expiry time', async () => {
    const { clock, queue, entry } = setup(1000);
    const seen: number[] = [];
    queue.add(
      entry('a', () => seen.push(clock.now())),
      1000,
      250,
    );
    await clock.advance(1000);
    expect(seen).toEqual([1250]);
  });

  it('expires every due entry in one firing when time jumps past several', async () => {
    const { clock, queue, expired, entry } = setup();
    for (const label of ['a', 'b', 'c']) queue.add(entry(label), 0, 100);
    queue.add(entry('d'), 0, 150);
    await clock.advance(1000);
    expect(expired).toEqual(['a', 'b', 'c', 'd']);
  });

  it('inserts entries added out of order where they belong, ties in insertion order', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('c'), 0, 300);
    queue.add(entry('a'), 0, 100);
    queue.add(entry('b1'), 0, 200);
    queue.add(entry('d'), 0, 400);
    queue.add(entry('b2'), 0, 200);
    queue.add(entry('first'), 0, 50);
    await clock.advance(400);
    expect(expired).toEqual(['first', 'a', 'b1', 'b2', 'c', 'd']);
  });

  it('measures each entry from the reading of now it was added with', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('late start'), 50, 100);
    queue.add(entry('early start'), 0, 120);
    await clock.advance(120);
    expect(expired).toEqual(['early start']);
    await clock.advance(30);
    expect(expired).toEqual(['early start', 'late start']);
  });

  it('rounds fractional delays up to whole milliseconds, so an entry is never found unexpired', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('a'), 0, 0.3);
    expect(clock.nextTimerAt).toBe(1);
    await clock.advance(1);
    expect(expired).toEqual(['a']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('arms at least 1 ms ahead for a zero delay', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('a'), 0, 0);
    expect(clock.nextTimerAt).toBe(1);
    await clock.advance(1);
    expect(expired).toEqual(['a']);
  });
});

describe('TimerQueue timer', () => {
  it('arms one timer however many entries are queued', () => {
    const { clock, queue, entry } = setup();
    for (let i = 0; i < 1000; i++) queue.add(entry(String(i)), i, 500);
    expect(queue.size).toBe(1000);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt).toBe(500);
  });

  it('unrefs its timer, so pending expiries never keep the process alive', () => {
    const { clock, queue, entry } = setup();
    queue.add(entry('a'), 0, 500);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
  });

  it('re-arms earlier when an entry due sooner than the armed one is added', () => {
    const { clock, queue, entry } = setup();
    const clear = vi.spyOn(clock, 'clearTimeout');
    queue.add(entry('slow'), 0, 500);
    queue.add(entry('fast'), 0, 100);
    expect(clock.nextTimerAt).toBe(100);
    expect(clock.pendingTimers).toBe(1);
    expect(clear).toHaveBeenCalledTimes(1);
  });

  it('does not touch the timer when a later entry is added', () => {
    const { clock, queue, entry } = setup();
    queue.add(entry('a'), 0, 100);
    const set = vi.spyOn(clock, 'setTimeout');
    const clear = vi.spyOn(clock, 'clearTimeout');
    for (let i = 1; i <= 50; i++) queue.add(entry(String(i)), i, 100);
    expect(set).not.toHaveBeenCalled();
    expect(clear).not.toHaveBeenCalled();
  });

  it('re-arms for the next entry after firing', async () => {
    const { clock, queue, entry } = setup();
    queue.add(entry('a'), 0, 100);
    queue.add(entry('b'), 50, 100);
    await clock.advance(100);
    expect(clock.nextTimerAt).toBe(150);
    expect(clock.pendingTimers).toBe(1);
  });

  it('leaves no timer once the queue has drained', async () => {
    const { clock, queue, entry } = setup();
    queue.add(entry('a'), 0, 100);
    await clock.advance(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('re-arms for the new head when the timer fires after its entry left', async () => {
    const { clock, queue, expired, entry } = setup();
    const a = entry('a');
    queue.add(a, 0, 100);
    queue.add(entry('b'), 0, 150);
    queue.delete(a);
    expect(clock.nextTimerAt).toBe(100);
    await clock.advance(100);
    expect(expired).toEqual([]);
    expect(clock.nextTimerAt).toBe(150);
    await clock.advance(50);
    expect(expired).toEqual(['b']);
  });

  it('arms a fresh timer for an entry added after the queue drained', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(entry('a'), 0, 100);
    await clock.advance(100);
    queue.add(entry('b'), clock.now(), 100);
    expect(clock.nextTimerAt).toBe(200);
    await clock.advance(100);
    expect(expired).toEqual(['a', 'b']);
  });
});

describe('TimerQueue.delete', () => {
  it('removes an entry so it never expires', async () => {
    const { clock, queue, expired, entry } = setup();
    const a = entry('a');
    queue.add(a, 0, 100);
    queue.delete(a);
    expect(queue.size).toBe(0);
    await clock.advance(1000);
    expect(expired).toEqual([]);
  });

  it('is a no-op for an entry that is not queued, or deleted twice', () => {
    const { queue, entry } = setup();
    const a = entry('a');
    const b = entry('b');
    queue.add(b, 0, 100);
    expect(() => queue.delete(a)).not.toThrow();
    queue.delete(b);
    queue.delete(b);
    expect(queue.size).toBe(0);
  });

  it('is a no-op for an entry that already expired', async () => {
    const { clock, queue, entry } = setup();
    const a = entry('a');
    queue.add(a, 0, 100);
    queue.add(entry('b'), 0, 200);
    await clock.advance(100);
    queue.delete(a);
    expect(queue.size).toBe(1);
  });

  it('never touches the timer', () => {
    const { clock, queue, entry } = setup();
    const a = entry('a');
    queue.add(a, 0, 100);
    const set = vi.spyOn(clock, 'setTimeout');
    const clear = vi.spyOn(clock, 'clearTimeout');
    queue.delete(a);
    expect(set).not.toHaveBeenCalled();
    expect(clear).not.toHaveBeenCalled();
  });

  it.each([
    ['head', 'a', ['b', 'c']],
    ['middle', 'b', ['a', 'c']],
    ['tail', 'c', ['a', 'b']],
  ])('keeps the rest in order after removing the %s', async (_, removed, remaining) => {
    const { clock, queue, expired, entry } = setup();
    const entries = ['a', 'b', 'c'].map((label) => entry(label));
    entries.forEach((e, i) => queue.add(e, 0, 100 * (i + 1)));
    queue.delete(entries.find((e) => e.label === removed)!);
    queue.add(entry('d'), 0, 400);
    await clock.advance(400);
    expect(expired).toEqual([...remaining, 'd']);
  });

  it('removes entries from a 100k queue without walking it (one pass stays fast)', async () => {
    const { clock, queue, expired, entry } = setup();
    const entries = Array.from({ length: 100_000 }, (_, i) => entry(String(i)));
    entries.forEach((e, i) => queue.add(e, i, 1000));
    // Delete every other entry from the middle outwards: a list walk per delete would be O(n^2).
    for (let i = 1; i < entries.length; i += 2) queue.delete(entries[i]!);
    expect(queue.size).toBe(50_000);
    await clock.advance(200_000);
    expect(expired).toHaveLength(50_000);
    expect(expired[0]).toBe('0');
    expect(expired[1]).toBe('2');
    expect(expired.at(-1)).toBe('99998');
  });
});

describe('TimerQueue re-adding', () => {
  it('moves an entry that is already queued instead of queuing it twice', async () => {
    const { clock, queue, expired, entry } = setup();
    const a = entry('a');
    queue.add(a, 0, 100);
    queue.add(entry('b'), 0, 200);
    queue.add(a, 0, 300);
    expect(queue.size).toBe(2);
    await clock.advance(300);
    expect(expired).toEqual(['b', 'a']);
  });

  it('lets onExpire add entries, including the one expiring', async () => {
    const { clock, queue, expired, entry } = setup();
    let rounds = 0;
    const heartbeat = entry('beat', (self) => {
      if (++rounds < 3) queue.add(self, clock.now(), 100);
    });
    queue.add(heartbeat, 0, 100);
    queue.add(entry('other'), 0, 250);
    await clock.advance(1000);
    expect(expired).toEqual(['beat', 'beat', 'other', 'beat']);
    expect(queue.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps one armed timer when onExpire adds an entry due before the next one', async () => {
    const { clock, queue, expired, entry } = setup();
    queue.add(
      entry('a', () => queue.add(entry('inserted'), clock.now(), 10)),
      0,
      100,
    );
    queue.add(entry('b'), 0, 500);
    await clock.advance(100);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt).toBe(110);
    await clock.advance(10);
    expect(expired).toEqual(['a', 'inserted']);
    await clock.advance(390);
    expect(expired).toEqual(['a', 'inserted', 'b']);
  });
});
