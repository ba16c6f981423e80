import {
  BrokenCircuitError,
  IsolatedCircuitError,
  pipeline,
  type PolicyEvent,
} from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { breakerRegistry, type BreakerRegistryOptions } from './breaker-registry.js';
import { consecutive } from './consecutive.js';

const boom = (): never => {
  throw new Error('boom');
};

function setup(options: BreakerRegistryOptions = {}) {
  const clock = new FakeClock();
  const events: PolicyEvent[] = [];
  const registry = breakerRegistry({
    breaker: { strategy: consecutive({ threshold: 1 }), breakDurationMs: 1000 },
    clock,
    listener: (event) => events.push(event),
    ...options,
  });
  const trip = (key: string) => expect(registry.get(key).execute(boom)).rejects.toThrow('boom');
  const keys = () => registry.views().map((view) => view.key);
  return { clock, registry, events, trip, keys };
}

describe('breakerRegistry()', () => {
  it('creates one breaker per key on first use and returns it after', () => {
    const { registry } = setup();
    const a = registry.get('a');
    expect(registry.get('a')).toBe(a);
    expect(registry.get('b')).not.toBe(a);
    expect(a.key).toBe('a');
    expect(registry.size).toBe(2);
  });

  it('keeps keys independent: one dead key does not affect another', async () => {
    const { registry, trip } = setup();
    await trip('dead.example.com');
    await expect(registry.get('dead.example.com').execute(() => 'ok')).rejects.toMatchObject({
      key: 'dead.example.com',
      message: 'circuit dead.example.com is open; next trial in 1000 ms',
    });
    await expect(registry.get('alive.example.com').execute(() => 'ok')).resolves.toBe('ok');
    expect(registry.view('alive.example.com')?.state).toBe('closed');
  });

  it('gives each key its own options when breaker is a function', async () => {
    const seen: string[] = [];
    const { registry } = setup({
      breaker: ({ key }) => {
        seen.push(key);
        return { strategy: consecutive({ threshold: key === 'fragile' ? 1 : 3 }) };
      },
    });
    await expect(registry.get('fragile').execute(boom)).rejects.toThrow();
    await expect(registry.get('sturdy').execute(boom)).rejects.toThrow();
    registry.get('fragile');
    expect(registry.get('fragile').state).toBe('open');
    expect(registry.get('sturdy').state).toBe('closed');
    expect(seen).toEqual(['fragile', 'sturdy']);
  });

  it('reports each breaker it creates, once, with its key and the state it starts in', () => {
    const { registry, events } = setup();
    registry.get('a');
    registry.get('b');
    registry.get('a');
    registry.isolateAll();
    registry.get('c');
    expect(events.map((e) => [e.type, 'key' in e ? e.key : undefined])).toEqual([
      ['breaker-created', 'a'],
      ['breaker-created', 'b'],
      // isolateAll() goes least recently used first.
      ['breaker-state', 'b'],
      ['breaker-state', 'a'],
      // Made closed, then isolated at once, as every breaker is after isolateAll().
      ['breaker-created', 'c'],
      ['breaker-state', 'c'],
    ]);
    expect(events[0]).toEqual({
      type: 'breaker-created',
      policy: 'circuit-breaker',
      name: undefined,
      operation: undefined,
      key: 'a',
      state: 'closed',
    });
  });

  it('tags every event with the key of its breaker', async () => {
    const { registry, events, trip } = setup();
    await trip('a');
    await expect(
      pipeline({ operation: 'op' }, registry.get('a')).execute(() => 'x'),
    ).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(events).toEqual([
      {
        type: 'breaker-created',
        policy: 'circuit-breaker',
        name: undefined,
        operation: undefined,
        key: 'a',
        state: 'closed',
      },
      {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: undefined,
        operation: undefined,
        key: 'a',
        from: 'closed',
        to: 'open',
      },
      {
        type: 'breaker-used',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'op',
        key: 'a',
        state: 'open',
      },
      {
        type: 'breaker-rejected',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'op',
        key: 'a',
        state: 'open',
      },
    ]);
  });

  it('drops the least recently used key beyond maxKeys', () => {
    const { registry, keys } = setup({ maxKeys: 2 });
    const a = registry.get('a');
    registry.get('b');
    registry.get('c');
    expect(keys()).toEqual(['b', 'c']);
    expect(registry.get('a')).not.toBe(a);
    expect(keys()).toEqual(['c', 'a']);
  });

  it('counts get() as a use', () => {
    const { registry, keys } = setup({ maxKeys: 2 });
    registry.get('a');
    registry.get('b');
    registry.get('a');
    registry.get('c');
    expect(keys()).toEqual(['a', 'c']);
  });

  it('drops a closed breaker before an older open one', async () => {
    const { registry, trip, keys } = setup({ maxKeys: 2 });
    await trip('open');
    registry.get('closed');
    registry.get('new');
    expect(keys()).toEqual(['open', 'new']);
    expect(registry.view('open')?.state).toBe('open');
  });

  it('drops the least recently used open breaker when no closed one is left, and isolated ones last', async () => {
    const { registry, trip, keys } = setup({ maxKeys: 3 });
    registry.isolate('isolated');
    await trip('open1');
    await trip('open2');
    await trip('open3');
    expect(keys()).toEqual(['isolated', 'open2', 'open3']);
    registry.get('open2').isolate();
    registry.get('open3').isolate();
    registry.get('new');
    expect(keys()).toEqual(['open2', 'open3', 'new']);
  });

  it('keeps a key isolated after its isolated breaker was evicted, until reset', async () => {
    const { registry, keys } = setup({ maxKeys: 2 });
    registry.isolate('a');
    registry.isolate('b');
    registry.get('c');
    expect(keys()).toEqual(['b', 'c']);
    // 'a' comes back isolated: the operator's decision outlived its breaker object.
    await expect(registry.get('a').execute(() => 'ok')).rejects.toThrow(
      new IsolatedCircuitError('a'),
    );
    expect(registry.view('a')?.state).toBe('isolated');
    registry.reset('a');
    await expect(registry.get('a').execute(() => 'ok')).resolves.toBe('ok');
    // reset() of an evicted key lifts its isolation too.
    registry.isolate('d');
    registry.isolate('e');
    registry.get('f');
    registry.reset('d');
    expect(registry.view('d')).toBeUndefined();
    await expect(registry.get('d').execute(() => 'ok')).resolves.toBe('ok');
  });

  it('views() lists every breaker, least recently used first; view() neither creates nor uses a key', async () => {
    const { registry, trip, keys } = setup();
    await trip('a');
    registry.get('b');
    expect(registry.view('nope')).toBeUndefined();
    expect(registry.size).toBe(2);
    registry.view('a');
    expect(keys()).toEqual(['a', 'b']);
    expect(registry.views().map(({ key, state }) => ({ key, state }))).toEqual([
      { key: 'a', state: 'open' },
      { key: 'b', state: 'closed' },
    ]);
  });

  it('isolate(key) cuts a key off before its first call; reset(key) restores it', async () => {
    const { registry } = setup();
    registry.isolate('maintenance');
    await expect(registry.get('maintenance').execute(() => 'ok')).rejects.toThrow(
      new IsolatedCircuitError('maintenance'),
    );
    registry.reset('maintenance');
    await expect(registry.get('maintenance').execute(() => 'ok')).resolves.toBe('ok');
  });

  it('reset(key) of an unknown key creates nothing', () => {
    const { registry } = setup();
    registry.reset('ghost');
    expect(registry.size).toBe(0);
  });

  it('isolateAll() isolates every breaker, those created later too, until resetAll()', async () => {
    const { registry, trip } = setup();
    await trip('open');
    registry.get('closed');
    registry.isolateAll();
    expect(registry.views().map((view) => view.state)).toEqual(['isolated', 'isolated']);
    await expect(registry.get('later').execute(() => 'ok')).rejects.toBeInstanceOf(
      IsolatedCircuitError,
    );
    registry.resetAll();
    expect(registry.views().map((view) => view.state)).toEqual(['closed', 'closed', 'closed']);
    await expect(registry.get('even-later').execute(() => 'ok')).resolves.toBe('ok');
  });

  it('snapshots and restores every key, keeping open ones open and the order of use', async () => {
    const { clock, registry, trip } = setup();
    registry.get('closed');
    await trip('open');
    registry.isolate('isolated');
    await clock.advance(400);
    const saved = JSON.parse(JSON.stringify(registry.snapshot())) as ReturnType<
      typeof registry.snapshot
    >;
    expect(saved.map((s) => [s.key, s.state])).toEqual([
      ['closed', 'closed'],
      ['open', 'open'],
      ['isolated', 'isolated'],
    ]);

    const later = new FakeClock({ now: 0, date: clock.dateNow() + 100 });
    const restored = breakerRegistry({
      breaker: { strategy: consecutive({ threshold: 1 }), breakDurationMs: 1000 },
      clock: later,
      restore: saved,
    });
    expect(
      restored.views().map(({ key, state, retryAfterMs }) => ({ key, state, retryAfterMs })),
    ).toEqual([
      { key: 'closed', state: 'closed', retryAfterMs: undefined },
      { key: 'open', state: 'open', retryAfterMs: 500 },
      { key: 'isolated', state: 'isolated', retryAfterMs: undefined },
    ]);
    await later.advance(500);
    await expect(restored.get('open').execute(() => 'back')).resolves.toBe('back');
  });

  it('restores no more than maxKeys keys', () => {
    const { registry } = setup();
    ['a', 'b', 'c'].forEach((key) => registry.get(key));
    const small = breakerRegistry({
      maxKeys: 2,
      clock: new FakeClock(),
      restore: registry.snapshot(),
    });
    expect(small.views().map((view) => view.key)).toEqual(['b', 'c']);
  });

  it('rejects misspelt options, its own and its breakers', () => {
    expect(() => breakerRegistry({ maxSize: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "maxSize" for breakerRegistry(); expected one of maxKeys, breaker, listener, clock, restore',
      ),
    );
    expect(() => breakerRegistry({ breaker: { threshold: 5 } as never })).toThrow(
      new TypeError(
        'unknown option "threshold" for breaker(); expected one of strategy, breakDurationMs, breakBackoff, halfOpenTrials, classify, name',
      ),
    );
  });

  it("rejects a misspelt option nested in its breakers' options, per key too", () => {
    const message =
      'unknown option "breakBackoff.max" for breaker(); did you mean "maxMs"? expected one of factor, maxMs';
    expect(() => breakerRegistry({ breaker: { breakBackoff: { max: 1 } as never } })).toThrow(
      new TypeError(message),
    );
    const perKey = breakerRegistry({ breaker: () => ({ breakBackoff: { max: 1 } as never }) });
    expect(() => perKey.get('a')).toThrow(new TypeError(message));
  });

  it('rejects bad options and keys with exact messages', () => {
    expect(() => breakerRegistry({ maxKeys: 0 })).toThrow(
      new RangeError('expected maxKeys to be an integer >= 1, got 0'),
    );
    expect(() => breakerRegistry({ breaker: 'fast' as never })).toThrow(
      new TypeError(
        'expected breaker to be an options object or a function returning one, got "fast"',
      ),
    );
    expect(() => breakerRegistry({ breaker: { breakDurationMs: -1 } })).toThrow(
      new RangeError('expected breakDurationMs to be an integer >= 1, got -1'),
    );
    expect(() => breakerRegistry({ listener: 'log' as never })).toThrow(
      new TypeError('expected listener to be a function, got "log"'),
    );
    expect(() => breakerRegistry({ clock: Date as never })).toThrow(
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got a function',
      ),
    );
    expect(() => breakerRegistry(null as never)).toThrow(
      new TypeError('expected the options of breakerRegistry() to be an object, got null'),
    );
    const registry = breakerRegistry({ breaker: () => ({ halfOpenTrials: 0 }) });
    expect(() => registry.get('x')).toThrow(
      new RangeError('expected halfOpenTrials to be an integer >= 1, got 0'),
    );
    expect(() => registry.get('')).toThrow(
      new TypeError('expected key to be a non-empty string, got ""'),
    );
    expect(() => registry.get(42 as never)).toThrow(
      new TypeError('expected key to be a non-empty string, got 42'),
    );
    expect(() => registry.get('x'.repeat(1025))).toThrow(
      new RangeError(
        `expected key to be a string of at most 1024 characters, got "${'x'.repeat(40)}…"`,
      ),
    );
    expect(registry.size).toBe(0);
  });

  it('rejects snapshots it cannot restore', () => {
    const registry = breakerRegistry({ clock: new FakeClock() });
    expect(() => registry.restore({} as never)).toThrow(
      new TypeError('expected snapshots to be an array of breaker snapshots'),
    );
    const unkeyed = {
      version: 1,
      state: 'closed',
      takenAt: 0,
      breakMs: 1,
      reopens: 0,
      strategy: { kind: 'consecutive', failures: 0 },
    } as const;
    expect(() => registry.restore([unkeyed])).toThrow(
      new TypeError('expected snapshot.key to be a non-empty string, got undefined'),
    );
  });
});
