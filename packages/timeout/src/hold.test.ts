import {
  CancelledError,
  DeadlineExceededError,
  type PolicyEvent,
  TimeoutError,
} from '@bulwark/core';
import { Context } from '@bulwark/core/internal';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { timeout } from './timeout.js';

/** A step that fails at once when ended, as an HTTP attempt does: what `hold()` is for. */
class EndableStep {
  readonly promise: Promise<string>;
  ended: Error | undefined = undefined;
  private reject!: (error: Error) => void;
  resolve!: (value: string) => void;

  constructor() {
    this.promise = new Promise<string>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  end(error: Error): void {
    this.ended = error;
    this.reject(error);
  }
}

const fn = () => undefined;

describe('TimeLimit.hold()', () => {
  it('ends the held step with a TimeoutError at expiry, reports it and leaves the queue', async () => {
    const clock = new FakeClock();
    const events: PolicyEvent[] = [];
    const policy = timeout(100, { clock, listener: (event) => events.push(event) });
    const step = new EndableStep();
    const held = policy.hold(
      Context.forCall(fn, Context.root(fn, undefined).scope, Infinity, 'op', clock),
      step,
    );
    expect(policy.pending).toBe(1);
    expect(held.context.deadline).toBe(100);
    const settled = step.promise.then(
      () => 'resolved',
      (error: unknown) => held.failure(error),
    );
    await clock.advance(100);
    const error = await settled;
    held.release();
    expect(error).toBeInstanceOf(TimeoutError);
    expect(step.ended).toBe(error);
    expect(held.context.signal.aborted).toBe(true);
    expect(held.context.signal.reason).toBe(error);
    expect(events.map((event) => event.type)).toEqual(['timeout']);
    expect(policy.pending).toBe(0);
  });

  it('leaves a step that settles in time alone and frees its timer entry on release', async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    const step = new EndableStep();
    const held = policy.hold(Context.root(fn, undefined, clock), step);
    step.resolve('done');
    await expect(step.promise).resolves.toBe('done');
    held.release();
    expect(policy.pending).toBe(0);
    await clock.advance(200);
    expect(step.ended).toBeUndefined();
  });

  it('ends the step with a DeadlineExceededError when a shorter deadline sets the expiry', async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    const step = new EndableStep();
    const outer = Context.forCall(fn, Context.root(fn, undefined).scope, 40, 'op', clock);
    const held = policy.hold(outer, step);
    expect(held.context.deadline).toBe(40);
    const failed = step.promise.catch((error: unknown) => error);
    await clock.advance(40);
    expect(await failed).toBeInstanceOf(DeadlineExceededError);
    held.release();
  });

  it('throws before holding anything when the deadline is spent or the caller has aborted', () => {
    const clock = new FakeClock({ now: 50 });
    const events: PolicyEvent[] = [];
    const policy = timeout(100, { clock, listener: (event) => events.push(event) });
    const spent = Context.forCall(fn, Context.root(fn, undefined).scope, 50, 'op', clock);
    expect(() => policy.hold(spent, new EndableStep())).toThrow(DeadlineExceededError);
    expect(events.map((event) => event.type)).toEqual(['deadline-exceeded']);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(() =>
      policy.hold(Context.root(fn, controller.signal, clock), new EndableStep()),
    ).toThrow(CancelledError);
    expect(policy.pending).toBe(0);
  });

  it("ends the step at once when the caller's own signal aborts, and stops listening on release", async () => {
    const clock = new FakeClock();
    const policy = timeout(100, { clock });
    const controller = new AbortController();
    const step = new EndableStep();
    const held = policy.hold(Context.root(fn, controller.signal, clock), step);
    const failed = step.promise.catch((error: unknown) => error);
    controller.abort(new Error('caller gave up'));
    const error = await failed;
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).reason).toEqual(new Error('caller gave up'));
    held.release();
    expect(policy.pending).toBe(0);
  });

  it('refuses a cooperative limit, whose caller must wait for the step', () => {
    const policy = timeout(100, { strategy: 'cooperative' });
    expect(() => policy.hold(Context.root(fn, undefined), new EndableStep())).toThrow(
      'expected an aggressive time limit to hold a call, got a cooperative one',
    );
  });
});
