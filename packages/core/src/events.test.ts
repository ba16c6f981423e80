import { describe, expect, it, vi } from 'vitest';
import {
  type PolicyEvent,
  type SuccessRecorder,
  type SuccessTemplate,
  type TelemetryListener,
  bindSuccess,
  callTemplate,
  combineListeners,
  emit,
  successReporter,
} from './events.js';

const event: PolicyEvent = {
  type: 'timeout',
  policy: 'timeout',
  name: 'per-attempt',
  operation: 'get-user',
  timeoutMs: 500,
};

describe('emit', () => {
  it('hands the event to the listener', () => {
    const listener = vi.fn<TelemetryListener>();
    emit(listener, event);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith(event);
  });

  it('swallows whatever a listener throws, so telemetry cannot fail the call it observes', () => {
    const listener = vi.fn<TelemetryListener>(() => {
      throw new Error('exporter down');
    });
    expect(() => emit(listener, event)).not.toThrow();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('swallows non-Error throws too', () => {
    expect(() =>
      emit(() => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
        throw 'a string';
      }, event),
    ).not.toThrow();
  });
});

describe('combineListeners', () => {
  it('returns undefined when no listener is given, so policies skip building events', () => {
    expect(combineListeners()).toBeUndefined();
    expect(combineListeners(undefined, undefined)).toBeUndefined();
  });

  it('returns the single listener itself, adding no indirection', () => {
    const listener = vi.fn<TelemetryListener>();
    expect(combineListeners(undefined, listener, undefined)).toBe(listener);
  });

  it('forwards every event to each listener, in order', () => {
    const calls: string[] = [];
    const combined = combineListeners(
      (e) => calls.push(`a:${e.type}`),
      undefined,
      (e) => calls.push(`b:${e.type}`),
    );
    combined!(event);
    expect(calls).toEqual(['a:timeout', 'b:timeout']);
  });

  it('keeps forwarding to the others when one listener throws', () => {
    const last = vi.fn<TelemetryListener>();
    const combined = combineListeners(() => {
      throw new Error('broken');
    }, last);
    expect(() => combined!(event)).not.toThrow();
    expect(last).toHaveBeenCalledWith(event);
  });

  it('takes a snapshot of the listeners, unaffected by later changes to an array passed in', () => {
    const first = vi.fn<TelemetryListener>();
    const second = vi.fn<TelemetryListener>();
    const list: Array<TelemetryListener | undefined> = [first, second];
    const combined = combineListeners(...list);
    list.length = 0;
    combined!(event);
    expect(first).toHaveBeenCalledTimes(1);
    expect(second).toHaveBeenCalledTimes(1);
  });
});

/** A listener with a fast path: records what each bound template is given, and every event. */
function fastListener(bind?: (template: SuccessTemplate) => SuccessRecorder) {
  const events: PolicyEvent[] = [];
  const recorded: Array<[SuccessTemplate, number]> = [];
  const templates: SuccessTemplate[] = [];
  const listener: TelemetryListener = Object.assign((e: PolicyEvent) => void events.push(e), {
    [bindSuccess]:
      bind ??
      ((template: SuccessTemplate) => {
        templates.push(template);
        return (durationMs: number) => void recorded.push([template, durationMs]);
      }),
  });
  return { listener, events, recorded, templates };
}

describe('a listener fast path (bindSuccess)', () => {
  it('binds once per operation and then records durations, without events', () => {
    const { listener, events, recorded, templates } = fastListener();
    const reporter = successReporter(listener, callTemplate)!;
    reporter.report('get-user', 1.5);
    reporter.report('get-user', 2.5);
    expect(templates).toEqual([callTemplate('get-user')]);
    expect(recorded.map(([t, d]) => [t.operation, d])).toEqual([
      ['get-user', 1.5],
      ['get-user', 2.5],
    ]);
    // Another operation binds again; undefined is an operation of its own.
    reporter.report('list-users', 3);
    reporter.report(undefined, 4);
    expect(templates.map((t) => t.operation)).toEqual(['get-user', 'list-users', undefined]);
    expect(events).toEqual([]);
  });

  it('makes no reporter for a listener without one, so the policy emits events as before', () => {
    expect(successReporter(() => {}, callTemplate)).toBeUndefined();
    expect(successReporter(undefined, callTemplate)).toBeUndefined();
  });

  it('falls back to the whole event when binding throws or gives no function', () => {
    for (const bind of [
      () => {
        throw new Error('cannot bind');
      },
      () => 'not a function' as unknown as SuccessRecorder,
    ]) {
      const { listener, events } = fastListener(bind);
      successReporter(listener, callTemplate)!.report('get-user', 7);
      expect(events).toEqual([{ ...callTemplate('get-user'), durationMs: 7 }]);
    }
  });

  it('swallows what a recorder throws, as emit() does', () => {
    const { listener } = fastListener(() => () => {
      throw new Error('exporter down');
    });
    expect(() => successReporter(listener, callTemplate)!.report('get-user', 1)).not.toThrow();
  });

  it('survives combineListeners: fast parts record, the others get the event, a throw stops neither', () => {
    const fast = fastListener();
    const plain: PolicyEvent[] = [];
    const broken = fastListener(() => () => {
      throw new Error('broken');
    });
    const combined = combineListeners(broken.listener, fast.listener, (e) => void plain.push(e))!;
    expect(typeof combined[bindSuccess]).toBe('function');
    successReporter(combined, callTemplate)!.report('get-user', 2);
    expect(fast.recorded.map(([, d]) => d)).toEqual([2]);
    expect(plain).toEqual([{ ...callTemplate('get-user'), durationMs: 2 }]);
    // Events other than these successes still reach every listener.
    combined(event);
    expect(fast.events).toEqual([event]);
    expect(plain.at(-1)).toBe(event);
  });

  it('offers no fast path from combineListeners when no part has one', () => {
    const combined = combineListeners(
      () => {},
      () => {},
    )!;
    expect(combined[bindSuccess]).toBeUndefined();
  });
});
