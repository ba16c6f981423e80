import { getEventListeners } from 'node:events';
import { TaskCancelledError } from 'cockatiel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, DeadlineExceededError, TimeoutError, isCancelledError } from './errors.js';
import { Scope } from './scope.js';

function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Counts AbortControllers created while installed, to observe laziness. */
function countControllers(): { readonly count: number } {
  const counter = { count: 0 };
  const Original = globalThis.AbortController;
  vi.stubGlobal(
    'AbortController',
    class CountingAbortController extends Original {
      constructor() {
        super();
        counter.count++;
      }
    },
  );
  return counter;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Scope.never', () => {
  it('never aborts and cannot abort', () => {
    expect(Scope.never.aborted).toBe(false);
    expect(Scope.never.canAbort).toBe(false);
    expect(Scope.never.reason).toBeUndefined();
    expect(Scope.never.signal.aborted).toBe(false);
  });

  it('shares one signal between every call', () => {
    expect(Scope.from(undefined)).toBe(Scope.never);
    expect(Scope.never.signal).toBe(Scope.never.signal);
  });

  it('ignores abort(), so no call can poison the scope every other call shares', () => {
    Scope.never.abort(new Error('should be ignored'));
    expect(Scope.never.aborted).toBe(false);
    expect(Scope.never.signal.aborted).toBe(false);
    expect(Scope.from(undefined).aborted).toBe(false);
  });

  it('hands out a no-op unsubscribe from onAbort and registers no listener', () => {
    const unsubscribe = Scope.never.onAbort(() => undefined);
    expect(listeners(Scope.never.signal)).toBe(0);
    expect(() => unsubscribe()).not.toThrow();
  });

  it('adds no listener to its signal when a child materializes its own', () => {
    const child = Scope.never.child();
    expect(child.signal.aborted).toBe(false);
    expect(listeners(Scope.never.signal)).toBe(0);
    child.abort('stop');
    expect(child.signal.aborted).toBe(true);
    expect(Scope.never.aborted).toBe(false);
  });
});

describe('Scope.from(signal)', () => {
  it("uses the caller's signal as its own, without creating another", () => {
    const counter = countControllers();
    const controller = new AbortController();
    const scope = Scope.from(controller.signal);
    expect(scope.signal).toBe(controller.signal);
    expect(counter.count).toBe(1);
    expect(scope.canAbort).toBe(true);
  });

  it("follows the caller's signal: aborted and reason", () => {
    const controller = new AbortController();
    const scope = Scope.from(controller.signal);
    expect(scope.aborted).toBe(false);
    controller.abort('caller gave up');
    expect(scope.aborted).toBe(true);
    expect(scope.reason).toBe('caller gave up');
  });

  it('is already aborted when the signal is', () => {
    const scope = Scope.from(AbortSignal.abort('early'));
    expect(scope.aborted).toBe(true);
    expect(scope.reason).toBe('early');
  });

  it('is a root: it has no parent', () => {
    expect(Scope.from(new AbortController().signal).parent).toBeUndefined();
    expect(Scope.never.parent).toBeUndefined();
  });
});

describe('child scopes', () => {
  it('know their parent', () => {
    const parent = Scope.from(new AbortController().signal);
    expect(parent.child().parent).toBe(parent);
  });

  it('create no AbortController until the signal is read', () => {
    const controller = new AbortController();
    const parent = Scope.from(controller.signal);
    const counter = countControllers();
    const child = parent.child();
    const grandchild = child.child();
    expect(grandchild.aborted).toBe(false);
    child.abort(new TimeoutError(10));
    expect(grandchild.aborted).toBe(true);
    expect(isCancelledError(grandchild.abortError())).toBe(false);
    expect(counter.count).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    void grandchild.signal;
    // One controller for the signal read: the enclosing scope needs none to pass its abort on.
    expect(counter.count).toBe(1);
  });

  it('create one AbortController for a signal read inside many nested scopes', () => {
    const caller = new AbortController();
    let scope = Scope.from(caller.signal);
    for (let i = 0; i < 5; i++) scope = scope.child();
    const counter = countControllers();
    const signal = scope.signal;
    expect(counter.count).toBe(1);
    caller.abort('caller left');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('caller left');
  });

  it('abort a signal read inside nested scopes with the reason of the scope that aborted', () => {
    const outer = Scope.never.child();
    const middle = outer.child();
    const inner = middle.child();
    const innerSignal = inner.signal;
    const outerError = new DeadlineExceededError(50);
    middle.abort(new TimeoutError(10));
    expect(innerSignal.reason).toBeInstanceOf(TimeoutError);
    // The first abort wins: the outer abort that follows changes neither signal.
    outer.abort(outerError);
    expect(innerSignal.reason).toBeInstanceOf(TimeoutError);
    expect(outer.signal.reason).toBe(outerError);
  });

  it('report an abort that happened before the signal was first read', () => {
    const outer = Scope.never.child();
    const inner = outer.child().child();
    const error = new TimeoutError(10);
    outer.abort(error);
    const signal = inner.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(error);
  });

  it('tell onAbort subscribers of a nested scope without creating any AbortController', () => {
    const outer = Scope.never.child();
    const inner = outer.child().child();
    const counter = countControllers();
    const onAbort = vi.fn();
    inner.onAbort(onAbort);
    outer.abort(new TimeoutError(10));
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(counter.count).toBe(0);
  });

  it('abort without a parent listener while unmaterialized, polling the parent instead', () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    expect(child.aborted).toBe(false);
    controller.abort('gone');
    expect(child.aborted).toBe(true);
    expect(child.reason).toBe('gone');
  });

  it('abort when the parent aborts, if the signal was read before', () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    const signal = child.signal;
    const onAbort = vi.fn();
    signal.addEventListener('abort', onAbort);
    controller.abort('parent reason');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('parent reason');
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(child.aborted).toBe(true);
    expect(child.reason).toBe('parent reason');
  });

  it('come out aborted when the signal is first read after the parent aborted', () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    controller.abort('parent reason');
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe('parent reason');
    expect(listeners(controller.signal)).toBe(0);
  });

  it('propagate through several generations of materialized signals', () => {
    const root = Scope.from(new AbortController().signal).child();
    const middle = root.child();
    const leaf = middle.child();
    const leafSignal = leaf.signal;
    root.abort('from the top');
    expect(middle.signal.aborted).toBe(true);
    expect(leafSignal.aborted).toBe(true);
    expect(leafSignal.reason).toBe('from the top');
    expect(leaf.reason).toBe('from the top');
  });

  it('abort on their own without aborting the parent', () => {
    const controller = new AbortController();
    const parent = Scope.from(controller.signal);
    const child = parent.child();
    const signal = child.signal;
    child.abort('child only');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('child only');
    expect(child.reason).toBe('child only');
    expect(parent.aborted).toBe(false);
    expect(controller.signal.aborted).toBe(false);
  });

  it('give the reason of their own abort to a signal read afterwards', () => {
    const child = Scope.from(new AbortController().signal).child();
    const error = new TimeoutError(100);
    child.abort(error);
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toBe(error);
  });

  it('keep the first reason: a second abort does nothing', () => {
    const child = Scope.never.child();
    const signal = child.signal;
    child.abort('first');
    child.abort('second');
    expect(child.reason).toBe('first');
    expect(signal.reason).toBe('first');
  });

  it('keep the parent’s reason when aborted after the parent, so scope and signal agree', () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    const signal = child.signal;
    controller.abort('caller');
    child.abort(new TimeoutError(5));
    expect(child.reason).toBe('caller');
    expect(signal.reason).toBe('caller');
    expect(isCancelledError(child.abortError())).toBe(true);
  });

  it('keep the parent’s reason when aborted after the parent, before the signal was read', () => {
    const parent = Scope.never.child();
    const child = parent.child();
    parent.abort('outer');
    child.abort('inner');
    expect(child.reason).toBe('outer');
    expect(child.signal.reason).toBe('outer');
  });
});

describe('abortError()', () => {
  it('returns the Bulwark error the scope was aborted with, unchanged', () => {
    const child = Scope.never.child();
    const error = new DeadlineExceededError(1000);
    child.abort(error);
    expect(child.abortError()).toBe(error);
  });

  it("wraps the caller's reason in a CancelledError", () => {
    const controller = new AbortController();
    const scope = Scope.from(controller.signal);
    const reason = new Error('client disconnected');
    controller.abort(reason);
    const error = scope.abortError();
    expect(error).toBeInstanceOf(CancelledError);
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect((error as CancelledError).reason).toBe(reason);
    expect(error.message).toBe('operation cancelled by the caller');
  });

  it('wraps the DOMException of a bare abort() in a CancelledError', () => {
    const controller = new AbortController();
    controller.abort();
    const error = Scope.from(controller.signal).abortError() as CancelledError;
    expect(isCancelledError(error)).toBe(true);
    expect((error.reason as DOMException).name).toBe('AbortError');
  });

  it("passes a Bulwark error given as the caller's reason through", () => {
    const controller = new AbortController();
    const reason = new CancelledError('shutting down');
    controller.abort(reason);
    expect(Scope.from(controller.signal).child().abortError()).toBe(reason);
  });
});

describe('dispose()', () => {
  it("removes the child's listener from the parent signal", () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    void child.signal;
    expect(listeners(controller.signal)).toBe(1);
    child.dispose();
    expect(listeners(controller.signal)).toBe(0);
  });

  it('is safe to call twice, or on a scope that never linked', () => {
    const child = Scope.from(new AbortController().signal).child();
    expect(() => {
      child.dispose();
      child.dispose();
    }).not.toThrow();
  });

  // As a time limit does: it listens to its parent before running the function, and when the
  // parent aborts it releases its caller and disposes the child; the function reads its signal
  // only later, so the child comes after that listener among the parent's dependents.
  it("still aborts the signal of a child disposed by a listener the caller's signal told first", () => {
    const caller = new AbortController();
    const parent = Scope.from(caller.signal);
    const child = parent.child();
    parent.onAbort(() => child.dispose());
    const signal = child.signal;
    caller.abort('gone');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('gone');
    expect(listeners(caller.signal)).toBe(0);
  });

  it('still aborts the signal of a child disposed by a listener its parent scope told first', () => {
    const parent = Scope.from(new AbortController().signal).child();
    const child = parent.child();
    parent.onAbort(() => child.dispose());
    const signal = child.signal;
    parent.abort('lost the race');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('lost the race');
  });

  it('leaves no listener behind once the child aborts on its own', () => {
    const controller = new AbortController();
    const child = Scope.from(controller.signal).child();
    void child.signal;
    child.abort('done');
    expect(listeners(controller.signal)).toBe(0);
  });

  it('leaves no listener behind once the parent aborts', () => {
    const caller = new AbortController();
    const parent = Scope.from(caller.signal).child();
    const child = parent.child();
    const signal = child.signal;
    // The child waits on its parent scope, which waits on the caller's signal: one listener.
    expect(listeners(caller.signal)).toBe(1);
    parent.abort('done');
    expect(signal.reason).toBe('done');
    expect(listeners(caller.signal)).toBe(0);
    expect(listeners(parent.signal)).toBe(0);
  });

  it('leaves no listener behind once a nested child is disposed and its parent ends', () => {
    const caller = new AbortController();
    const parent = Scope.from(caller.signal).child();
    const child = parent.child();
    void child.signal;
    child.dispose();
    parent.dispose();
    expect(listeners(caller.signal)).toBe(0);
    caller.abort('late');
    expect(child.signal.aborted).toBe(false);
  });

  it('leaves 0 listeners on a long-lived parent after 100k children with materialized signals', () => {
    const shutdown = new AbortController();
    const parent = Scope.from(shutdown.signal);
    const children: Scope[] = [];
    for (let i = 0; i < 100_000; i++) {
      const child = parent.child();
      void child.signal;
      children.push(child);
    }
    // One listener fans out to every child: Node's listener list costs O(n) per add and remove.
    expect(listeners(shutdown.signal)).toBe(1);
    for (const child of children) child.dispose();
    expect(listeners(shutdown.signal)).toBe(0);
  });

  it('shares one listener among the root scopes of many calls given the same caller signal', () => {
    const shutdown = new AbortController();
    const children: Scope[] = [];
    for (let i = 0; i < 10_000; i++) {
      const child = Scope.from(shutdown.signal).child();
      void child.signal;
      children.push(child);
    }
    expect(listeners(shutdown.signal)).toBe(1);
    shutdown.abort('shutting down');
    expect(children.every((child) => child.signal.aborted)).toBe(true);
    expect(children[9_999]!.signal.reason).toBe('shutting down');
    expect(listeners(shutdown.signal)).toBe(0);
  });

  it('aborts all of 100k materialized children when the long-lived parent aborts', () => {
    const parent = Scope.from(new AbortController().signal).child();
    const signals: AbortSignal[] = [];
    for (let i = 0; i < 100_000; i++) signals.push(parent.child().signal);
    parent.abort('stop');
    expect(signals.filter((signal) => !signal.aborted)).toHaveLength(0);
    expect(listeners(parent.signal)).toBe(0);
  });

  it('leaves 0 listeners on a long-lived parent scope after 100k short calls', () => {
    const parent = Scope.from(new AbortController().signal).child();
    for (let i = 0; i < 100_000; i++) {
      const child = parent.child();
      void child.signal;
      child.dispose();
    }
    expect(listeners(parent.signal)).toBe(0);
  });
});

describe('onAbort()', () => {
  it('calls the callback once when the scope aborts', () => {
    const child = Scope.never.child();
    const callback = vi.fn();
    child.onAbort(callback);
    child.abort('stop');
    child.abort('again');
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it("calls the callback when the caller's signal aborts", () => {
    const controller = new AbortController();
    const callback = vi.fn();
    Scope.from(controller.signal).onAbort(callback);
    controller.abort();
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('calls the callback when a parent aborts', () => {
    const parent = Scope.never.child();
    const callback = vi.fn();
    parent.child().onAbort(callback);
    parent.abort('stop');
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('returns an unsubscribe function that stops the callback and removes the listener', () => {
    const controller = new AbortController();
    const scope = Scope.from(controller.signal);
    const callback = vi.fn();
    const unsubscribe = scope.onAbort(callback);
    expect(listeners(controller.signal)).toBe(1);
    unsubscribe();
    expect(listeners(controller.signal)).toBe(0);
    controller.abort();
    expect(callback).not.toHaveBeenCalled();
  });

  it('calls callbacks in the order they subscribed, after linked children abort', () => {
    const parent = Scope.never.child();
    const order: string[] = [];
    parent.onAbort(() => order.push('first'));
    parent.child().onAbort(() => order.push('child'));
    parent.onAbort(() => order.push('second'));
    parent.abort('stop');
    expect(order).toEqual(['first', 'child', 'second']);
  });

  it('skips a callback unsubscribed by an earlier one during the abort', () => {
    const scope = Scope.never.child();
    const later = vi.fn();
    let unsubscribeLater = (): void => undefined;
    scope.onAbort(() => unsubscribeLater());
    unsubscribeLater = scope.onAbort(later);
    scope.abort('stop');
    expect(later).not.toHaveBeenCalled();
  });

  it('still calls the other callbacks when one throws, and reports the error', () => {
    const reported: unknown[] = [];
    vi.stubGlobal('queueMicrotask', (task: () => void) => {
      try {
        task();
      } catch (error: unknown) {
        reported.push(error);
      }
    });
    const scope = Scope.never.child();
    const after = vi.fn();
    const failure = new Error('listener bug');
    scope.onAbort(() => {
      throw failure;
    });
    scope.onAbort(after);
    scope.abort('stop');
    expect(after).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([failure]);
  });

  it('leaves no listener after the scope aborts, even without unsubscribing', () => {
    const controller = new AbortController();
    Scope.from(controller.signal).onAbort(() => undefined);
    controller.abort();
    expect(listeners(controller.signal)).toBe(0);
  });

  it('does not call the callback for a scope that had already aborted: poll aborted first', () => {
    const child = Scope.never.child();
    child.abort('early');
    const callback = vi.fn();
    child.onAbort(callback)();
    expect(callback).not.toHaveBeenCalled();
    expect(child.aborted).toBe(true);
  });
});
