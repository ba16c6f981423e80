import { type PolicyEvent, pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { openTelemetryListener } from './otel-listener.js';
import { loadPeer } from './peers.js';
import { tracedAttempt } from './traced-attempt.js';
import { tracedOperation } from './traced-operation.js';

// No SDK is registered in this file: the API is its no-op self.
describe('without an OpenTelemetry SDK', () => {
  it('passes values, thrown errors and rejections through unchanged', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'noop', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, maxAttempts: 1 }),
      tracedAttempt({ clock }),
    );
    await expect(policy.execute(() => 'value')).resolves.toBe('value');
    const thrown = new Error('sync');
    await expect(
      policy.execute(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    await expect(policy.execute(() => Promise.reject(new RangeError('async')))).rejects.toThrow(
      RangeError,
    );
  });

  it('keeps the caller’s active context untouched', async () => {
    const policy = pipeline(tracedOperation(), tracedAttempt());
    const seen = await policy.execute(() => trace.getSpan(context.active()));
    expect(seen).toBeUndefined();
  });

  it('retries as usual with the listener attached', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      tracedOperation({ clock }),
      retry({ listener, clock, backoff: constantBackoff(5) }),
    );
    let n = 0;
    const call = policy.execute(() =>
      ++n < 3 ? Promise.reject(Object.assign(new Error('x'), { code: 'ECONNRESET' })) : n,
    );
    await clock.runAll();
    await expect(call).resolves.toBe(3);
  });

  it('ignores every event', () => {
    const listener = openTelemetryListener();
    const event: PolicyEvent = {
      type: 'timeout',
      policy: 'timeout',
      name: undefined,
      operation: 'x',
      timeoutMs: 1,
    };
    expect(() => listener(event)).not.toThrow();
  });
});

describe('optional peer dependencies', () => {
  it('says which package to install when one is missing', () => {
    expect(() => loadPeer('@bulwark/not-installed-peer', 'openTelemetryListener')).toThrow(
      new Error(
        'openTelemetryListener() needs the optional peer dependency @bulwark/not-installed-peer: npm install @bulwark/not-installed-peer',
      ),
    );
  });
});
