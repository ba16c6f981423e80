import { BrokenCircuitError, IsolatedCircuitError, type PolicyEvent } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { circuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import { consecutive } from './consecutive.js';
import { countWindow } from './count-window.js';
import type { BreakerSnapshot } from './snapshot.js';
import { timeWindow } from './time-window.js';

const boom = (): never => {
  throw new Error('boom');
};

const START = Date.UTC(2026, 0, 1);

/** A process that ran for a while, and one started `downMs` later on a fresh monotonic clock. */
function restart(snapshot: BreakerSnapshot, downMs: number, options: CircuitBreakerOptions = {}) {
  const clock = new FakeClock({ now: 0, date: snapshot.takenAt + downMs });
  const events: PolicyEvent[] = [];
  const breaker = circuitBreaker({
    strategy: consecutive({ threshold: 2 }),
    breakDurationMs: 1000,
    ...options,
    clock,
    listener: (event) => events.push(event),
    restore: JSON.parse(JSON.stringify(snapshot)) as BreakerSnapshot,
  });
  return { clock, breaker, events };
}

function running(options: CircuitBreakerOptions = {}) {
  const clock = new FakeClock({ now: 50_000, date: START + 50_000 });
  const breaker = circuitBreaker({
    strategy: consecutive({ threshold: 2 }),
    breakDurationMs: 1000,
    clock,
    ...options,
  });
  return { clock, breaker };
}

describe('snapshot() and restore', () => {
  it('keeps an open breaker open until its time, across a restart', async () => {
    const { clock, breaker } = running({ key: 'k' });
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await clock.advance(300);
    const snapshot = breaker.snapshot();
    expect(snapshot).toEqual({
      version: 1,
      key: 'k',
      state: 'open',
      takenAt: START + 50_300,
      openUntil: START + 51_000,
      breakMs: 1000,
      reopens: 0,
      strategy: { kind: 'consecutive', failures: 2 },
    });

    const restored = restart(snapshot, 200);
    expect(restored.breaker.state).toBe('open');
    await expect(restored.breaker.execute(() => 'ok')).rejects.toMatchObject({ retryAfterMs: 500 });
    await restored.clock.advance(499);
    await expect(restored.breaker.execute(() => 'ok')).rejects.toBeInstanceOf(BrokenCircuitError);
    await restored.clock.advance(1);
    await expect(restored.breaker.execute(() => 'ok')).resolves.toBe('ok');
    expect(restored.breaker.state).toBe('closed');
  });

  it('lets a trial through at once when the break ended during the restart', async () => {
    const { breaker } = running();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    const restored = restart(breaker.snapshot(), 5000);
    expect(restored.breaker.state).toBe('half-open');
    await expect(restored.breaker.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('saves a half-open breaker as open with its trial due', async () => {
    const { clock, breaker } = running();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await clock.advance(1000);
    const trial = breaker.execute(() => new Promise(() => {}));
    expect(breaker.view().halfOpen).toMatchObject({ inFlight: 1 });
    const snapshot = breaker.snapshot();
    expect(snapshot).toMatchObject({ state: 'open', openUntil: snapshot.takenAt });
    const restored = restart(snapshot, 0);
    expect(restored.breaker.view().halfOpen).toEqual({ trials: 1, inFlight: 0, passed: 0 });
    void trial;
  });

  it('keeps the consecutive failure count of a closed breaker', async () => {
    const { breaker } = running();
    await expect(breaker.execute(boom)).rejects.toThrow();
    const restored = restart(breaker.snapshot(), 10);
    expect(restored.breaker.view()).toMatchObject({ state: 'closed', failures: 1 });
    await expect(restored.breaker.execute(boom)).rejects.toThrow();
    expect(restored.breaker.state).toBe('open');
  });

  it('keeps an isolated breaker isolated', async () => {
    const { breaker } = running({ key: 'k' });
    breaker.isolate();
    const restored = restart(breaker.snapshot(), 60_000);
    await expect(restored.breaker.execute(() => 'ok')).rejects.toBeInstanceOf(IsolatedCircuitError);
    restored.breaker.reset();
    await expect(restored.breaker.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('keeps the grown break and goes on growing it', async () => {
    const options = { breakBackoff: { factor: 2, maxMs: 10_000 } };
    const { clock, breaker } = running(options);
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await clock.advance(1000);
    await expect(breaker.execute(boom)).rejects.toThrow();
    expect(breaker.view()).toMatchObject({ breakMs: 2000, reopens: 1 });
    const restored = restart(breaker.snapshot(), 0, options);
    expect(restored.breaker.view()).toMatchObject({
      breakMs: 2000,
      reopens: 1,
      retryAfterMs: 2000,
    });
    await restored.clock.advance(2000);
    await expect(restored.breaker.execute(boom)).rejects.toThrow();
    expect(restored.breaker.view()).toMatchObject({ breakMs: 4000, reopens: 2 });
  });

  it('round-trips a count window, slow calls included', async () => {
    const options = { strategy: countWindow({ size: 5, slowCallMs: 10 }) };
    const { clock, breaker } = running(options);
    for (const [ms, fails] of [
      [5, false],
      [20, true],
      [20, false],
      [1, true],
    ] as const) {
      const p = breaker.execute(async () => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
        if (fails) throw new Error('x');
      });
      const done = p.catch(() => undefined);
      await clock.advance(ms);
      await done;
    }
    const snapshot = breaker.snapshot();
    expect(snapshot.strategy).toEqual({ kind: 'count-window', samples: [0, 3, 2, 1] });
    const restored = restart(snapshot, 0, options);
    expect(restored.breaker.view()).toMatchObject({ calls: 4, failures: 2, slowCalls: 2 });
  });

  it('keeps only the most recent calls when the window shrank', async () => {
    const { breaker } = running({ strategy: countWindow({ size: 4 }) });
    await breaker.execute(() => 'ok');
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    const restored = restart(breaker.snapshot(), 0, {
      strategy: countWindow({ size: 2 }),
    });
    expect(restored.breaker.view()).toMatchObject({ calls: 2, failures: 2, state: 'closed' });
  });

  it('round-trips a time window, expiring buckets by the wall-clock time that passed', async () => {
    const options = {
      strategy: timeWindow({ windowMs: 1000, buckets: 10, minimumThroughput: 100 }),
    };
    const { clock, breaker } = running(options);
    await expect(breaker.execute(boom)).rejects.toThrow();
    await clock.advance(400);
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    const snapshot = breaker.snapshot();
    expect(snapshot.strategy).toEqual({
      kind: 'time-window',
      buckets: [
        { at: START + 50_000, calls: 1, failures: 1, slowCalls: 0 },
        { at: START + 50_400, calls: 2, failures: 0, slowCalls: 0 },
      ],
    });
    const restored = restart(snapshot, 100, options);
    expect(restored.breaker.view()).toMatchObject({ calls: 3, failures: 1 });
    // The first bucket started 500 ms before the restart ended: it leaves 500 ms later.
    await restored.clock.advance(500);
    expect(restored.breaker.view()).toMatchObject({ calls: 2, failures: 0 });
    await restored.clock.advance(400);
    expect(restored.breaker.view()).toMatchObject({ calls: 0, failures: 0 });
  });

  it('drops the counters of another strategy kind but keeps the state', async () => {
    const { breaker } = running();
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(boom)).rejects.toThrow();
    const restored = restart(breaker.snapshot(), 0, { strategy: countWindow({ size: 3 }) });
    expect(restored.breaker.view()).toMatchObject({ state: 'open', calls: 0, failures: 0 });
  });

  it('reports the restored state as a transition', async () => {
    const { breaker } = running({ key: 'k' });
    breaker.isolate();
    const { events } = restart(breaker.snapshot(), 0);
    expect(events).toEqual([
      {
        type: 'breaker-created',
        policy: 'circuit-breaker',
        name: undefined,
        operation: undefined,
        key: undefined,
        state: 'closed',
      },
      {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: undefined,
        operation: undefined,
        key: undefined,
        from: 'closed',
        to: 'isolated',
      },
    ]);
  });

  it('restore() forgets the outcomes of calls in flight', async () => {
    const { breaker } = running({ strategy: consecutive({ threshold: 1 }) });
    const closed = breaker.snapshot();
    let fail!: (error: Error) => void;
    const call = breaker.execute(() => new Promise((_, reject) => (fail = reject)));
    breaker.restore(closed);
    fail(new Error('late'));
    await expect(call).rejects.toThrow('late');
    expect(breaker.state).toBe('closed');
  });

  const base: BreakerSnapshot = {
    version: 1,
    state: 'closed',
    takenAt: START,
    breakMs: 1000,
    reopens: 0,
    strategy: { kind: 'consecutive', failures: 0 },
  };
  const bad: Array<[string, unknown, Error]> = [
    [
      'a snapshot that is not an object',
      'open',
      new TypeError('expected snapshot to be an object, got "open"'),
    ],
    [
      'another version',
      { ...base, version: 2 },
      new TypeError('expected snapshot.version to be 1, got 2'),
    ],
    [
      'an unknown state',
      { ...base, state: 'half-open' },
      new TypeError(
        'expected snapshot.state to be one of "closed", "open", "isolated", got "half-open"',
      ),
    ],
    [
      'an open state without openUntil',
      { ...base, state: 'open' },
      new TypeError('expected snapshot.openUntil to be a finite number, got undefined'),
    ],
    [
      'a takenAt that is not a number',
      { ...base, takenAt: '2026' },
      new TypeError('expected snapshot.takenAt to be a finite number, got "2026"'),
    ],
    [
      'a breakMs below 1',
      { ...base, breakMs: 0 },
      new RangeError('expected snapshot.breakMs to be a finite number >= 1, got 0'),
    ],
    [
      'negative reopens',
      { ...base, reopens: -1 },
      new RangeError('expected snapshot.reopens to be an integer >= 0, got -1'),
    ],
    [
      'a strategy without a kind',
      { ...base, strategy: {} },
      new TypeError('expected snapshot.strategy.kind to be a non-empty string, got undefined'),
    ],
    [
      'a negative failure count',
      { ...base, strategy: { kind: 'consecutive', failures: -2 } },
      new RangeError('expected snapshot.strategy.failures to be an integer >= 0, got -2'),
    ],
  ];

  it.each(bad)('rejects %s with the exact message', (_label, snapshot, error) => {
    const breaker = circuitBreaker({ clock: new FakeClock() });
    expect(() => breaker.restore(snapshot as BreakerSnapshot)).toThrow(error);
  });

  it('rejects malformed window counters', () => {
    const count = circuitBreaker({ strategy: countWindow(), clock: new FakeClock() });
    expect(() =>
      count.restore({ ...base, strategy: { kind: 'count-window', samples: [0, 7] } }),
    ).toThrow(
      new RangeError(
        'expected snapshot.strategy.samples[] to be an integer between 0 and 3, got 7',
      ),
    );
    const time = circuitBreaker({ strategy: timeWindow(), clock: new FakeClock() });
    expect(() =>
      time.restore({
        ...base,
        strategy: {
          kind: 'time-window',
          buckets: [{ at: START, calls: 1, failures: 2, slowCalls: 0 }],
        },
      }),
    ).toThrow(
      new RangeError(
        'expected snapshot.strategy.buckets[].failures to be an integer between 0 and 1, got 2',
      ),
    );
  });
});
