import { getEventListeners } from 'node:events';
import { FakeClock } from '@bulwark/testing';
import {
  ConstantBackoff,
  type IFailureEvent,
  type ISuccessEvent,
  TimeoutStrategy,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { describe, expect, it, vi } from 'vitest';
import { type Clock, systemClock, unrefTimer } from './clock.js';
import { Context, type ExecutionContext } from './context.js';
import { TimeoutError, isCancelledError, isTimeoutError } from './errors.js';
import { pipeline } from './pipeline.js';
import {
  BulwarkPolicy,
  type Next,
  isBulwarkPolicy,
  isCockatielCaller,
  terminal,
} from './policy.js';
import type { Scope } from './scope.js';
import { checkInteger } from './validate.js';

/** Records when calls enter and leave it. */
class Tag extends BulwarkPolicy {
  constructor(
    readonly label: string,
    readonly log: string[] = [],
    clock: Clock = systemClock,
  ) {
    super(clock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    this.log.push(`enter ${this.label}`);
    try {
      return await next.call(context);
    } finally {
      this.log.push(`exit ${this.label}`);
    }
  }
}

/** Runs each call in a child scope of its own, which a test can abort, as a timeout would. */
class ChildScope extends BulwarkPolicy {
  readonly scopes: Scope[] = [];
  constructor() {
    super(systemClock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    const scope = context.scope.child();
    this.scopes.push(scope);
    try {
      return await next.call(context.withScope(scope, context.deadline));
    } finally {
      scope.dispose();
    }
  }
}

/** Takes a fixed time on the fake clock, then succeeds or fails as told. */
class Slow extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly ms: number,
    private readonly handled = true,
  ) {
    super(clock);
  }
  protected async run(context: Context, next: Next): Promise<unknown> {
    await new Promise((resolve) => this.clock.setTimeout(() => resolve(undefined), this.ms));
    return await next.call(context);
  }
  protected override handles(): boolean {
    return this.handled;
  }
}

/** Resolves when the signal aborts, with its reason. */
function whenAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

describe('BulwarkPolicy.execute', () => {
  it('runs the function with attempt 1, no deadline and no operation, and returns its value', async () => {
    let seen: ExecutionContext | undefined;
    const value = await new Tag('a').execute((context) => {
      seen = context;
      return 42;
    });
    expect(value).toBe(42);
    expect(seen!.attempt).toBe(1);
    expect(seen!.deadline).toBe(Infinity);
    expect(seen!.operation).toBeUndefined();
    expect(seen!.remaining()).toBe(Infinity);
  });

  it('hands the function a signal that never aborts when the caller gives none', async () => {
    const signal = await new Tag('a').execute(({ signal }) => signal);
    expect(signal.aborted).toBe(false);
  });

  it("hands the function the caller's signal", async () => {
    const controller = new AbortController();
    const signal = await new Tag('a').execute(({ signal }) => signal, controller.signal);
    expect(signal).toBe(controller.signal);
  });

  it('turns a synchronous throw from the function into a rejection', async () => {
    const policy = new Tag('a');
    const result = policy.execute(() => {
      throw new Error('sync');
    });
    await expect(result).rejects.toThrow('sync');
  });

  it('passes the Context itself when called with one argument', async () => {
    const context = await new Tag('a').execute((c) => c);
    expect(context).toBeInstanceOf(Context);
  });

  it('passes a spreadable copy when called with a signal argument, even undefined, as wrap() does', async () => {
    const withSignal = await new Tag('a').execute((c) => c, new AbortController().signal);
    const withUndefined = await new Tag('a').execute((c) => c, undefined);
    for (const context of [withSignal, withUndefined]) {
      expect(context).not.toBeInstanceOf(Context);
      const spread = { ...context };
      expect(spread.signal).toBe(context.signal);
      expect(spread.attempt).toBe(1);
      expect(spread.remaining()).toBe(Infinity);
    }
  });
});

describe('isBulwarkPolicy', () => {
  it('is true for Bulwark policies and pipelines', () => {
    expect(isBulwarkPolicy(new Tag('a'))).toBe(true);
    expect(isBulwarkPolicy(pipeline())).toBe(true);
  });

  it('is true for a policy of another installed copy, which carries the same brand', () => {
    expect(
      isBulwarkPolicy({ [Symbol.for('bulwark.policy')]: true, execute: () => undefined }),
    ).toBe(true);
  });

  it('is false for cockatiel policies and other values', () => {
    expect(isBulwarkPolicy(retry(handleAll, { maxAttempts: 1 }))).toBe(false);
    expect(isBulwarkPolicy({ execute: () => undefined })).toBe(false);
    expect(isBulwarkPolicy(null)).toBe(false);
    expect(isBulwarkPolicy('policy')).toBe(false);
  });
});

describe('isCockatielCaller', () => {
  function count(..._args: unknown[]): number {
    return arguments.length;
  }

  it('is true when execute() was given a signal argument, even undefined', () => {
    expect(isCockatielCaller(count(() => 1, undefined))).toBe(true);
    expect(isCockatielCaller(count(() => 1, new AbortController().signal))).toBe(true);
  });

  it('is false for a call with the function alone', () => {
    expect(isCockatielCaller(count(() => 1))).toBe(false);
  });
});

describe('terminal', () => {
  it('calls the user function with the context', async () => {
    const fn = vi.fn(() => 'done');
    const context = Context.root(fn, undefined);
    expect(terminal.call(context)).toBe('done');
    expect(fn).toHaveBeenCalledWith(context);
  });
});

describe('cockatiel events: onSuccess and onFailure', () => {
  it('fires onSuccess once per successful call, with its duration on the policy clock', async () => {
    const clock = new FakeClock();
    const policy = new Slow(clock, 250);
    const events: ISuccessEvent[] = [];
    policy.onSuccess((event) => events.push(event));
    const result = policy.execute(() => 'ok');
    await clock.advance(250);
    await expect(result).resolves.toBe('ok');
    expect(events).toEqual([{ duration: 250 }]);
  });

  it('fires onFailure with the error, the duration and whether the policy handles it', async () => {
    const clock = new FakeClock();
    const failure = new Error('boom');
    const handled = new Slow(clock, 100, true);
    const unhandled = new Slow(clock, 100, false);
    const events: IFailureEvent[] = [];
    handled.onFailure((event) => events.push(event));
    unhandled.onFailure((event) => events.push(event));
    const results = [handled, unhandled].map((policy) =>
      policy.execute(() => Promise.reject(failure)),
    );
    const checks = results.map((result) => expect(result).rejects.toBe(failure));
    await clock.advance(100);
    await Promise.all(checks);
    expect(events).toEqual([
      { duration: 100, handled: true, reason: { error: failure } },
      { duration: 100, handled: false, reason: { error: failure } },
    ]);
  });

  it('stops firing once the listener is disposed', async () => {
    const policy = new Tag('a');
    const listener = vi.fn();
    const subscription = policy.onSuccess(listener);
    await policy.execute(() => 1);
    subscription.dispose();
    await policy.execute(() => 2);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('fires for a policy nested in a pipeline', async () => {
    const inner = new Tag('inner');
    const success = vi.fn();
    const failure = vi.fn();
    inner.onSuccess(success);
    inner.onFailure(failure);
    const policy = pipeline(new Tag('outer'), inner);
    await policy.execute(() => 'ok');
    await expect(policy.execute(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(success).toHaveBeenCalledTimes(1);
    expect(failure).toHaveBeenCalledTimes(1);
  });

  it('reads no clock when nobody listens', async () => {
    const clock = new FakeClock();
    const now = vi.spyOn(clock, 'now');
    const policy = new Tag('a', [], clock);
    await policy.execute(() => 1);
    expect(now).not.toHaveBeenCalled();
    policy.onSuccess(() => undefined);
    await policy.execute(() => 1);
    expect(now).toHaveBeenCalledTimes(2);
  });
});

describe("inside cockatiel's wrap()", () => {
  it('runs a Bulwark policy and returns the value', async () => {
    const log: string[] = [];
    const policy = wrap(retry(handleAll, { maxAttempts: 1 }), new Tag('bulwark', log));
    await expect(policy.execute(() => 'value')).resolves.toBe('value');
    expect(log).toEqual(['enter bulwark', 'exit bulwark']);
  });

  it('runs a Bulwark pipeline, outermost first', async () => {
    const log: string[] = [];
    const policy = wrap(
      retry(handleAll, { maxAttempts: 1 }),
      pipeline(new Tag('a', log), new Tag('b', log)),
    );
    await policy.execute(() => log.push('fn'));
    expect(log).toEqual(['enter a', 'enter b', 'fn', 'exit b', 'exit a']);
  });

  it('lets a cockatiel retry around a Bulwark policy retry it', async () => {
    const log: string[] = [];
    const policy = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) }),
      new Tag('bulwark', log),
    );
    let calls = 0;
    const value = await policy.execute(() => {
      calls++;
      if (calls < 3) throw new Error(`failure ${calls}`);
      return 'third time';
    });
    expect(value).toBe('third time');
    expect(log.filter((line) => line === 'enter bulwark')).toHaveLength(3);
  });

  it('lets a cockatiel retry used directly retry a Bulwark policy', async () => {
    const bulwark = new Tag('bulwark');
    const cockatielRetry = retry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(0) });
    let calls = 0;
    const value = await cockatielRetry.execute(({ signal }) =>
      bulwark.execute(() => {
        if (++calls === 1) throw new Error('once');
        return calls;
      }, signal),
    );
    expect(value).toBe(2);
  });

  it("gives the function the signal of the innermost Bulwark scope, through wrap()'s spread merge", async () => {
    const scoped = new ChildScope();
    const caller = new AbortController();
    const policy = wrap(retry(handleAll, { maxAttempts: 0 }), scoped);
    let seen: AbortSignal | undefined;
    const result = policy.execute(async ({ signal }) => {
      seen = signal;
      throw await whenAborted(signal);
    }, caller.signal);
    const reason = new Error('aborted by the policy');
    await vi.waitFor(() => expect(scoped.scopes).toHaveLength(1));
    await vi.waitFor(() => expect(seen).toBeDefined());
    scoped.scopes[0]!.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(seen).toBe(scoped.scopes[0]!.signal);
    expect(seen).not.toBe(caller.signal);
    expect(caller.signal.aborted).toBe(false);
  });

  it('gives the function the Bulwark scope’s signal when cockatiel policies sit inside it', async () => {
    const scoped = new ChildScope();
    const policy = wrap(
      scoped,
      retry(handleAll, { maxAttempts: 0 }),
      timeout(60_000, TimeoutStrategy.Cooperative),
    );
    let seen: AbortSignal | undefined;
    const result = policy.execute(async ({ signal }) => {
      seen = signal;
      throw await whenAborted(signal);
    });
    await vi.waitFor(() => expect(seen).toBeDefined());
    const reason = new Error('policy abort');
    scoped.scopes[0]!.abort(reason);
    // cockatiel's timeout derives its own signal from the one it is given, and aborts it too.
    await expect(result).rejects.toBe(reason);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(reason);
  });

  it('aborts the function when the caller aborts, through wrap() and a Bulwark scope', async () => {
    const caller = new AbortController();
    const policy = wrap(retry(handleAll, { maxAttempts: 0 }), new ChildScope());
    let seen: AbortSignal | undefined;
    const result = policy.execute(async ({ signal }) => {
      seen = signal;
      throw await whenAborted(signal);
    }, caller.signal);
    await vi.waitFor(() => expect(seen).toBeDefined());
    caller.abort('caller gave up');
    await expect(result).rejects.toBe('caller gave up');
    expect(seen!.reason).toBe('caller gave up');
  });

  it("exposes the first policy's onSuccess and onFailure, which fire for Bulwark policies", async () => {
    const policy = wrap(new Tag('bulwark'), retry(handleAll, { maxAttempts: 0 }));
    const success = vi.fn();
    const failure = vi.fn();
    policy.onSuccess(success);
    policy.onFailure(failure);
    await policy.execute(() => 'ok');
    await expect(policy.execute(() => Promise.reject(new Error('bad')))).rejects.toThrow('bad');
    expect(success).toHaveBeenCalledTimes(1);
    expect(failure).toHaveBeenCalledTimes(1);
    expect(failure.mock.calls[0]![0]).toMatchObject({
      handled: true,
      reason: { error: new Error('bad') },
    });
  });
});

/** The example policy of the README's "Writing your own policy" section, kept working here. */
class SimpleTimeout extends BulwarkPolicy {
  constructor(
    private readonly ms: number,
    clock: Clock,
  ) {
    super(clock);
  }

  protected async run(context: Context, next: Next): Promise<unknown> {
    if (context.scope.aborted) throw context.scope.abortError();
    const scope = context.scope.child();
    const timer = unrefTimer(this.clock, () => scope.abort(new TimeoutError(this.ms)), this.ms);
    const deadline = Math.min(context.deadline, this.clock.now() + this.ms);
    try {
      return await next.call(context.withScope(scope, deadline));
    } catch (error: unknown) {
      throw scope.aborted ? scope.abortError() : error;
    } finally {
      this.clock.clearTimeout(timer);
      scope.dispose();
    }
  }
}

function simpleTimeout(ms: number, options: { clock?: Clock } = {}): SimpleTimeout {
  checkInteger('ms', ms, 1);
  return new SimpleTimeout(ms, options.clock ?? systemClock);
}

describe('a policy written as the README shows', () => {
  const untilAborted = ({ signal }: ExecutionContext) =>
    whenAborted(signal).then((reason) => Promise.reject(reason as Error));

  it('aborts the function’s signal and fails with its TimeoutError when time is up', async () => {
    const clock = new FakeClock();
    const result = simpleTimeout(100, { clock }).execute(untilAborted);
    const check = expect(result).rejects.toSatisfy(isTimeoutError);
    await clock.advance(100);
    await check;
  });

  it('sets the deadline the function sees and clears its timer on success', async () => {
    const clock = new FakeClock({ now: 1000 });
    const deadline = await simpleTimeout(100, { clock }).execute((context) => context.deadline);
    expect(deadline).toBe(1100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails with a CancelledError when the caller aborts first, leaving no listener behind', async () => {
    const clock = new FakeClock();
    const caller = new AbortController();
    const result = simpleTimeout(100, { clock }).execute(untilAborted, caller.signal);
    const check = expect(result).rejects.toSatisfy(isCancelledError);
    caller.abort();
    await check;
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('validates its option with the shared message', () => {
    expect(() => simpleTimeout(0)).toThrow(
      new RangeError('expected ms to be an integer >= 1, got 0'),
    );
  });

  it('composes with cockatiel in both directions', async () => {
    const clock = new FakeClock();
    const inWrap = wrap(retry(handleAll, { maxAttempts: 0 }), simpleTimeout(100, { clock }));
    const inPipeline = pipeline(
      retry(handleAll, { maxAttempts: 0 }),
      simpleTimeout(100, { clock }),
    );
    const results = [inWrap.execute(untilAborted), inPipeline.execute(untilAborted)];
    const checks = results.map((result) => expect(result).rejects.toSatisfy(isTimeoutError));
    await clock.advance(100);
    await Promise.all(checks);
  });
});
