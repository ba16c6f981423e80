import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from './clock.js';
import { Context, type ContextFn, type ExecutionContext } from './context.js';
import { Scope } from './scope.js';

const fn: ContextFn = () => 'result';

function fields(context: Context) {
  return {
    fn: context.fn,
    scope: context.scope,
    attempt: context.attempt,
    deadline: context.deadline,
    operation: context.operation,
    clock: context.clock,
    spreadable: context.spreadable,
  };
}

describe('Context.root', () => {
  it('starts at attempt 1 with no deadline and no operation, on the system clock', () => {
    const context = Context.root(fn, undefined);
    expect(context.attempt).toBe(1);
    expect(context.deadline).toBe(Infinity);
    expect(context.operation).toBeUndefined();
    expect(context.clock).toBe(systemClock);
    expect(context.spreadable).toBe(false);
  });

  it('uses the shared never-aborting scope when no signal is given', () => {
    expect(Context.root(fn, undefined).scope).toBe(Scope.never);
  });

  it("follows the caller's signal when one is given", () => {
    const controller = new AbortController();
    const context = Context.root(fn, controller.signal);
    expect(context.signal).toBe(controller.signal);
    expect(context.scope.aborted).toBe(false);
    controller.abort();
    expect(context.scope.aborted).toBe(true);
  });

  it('takes the clock, operation and spreadable flag it is given', () => {
    const clock = new FakeClock();
    const context = Context.root(fn, undefined, clock, 'get-user', true);
    expect(context.clock).toBe(clock);
    expect(context.operation).toBe('get-user');
    expect(context.spreadable).toBe(true);
  });
});

describe('Context.forCall', () => {
  it('starts attempt 1 in the scope and until the deadline it is given, not spreadable', () => {
    const clock = new FakeClock();
    const scope = Scope.never.child();
    const context = Context.forCall(fn, scope, 1500, 'get-user', clock);
    expect(fields(context)).toEqual({
      fn,
      scope,
      attempt: 1,
      deadline: 1500,
      operation: 'get-user',
      clock,
      spreadable: false,
    });
  });

  it('is spreadable when told so, for a caller such as cockatiel', () => {
    const context = Context.forCall(fn, Scope.never, Infinity, undefined, systemClock, true);
    expect(context.spreadable).toBe(true);
  });
});

describe('derived contexts', () => {
  const clock = new FakeClock();
  const base = new Context(fn, Scope.never, 2, 5000, 'op', clock, true);

  it('withAttempt changes only the attempt and leaves the original alone', () => {
    const derived = base.withAttempt(3);
    expect(derived).not.toBe(base);
    expect(fields(derived)).toEqual({ ...fields(base), attempt: 3 });
    expect(base.attempt).toBe(2);
  });

  it('withScope changes only the scope and deadline', () => {
    const scope = Scope.never.child();
    const derived = base.withScope(scope, 1234);
    expect(fields(derived)).toEqual({ ...fields(base), scope, deadline: 1234 });
    expect(derived.scope).toBe(scope);
    expect(base.scope).toBe(Scope.never);
  });

  it('withAttemptIn changes only the attempt and the scope, keeping the deadline', () => {
    const scope = Scope.never.child();
    const derived = base.withAttemptIn(4, scope);
    expect(fields(derived)).toEqual({ ...fields(base), attempt: 4, scope });
    expect(derived.scope).toBe(scope);
  });

  it('withOperation changes only the operation', () => {
    const derived = base.withOperation('other');
    expect(fields(derived)).toEqual({ ...fields(base), operation: 'other' });
    expect(base.withOperation(undefined).operation).toBeUndefined();
  });

  it('reads its signal from its own scope', () => {
    const scope = Scope.never.child();
    expect(base.withScope(scope, Infinity).signal).toBe(scope.signal);
  });
});

describe('remaining()', () => {
  it('is Infinity without a deadline, without reading the clock', () => {
    const clock = new FakeClock();
    const now = vi.spyOn(clock, 'now');
    const context = Context.root(fn, undefined, clock);
    expect(context.remaining()).toBe(Infinity);
    expect(now).not.toHaveBeenCalled();
  });

  it('counts down on the context clock', async () => {
    const clock = new FakeClock({ now: 1000 });
    const context = Context.root(fn, undefined, clock).withScope(Scope.never, 1500);
    expect(context.remaining()).toBe(500);
    await clock.advance(200);
    expect(context.remaining()).toBe(300);
  });

  it('never goes negative once the deadline has passed', async () => {
    const clock = new FakeClock();
    const context = Context.root(fn, undefined, clock).withScope(Scope.never, 100);
    await clock.advance(100);
    expect(context.remaining()).toBe(0);
    await clock.advance(5000);
    expect(context.remaining()).toBe(0);
    expect(Object.is(context.remaining(), -0)).toBe(false);
  });
});

describe('signal', () => {
  it('is a prototype getter: a Context spread into an object loses it, as cockatiel’s wrap() would', () => {
    const scope = Scope.never.child();
    const context = Context.root(fn, undefined).withScope(scope, Infinity);
    expect(Object.keys(context)).not.toContain('signal');
    const spread: Partial<ExecutionContext> = { ...context };
    expect(spread.signal).toBeUndefined();
  });

  it('does not create the scope’s AbortSignal until read', () => {
    const parent = new AbortController();
    const add = vi.spyOn(parent.signal, 'addEventListener');
    const scope = Scope.from(parent.signal).child();
    const context = Context.root(fn, parent.signal).withScope(scope, Infinity);
    context.withAttempt(2).withOperation('x');
    expect(add).not.toHaveBeenCalled();
    void context.signal;
    expect(add).toHaveBeenCalledTimes(1);
    scope.dispose();
  });
});

describe('toPlain()', () => {
  it('survives object spread with every field, signal included', async () => {
    const clock = new FakeClock();
    const scope = Scope.never.child();
    const context = new Context(fn, scope, 3, 1000, 'get-user', clock, true);
    // What cockatiel's wrap() does with the context each layer hands on.
    const outer = { attempt: 0, signal: new AbortController().signal };
    const merged = { ...outer, ...context.toPlain() };
    expect(merged.signal).toBe(scope.signal);
    expect(merged.attempt).toBe(3);
    expect(merged.deadline).toBe(1000);
    expect(merged.operation).toBe('get-user');
    expect(merged.remaining()).toBe(1000);
    await clock.advance(400);
    expect(merged.remaining()).toBe(600);
  });

  it('reads the signal lazily: the plain object alone creates no AbortSignal', () => {
    const parent = new AbortController();
    const add = vi.spyOn(parent.signal, 'addEventListener');
    const scope = Scope.from(parent.signal).child();
    const plain = Context.root(fn, parent.signal).withScope(scope, Infinity).toPlain();
    expect(add).not.toHaveBeenCalled();
    expect(plain.signal).toBe(scope.signal);
    expect(add).toHaveBeenCalledTimes(1);
    scope.dispose();
  });

  it('exposes none of the internals (function, scope, clock)', () => {
    const plain = Context.root(fn, undefined).toPlain();
    expect(Object.keys(plain).sort()).toEqual(
      ['attempt', 'deadline', 'operation', 'remaining', 'signal'].sort(),
    );
  });
});

describe('invokeFn()', () => {
  it('passes the context itself when it is not spreadable', () => {
    const spy = vi.fn<ContextFn>(() => 'value');
    const context = Context.root(spy, undefined);
    expect(context.invokeFn()).toBe('value');
    expect(spy).toHaveBeenCalledWith(context);
  });

  it('passes a plain copy whose signal survives spread when it is spreadable', () => {
    const spy = vi.fn<ContextFn>();
    const scope = Scope.never.child();
    const context = Context.root(spy, undefined, systemClock, 'op', true).withScope(scope, 50);
    context.invokeFn();
    const received = spy.mock.calls[0]![0];
    expect(received).not.toBeInstanceOf(Context);
    expect({ ...received }.signal).toBe(scope.signal);
    expect(received.deadline).toBe(50);
    expect(received.operation).toBe('op');
  });

  it('lets a synchronous throw escape, for the caller to catch', () => {
    const context = Context.root(() => {
      throw new Error('sync');
    }, undefined);
    expect(() => context.invokeFn()).toThrow('sync');
  });
});
