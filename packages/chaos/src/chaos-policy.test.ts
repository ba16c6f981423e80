import { type ExecutionContext, pipeline } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { chaosBehavior } from './behavior.js';
import type { ChaosPolicy } from './chaos-policy.js';
import type { ChaosEvent } from './events.js';
import { chaosFault } from './fault.js';
import { chaosLatency } from './latency.js';
import { chaosOutcome } from './outcome.js';
import { chaosSwitch } from './switch.js';

const CALLS = 10_000;

/** Whether each call was answered by the injected outcome rather than by the function. */
async function injections(policy: ChaosPolicy, calls: number): Promise<boolean[]> {
  const injected: boolean[] = [];
  for (let i = 0; i < calls; i++) {
    injected.push((await policy.execute(() => 'real')) === 'injected');
  }
  return injected;
}

function outcomePolicy(options: Parameters<typeof chaosOutcome>[0]['rate'], seed: number) {
  return chaosOutcome({ rate: options, seed, outcome: () => 'injected' });
}

describe('injection rate', () => {
  it.each([0.001, 0.01, 0.1, 0.5, 0.9])(
    'injects into about %s of 10,000 seeded calls (within 5 binomial sigmas)',
    async (rate) => {
      for (const seed of [1, 2, 3]) {
        const count = (await injections(outcomePolicy(rate, seed), CALLS)).filter(Boolean).length;
        const mean = CALLS * rate;
        const sigma = Math.sqrt(CALLS * rate * (1 - rate));
        expect(Math.abs(count - mean)).toBeLessThanOrEqual(5 * sigma);
      }
    },
  );

  it('injects into every call at rate 1 and none at rate 0', async () => {
    expect(await injections(outcomePolicy(1, 5), 1000)).not.toContain(false);
    expect(await injections(outcomePolicy(0, 5), 1000)).not.toContain(true);
  });

  it('defaults to one call in a thousand', async () => {
    const policy = chaosOutcome({ seed: 9, outcome: () => 'injected' });
    const count = (await injections(policy, CALLS)).filter(Boolean).length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(10 + 5 * Math.sqrt(CALLS * 0.001 * 0.999));
  });

  it('asks a rate function on every call, with the call’s context, clamping what it says', async () => {
    const seen: number[] = [];
    const policy = chaosOutcome({
      seed: 1,
      outcome: () => 'injected',
      rate: ({ context }) => {
        seen.push(context.attempt);
        return context.operation === 'always' ? 7 : context.operation === 'never' ? NaN : -1;
      },
    });
    const always = pipeline({ operation: 'always' }, policy);
    const never = pipeline({ operation: 'never' }, policy);
    for (let i = 0; i < 50; i++) {
      expect(await always.execute(() => 'real')).toBe('injected');
      expect(await never.execute(() => 'real')).toBe('real');
    }
    await expect(policy.execute(() => 'real')).resolves.toBe('real');
    expect(seen).toHaveLength(101);
  });
});

describe('replay', () => {
  it('injects into the same calls again with the same seed, and into others with another', async () => {
    const first = await injections(outcomePolicy(0.2, 1234), 2000);
    const again = await injections(outcomePolicy(0.2, 1234), 2000);
    const other = await injections(outcomePolicy(0.2, 1235), 2000);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('draws a seed when given none, and that seed replays the run', async () => {
    const unseeded = chaosOutcome({ rate: 0.3, outcome: () => 'injected' });
    expect(Number.isInteger(unseeded.seed)).toBe(true);
    const run = await injections(unseeded, 500);
    expect(await injections(outcomePolicy(0.3, unseeded.seed!), 500)).toEqual(run);
  });

  it('uses a random function instead of a seed, and then has no seed to report', async () => {
    let i = 0;
    const draws = [0.05, 0.5, 0.09, 0.95];
    const policy = chaosOutcome({
      rate: 0.1,
      random: () => draws[i++ % draws.length]!,
      outcome: () => 'injected',
    });
    expect(policy.seed).toBeUndefined();
    expect(await injections(policy, 4)).toEqual([true, false, true, false]);
  });

  it('draws once per enabled call, so a run with the policy off for a while replays what follows', async () => {
    const sw = chaosSwitch();
    const paused = chaosOutcome({ rate: 0.5, seed: 77, outcome: () => 'injected', enabled: sw });
    const straight = await injections(outcomePolicy(0.5, 77), 100);
    const withPause = [...(await injections(paused, 40))];
    sw.disable();
    expect(await injections(paused, 25)).not.toContain(true);
    sw.enable();
    withPause.push(...(await injections(paused, 60)));
    expect(withPause).toEqual(straight);
  });
});

describe('enabled', () => {
  it('stops and starts injecting at once when a shared switch flips', async () => {
    const sw = chaosSwitch(false);
    const fault = chaosFault({ rate: 1, enabled: sw });
    const outcome = chaosOutcome({ rate: 1, enabled: sw, outcome: () => 'injected' });
    const both = pipeline(outcome, fault);
    expect(await both.execute(() => 'real')).toBe('real');
    sw.enable();
    expect(sw.enabled).toBe(true);
    expect(await both.execute(() => 'real')).toBe('injected');
    expect(await fault.execute(() => 'real').catch(() => 'failed')).toBe('failed');
    sw.disable();
    expect(await both.execute(() => 'real')).toBe('real');
  });

  it('asks an enabled function on every call, with the call’s context', async () => {
    let on = true;
    const operations: Array<string | undefined> = [];
    const policy = chaosOutcome({
      rate: 1,
      outcome: () => 'injected',
      enabled: ({ context }) => {
        operations.push(context.operation);
        return on;
      },
    });
    const named = pipeline({ operation: 'orders.list' }, policy);
    expect(await named.execute(() => 'real')).toBe('injected');
    on = false;
    expect(await named.execute(() => 'real')).toBe('real');
    expect(operations).toEqual(['orders.list', 'orders.list']);
  });

  it('injects nothing with enabled: false', async () => {
    const policy = chaosOutcome({ rate: 1, enabled: false, outcome: () => 'injected' });
    expect(await injections(policy, 100)).not.toContain(true);
  });
});

describe('events', () => {
  it('reports every injection with the kind, the policy’s name and the operation', async () => {
    const events: ChaosEvent[] = [];
    const listener = (event: ChaosEvent) => events.push(event);
    const error = new Error('injected');
    const call = pipeline(
      { operation: 'inventory.get' },
      chaosBehavior({ rate: 1, name: 'poke', listener, behavior: () => undefined }),
      chaosLatency({ rate: 1, name: 'slow', listener, latencyMs: 0 }),
      chaosOutcome({ rate: 0, name: 'never', listener, outcome: () => 'x' }),
      chaosFault({ rate: 1, name: 'boom', listener, error }),
    );
    await expect(call.execute(() => 'real')).rejects.toBe(error);
    const base = { type: 'chaos-injected', policy: 'chaos', operation: 'inventory.get' };
    expect(events).toEqual([
      { ...base, name: 'poke', kind: 'behavior' },
      { ...base, name: 'slow', kind: 'latency', latencyMs: 0, cutByDeadline: false },
      { ...base, name: 'boom', kind: 'fault', error },
    ]);
  });

  it('reports an outcome, and goes on when the listener throws', async () => {
    const kinds: string[] = [];
    const policy = chaosOutcome({
      rate: 1,
      outcome: () => 'injected',
      listener: (event) => {
        kinds.push(event.kind);
        throw new Error('broken exporter');
      },
    });
    expect(await policy.execute(() => 'real')).toBe('injected');
    expect(kinds).toEqual(['outcome']);
  });
});

describe('options', () => {
  const factories = {
    chaosLatency: (o: object) => chaosLatency(o),
    chaosFault: (o: object) => chaosFault(o),
    chaosOutcome: (o: object) => chaosOutcome({ outcome: () => 1, ...o }),
    chaosBehavior: (o: object) => chaosBehavior({ behavior: () => 1, ...o }),
  };
  const shared: Array<[string, object, ErrorConstructor, string]> = [
    [
      'a rate above 1',
      { rate: 1.5 },
      RangeError,
      'expected rate to be a finite number between 0 and 1, got 1.5',
    ],
    [
      'a negative rate',
      { rate: -0.1 },
      RangeError,
      'expected rate to be a finite number between 0 and 1, got -0.1',
    ],
    [
      'a NaN rate',
      { rate: NaN },
      TypeError,
      'expected rate to be a number between 0 and 1, got NaN',
    ],
    [
      'a rate as text',
      { rate: '0.5' },
      TypeError,
      'expected rate to be a number between 0 and 1, got "0.5"',
    ],
    [
      'a seed that is not an integer',
      { seed: 1.5 },
      RangeError,
      'expected seed to be an integer, got 1.5',
    ],
    ['a seed as text', { seed: '42' }, TypeError, 'expected seed to be an integer, got "42"'],
    [
      'both seed and random',
      { seed: 1, random: Math.random },
      TypeError,
      'expected either seed or random, got both',
    ],
    [
      'random that is not a function',
      { random: 0.5 },
      TypeError,
      'expected random to be a function, got 0.5',
    ],
    [
      'enabled as text',
      { enabled: 'yes' },
      TypeError,
      'expected enabled to be a boolean, a function or a chaosSwitch(), got "yes"',
    ],
    ['an empty name', { name: '' }, TypeError, 'expected name to be a non-empty string, got ""'],
    [
      'a listener that is not a function',
      { listener: {} },
      TypeError,
      'expected listener to be a function, got an object',
    ],
    [
      'a clock without timers',
      { clock: { now: () => 0 } },
      TypeError,
      'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
    ],
  ];
  for (const [factory, make] of Object.entries(factories)) {
    it.each(shared)(`${factory}() rejects %s`, (_what, options, Kind, message) => {
      expect(() => make(options)).toThrow(new Kind(message));
    });

    it(`${factory}() rejects an unknown option, naming the ones it knows`, () => {
      expect(() => make({ rat: 0.1 })).toThrow(TypeError);
      expect(() => make({ rat: 0.1 })).toThrow(
        `unknown option "rat" for ${factory}(); did you mean "rate"? expected one of`,
      );
    });
  }

  it.each([
    [
      'chaosLatency',
      () => chaosLatency({ latencyMs: -1 }),
      RangeError,
      'expected latencyMs to be a finite number between 0 and 2147483647, got -1',
    ],
    [
      'chaosLatency',
      () => chaosLatency({ latencyMs: NaN }),
      TypeError,
      'expected latencyMs to be a number between 0 and 2147483647, got NaN',
    ],
    [
      'chaosLatency',
      () => chaosLatency({ latencyMs: 2 ** 31 }),
      RangeError,
      'expected latencyMs to be a finite number between 0 and 2147483647, got 2147483648',
    ],
    [
      'chaosFault',
      () => chaosFault({ error: 'boom' as unknown as Error }),
      TypeError,
      'expected error to be an Error or a function returning one, got "boom"',
    ],
    [
      'chaosOutcome',
      () => chaosOutcome({} as never),
      TypeError,
      'expected outcome to be a function, got undefined',
    ],
    [
      'chaosBehavior',
      () => chaosBehavior({ behavior: 'x' } as never),
      TypeError,
      'expected behavior to be a function, got "x"',
    ],
    [
      'chaosFault',
      () => chaosFault(null as never),
      TypeError,
      'expected the options of chaosFault() to be an object, got null',
    ],
    [
      'chaosSwitch',
      () => chaosSwitch('on' as never),
      TypeError,
      'expected enabled to be a boolean, got "on"',
    ],
  ] as const)('%s() names what it expected and what it got', (_factory, make, Kind, message) => {
    expect(make).toThrow(new Kind(message));
  });

  it('accepts any safe integer seed, negative ones included', () => {
    expect(chaosFault({ seed: -7 }).seed).toBe(-7);
    expect(chaosFault({ seed: Number.MAX_SAFE_INTEGER }).seed).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('without an injection', () => {
  it('passes the call’s result, error and context through untouched', async () => {
    const error = new Error('real');
    const contexts: ExecutionContext[] = [];
    for (const policy of [
      chaosLatency({ rate: 0 }),
      chaosFault({ rate: 0 }),
      chaosOutcome({ rate: 0, outcome: () => 'injected' }),
      chaosBehavior({ rate: 0, behavior: () => undefined }),
    ]) {
      const call = pipeline({ operation: 'op' }, policy);
      expect(
        await call.execute((context) => {
          contexts.push(context);
          return 'real';
        }),
      ).toBe('real');
      await expect(
        call.execute(() => {
          throw error;
        }),
      ).rejects.toBe(error);
    }
    expect(contexts.map((c) => c.operation)).toEqual(['op', 'op', 'op', 'op']);
  });
});
