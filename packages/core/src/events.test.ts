import { describe, expect, it, vi } from 'vitest';
import { type PolicyEvent, type TelemetryListener, combineListeners, emit } from './events.js';

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
