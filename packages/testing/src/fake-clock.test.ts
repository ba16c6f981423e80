import { describe, expect, it, vi } from 'vitest';
import { FakeClock, settle } from './fake-clock.js';

describe('FakeClock time', () => {
  it('starts at 0 unless told otherwise', () => {
    expect(new FakeClock().now()).toBe(0);
    expect(new FakeClock({ now: 5000 }).now()).toBe(5000);
  });

  it('starts the wall clock at 2026-01-01 unless told otherwise', () => {
    expect(new FakeClock().dateNow()).toBe(Date.UTC(2026, 0, 1));
    const date = Date.UTC(2030, 5, 15, 12);
    expect(new FakeClock({ now: 100, date }).dateNow()).toBe(date);
  });

  it('moves only when advanced, and moves the wall clock with it', async () => {
    const clock = new FakeClock({ now: 100 });
    const startDate = clock.dateNow();
    expect(clock.now()).toBe(100);
    await clock.advance(1500);
    expect(clock.now()).toBe(1600);
    expect(clock.dateNow()).toBe(startDate + 1500);
  });

  it('rejects a negative or NaN advance with a RangeError', async () => {
    const clock = new FakeClock();
    await expect(clock.advance(-1)).rejects.toThrow(
      new RangeError('expected ms to be a number >= 0, got -1'),
    );
    await expect(clock.advance(NaN)).rejects.toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });

  it('accepts a zero advance', async () => {
    const clock = new FakeClock();
    await clock.advance(0);
    expect(clock.now()).toBe(0);
  });
});

describe('FakeClock timers', () => {
  it('fires a timer only once time reaches it', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    clock.setTimeout(callback, 100);
    await clock.advance(99);
    expect(callback).not.toHaveBeenCalled();
    await clock.advance(1);
    expect(callback).toHaveBeenCalledTimes(1);
    await clock.advance(1000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('fires due timers in time order, ties in the order they were set', async () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c'), 300);
    clock.setTimeout(() => fired.push('a'), 100);
    clock.setTimeout(() => fired.push('b1'), 200);
    clock.setTimeout(() => fired.push('b2'), 200);
    await clock.advance(1000);
    expect(fired).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('shows each callback the time its timer was due', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 30);
    clock.setTimeout(() => seen.push(clock.now()), 70);
    await clock.advance(100);
    expect(seen).toEqual([30, 70]);
    expect(clock.now()).toBe(100);
  });

  it('fires timers set by callbacks when they fall within the same advance', async () => {
    const clock = new FakeClock();
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => {
      fired.push(['first', clock.now()]);
      clock.setTimeout(() => fired.push(['chained', clock.now()]), 20);
      clock.setTimeout(() => fired.push(['too late', clock.now()]), 500);
    }, 10);
    clock.setTimeout(() => fired.push(['between', clock.now()]), 25);
    await clock.advance(100);
    expect(fired).toEqual([
      ['first', 10],
      ['between', 25],
      ['chained', 30],
    ]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt).toBe(510);
  });

  it('fires a zero-delay timer on the next advance, even of 0', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    clock.setTimeout(callback, 0);
    expect(callback).not.toHaveBeenCalled();
    await clock.advance(0);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('treats negative, NaN and infinite delays as 0', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    clock.setTimeout(callback, -5);
    clock.setTimeout(callback, NaN);
    clock.setTimeout(callback, Infinity);
    expect(clock.nextTimerAt).toBe(0);
    await clock.advance(0);
    expect(callback).toHaveBeenCalledTimes(3);
  });

  it('never fires a cleared timer', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    const handle = clock.setTimeout(callback, 100);
    expect(clock.pendingTimers).toBe(1);
    clock.clearTimeout(handle);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(200);
    expect(callback).not.toHaveBeenCalled();
  });

  it('lets a callback clear a later timer', async () => {
    const clock = new FakeClock();
    const later = vi.fn();
    const handle = clock.setTimeout(later, 50);
    clock.setTimeout(() => clock.clearTimeout(handle), 10);
    await clock.advance(100);
    expect(later).not.toHaveBeenCalled();
  });

  it('ignores clearing handles it did not create, or twice', () => {
    const clock = new FakeClock();
    const handle = clock.setTimeout(() => undefined, 10);
    expect(() => {
      clock.clearTimeout(undefined);
      clock.clearTimeout({});
      clock.clearTimeout(new FakeClock().setTimeout(() => undefined, 10));
      clock.clearTimeout(handle);
      clock.clearTimeout(handle);
    }).not.toThrow();
    expect(clock.pendingTimers).toBe(0);
  });

  it('reports when the next timer is due', () => {
    const clock = new FakeClock({ now: 1000 });
    expect(clock.nextTimerAt).toBeUndefined();
    clock.setTimeout(() => undefined, 300);
    clock.setTimeout(() => undefined, 100);
    expect(clock.nextTimerAt).toBe(1100);
  });

  it('counts unref’d timers as pending but not referenced', () => {
    const clock = new FakeClock();
    const kept = clock.setTimeout(() => undefined, 10);
    const unrefd = clock.setTimeout(() => undefined, 10).unref();
    expect(clock.pendingTimers).toBe(2);
    expect(clock.referencedTimers).toBe(1);
    expect(kept.hasRef()).toBe(true);
    expect(unrefd.hasRef()).toBe(false);
    unrefd.ref();
    expect(clock.referencedTimers).toBe(2);
    expect(unrefd.hasRef()).toBe(true);
  });

  it('returns the handle itself from unref() and ref(), as Node does', () => {
    const handle = new FakeClock().setTimeout(() => undefined, 10);
    expect(handle.unref()).toBe(handle);
    expect(handle.ref()).toBe(handle);
  });

  it('surfaces an error thrown by a callback from advance()', async () => {
    const clock = new FakeClock();
    clock.setTimeout(() => {
      throw new Error('callback failed');
    }, 10);
    await expect(clock.advance(20)).rejects.toThrow('callback failed');
  });
});

describe('FakeClock and promises', () => {
  const sleep = (clock: FakeClock, ms: number) =>
    new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

  it('lets promise chains started by a timer settle within the advance', async () => {
    const clock = new FakeClock();
    const log: string[] = [];
    void sleep(clock, 10)
      .then(() => log.push('one'))
      .then(() => Promise.resolve())
      .then(() => log.push('two'))
      .then(async () => {
        await Promise.resolve();
        log.push('three');
      });
    await clock.advance(10);
    expect(log).toEqual(['one', 'two', 'three']);
  });

  it('runs consecutive sleeps of an async function within one advance', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const done = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100);
        times.push(clock.now());
      }
      return 'finished';
    })();
    await clock.advance(300);
    expect(times).toEqual([100, 200, 300]);
    await expect(done).resolves.toBe('finished');
  });

  it('lets a timer set after an await inside a callback chain fire in the same advance', async () => {
    const clock = new FakeClock();
    const fired = vi.fn();
    void sleep(clock, 10).then(async () => {
      await Promise.resolve();
      await sleep(clock, 10);
      fired(clock.now());
    });
    await clock.advance(20);
    expect(fired).toHaveBeenCalledWith(20);
  });

  it('settles work scheduled before the advance starts', async () => {
    const clock = new FakeClock();
    const fired = vi.fn();
    // The timer is only set once the promise chain runs, after advance() is called.
    void Promise.resolve().then(() => clock.setTimeout(fired, 5));
    await clock.advance(5);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});

describe('FakeClock.runAll', () => {
  it('fires every timer, including those set by callbacks, and ends at the last one’s time', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 1000);
    }, 500);
    clock.setTimeout(() => fired.push(clock.now()), 200);
    await clock.runAll();
    expect(fired).toEqual([200, 500, 1500]);
    expect(clock.now()).toBe(1500);
    expect(clock.pendingTimers).toBe(0);
  });

  it('returns at once when no timer is pending', async () => {
    const clock = new FakeClock();
    await clock.runAll();
    expect(clock.now()).toBe(0);
  });

  it('succeeds when the last permitted round empties the queue', async () => {
    const clock = new FakeClock();
    const callback = vi.fn();
    clock.setTimeout(callback, 10);
    await expect(clock.runAll(1)).resolves.toBeUndefined();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('stops a timer that keeps rescheduling itself after the limit', async () => {
    const clock = new FakeClock();
    const tick = (): void => {
      clock.setTimeout(tick, 10);
    };
    tick();
    await expect(clock.runAll(5)).rejects.toThrow('runAll: still 1 timers pending after 5 rounds');
    expect(clock.now()).toBe(50);
  });
});

describe('settle', () => {
  it('resolves after pending promise callbacks have run', async () => {
    const log: string[] = [];
    void Promise.resolve()
      .then(() => log.push('a'))
      .then(() => log.push('b'));
    await settle();
    expect(log).toEqual(['a', 'b']);
  });
});
