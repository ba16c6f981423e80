import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineSaga } from './saga.js';

const noop = (): undefined => undefined;

describe('defineSaga', () => {
  it('gives each step the input and the outputs of the steps before it, typed', () => {
    const saga = defineSaga<{ sku: string }>({ name: 'order' })
      .step({ name: 'reserve', action: () => ({ reservation: 'r-1' }), compensate: noop })
      .step({
        name: 'charge',
        pivot: true,
        action: (data) => {
          expectTypeOf(data.input.sku).toEqualTypeOf<string>();
          expectTypeOf(data.reserve.reservation).toEqualTypeOf<string>();
          return Promise.resolve(42);
        },
      })
      .step({
        name: 'ship',
        action: (data) => {
          expectTypeOf(data.charge).toEqualTypeOf<number>();
          return null;
        },
      });
    expect(saga.steps.map((step) => step.name)).toEqual(['reserve', 'charge', 'ship']);
    expect(saga.pivotIndex).toBe(1);
  });

  it('fills in the retry defaults and keeps the given ones', () => {
    const backoff = () => 5;
    const saga = defineSaga({
      name: 'order',
      steps: [
        { name: 'a', action: noop, compensate: noop },
        {
          name: 'b',
          action: noop,
          compensate: noop,
          retry: { maxAttempts: 7, backoff },
          timeoutMs: 50,
        },
      ],
    });
    expect(saga.steps[0]).toMatchObject({ maxAttempts: 3, timeoutMs: undefined, pivot: false });
    expect(saga.steps[1]).toMatchObject({ maxAttempts: 7, backoff, timeoutMs: 50 });
    expect(saga.compensationRetry.maxAttempts).toBe(10);
  });

  it('returns a new saga from step() and leaves the one it was called on unchanged', () => {
    const base = defineSaga({ name: 'order' });
    const longer = base.step({ name: 'a', action: noop, compensate: noop });
    expect(base.steps).toHaveLength(0);
    expect(longer.steps).toHaveLength(1);
  });

  it('refuses duplicate step names, naming the step and the saga', () => {
    expect(() =>
      defineSaga({
        name: 'order',
        steps: [
          { name: 'a', action: noop, compensate: noop },
          { name: 'a', action: noop, compensate: noop },
        ],
      }),
    ).toThrow(
      'step "a" of saga "order": the saga already has a step of this name; step names must be unique',
    );
  });

  it('refuses a step without compensation before the pivot', () => {
    expect(() =>
      defineSaga({
        name: 'order',
        steps: [
          { name: 'a', action: noop },
          { name: 'b', action: noop, pivot: true },
        ],
      }),
    ).toThrow('step "a" of saga "order" has no compensate: every step before the pivot needs one');
  });

  it('accepts steps without compensation at and after the pivot', () => {
    const saga = defineSaga({
      name: 'order',
      steps: [
        { name: 'a', action: noop, compensate: noop },
        { name: 'b', action: noop, pivot: true },
        { name: 'c', action: noop },
      ],
    });
    expect(saga.steps.map((step) => step.compensate === undefined)).toEqual([false, true, true]);
  });

  it('refuses a second pivot', () => {
    expect(() =>
      defineSaga({
        name: 'order',
        steps: [
          { name: 'a', action: noop, pivot: true },
          { name: 'b', action: noop, pivot: true },
        ],
      }),
    ).toThrow('the saga already has a pivot ("a"); a saga has at most one');
  });

  it('refuses an action that is not a function, saying what it got', () => {
    expect(() =>
      defineSaga({
        name: 'order',
        steps: [{ name: 'a', action: 'reserve' as never, compensate: noop }],
      }),
    ).toThrow('expected the action of step "a" of saga "order" to be a function, got "reserve"');
    expect(() =>
      defineSaga({ name: 'order', steps: [{ name: 'a', action: noop, compensate: 1 as never }] }),
    ).toThrow('expected the compensate of step "a" of saga "order" to be a function, got 1');
  });

  it('refuses names that cannot be part of an idempotency key', () => {
    expect(() => defineSaga({ name: 'place order' })).toThrow(
      'expected name to be at most 64 of A-Z, a-z, 0-9, _, . and -, got "place order"',
    );
    expect(() =>
      defineSaga({ name: 'o', steps: [{ name: 'a:b', action: noop, compensate: noop }] }),
    ).toThrow(RangeError);
    expect(() =>
      defineSaga({ name: 'o', steps: [{ name: 'input', action: noop, compensate: noop }] }),
    ).toThrow('"input" is reserved');
    expect(() => defineSaga({ name: '' })).toThrow(
      'expected name to be a non-empty string, got ""',
    );
  });

  it('refuses unknown and out-of-range options with the usual messages', () => {
    expect(() => defineSaga({ name: 'o', deadline: 5 } as never)).toThrow(
      'unknown option "deadline" for defineSaga(); did you mean "deadlineMs"?',
    );
    expect(() => defineSaga({ name: 'o', deadlineMs: 0 })).toThrow(
      'expected deadlineMs to be an integer >= 1, got 0',
    );
    expect(() =>
      defineSaga({
        name: 'o',
        steps: [{ name: 'a', action: noop, compensate: noop, timeoutMs: -1 }],
      }),
    ).toThrow(
      'expected the timeoutMs of step "a" of saga "o" to be an integer between 1 and 86400000, got -1',
    );
    expect(() =>
      defineSaga({
        name: 'o',
        steps: [{ name: 'a', action: noop, compensate: noop, retry: { maxAttempts: 0 } }],
      }),
    ).toThrow('expected retry.maxAttempts to be an integer between 1 and 1000000, got 0');
    expect(() =>
      defineSaga({
        name: 'o',
        steps: [{ name: 'a', action: noop, compensate: noop, retries: 2 } as never],
      }),
    ).toThrow('unknown option "retries" for saga.step (step 1 of saga "o")();');
    expect(() => defineSaga({ name: 'o', compensationRetry: { tries: 1 } as never })).toThrow(
      'unknown option "compensationRetry.tries" for defineSaga()',
    );
    expect(() => defineSaga(null as never)).toThrow(
      'expected the options of defineSaga() to be an object, got null',
    );
  });
});
