import { isTimeoutError } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import type { HealthEvent } from './events.js';
import { healthRegistry } from './health-registry.js';

function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('healthRegistry views', () => {
  it('answers pass with 200 and application/health+json when every check passes', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', check: () => undefined });
    const report = await registry.readiness();
    expect(report.status).toBe('pass');
    expect(report.httpStatus).toBe(200);
    expect(report.contentType).toBe('application/health+json');
    expect(report.headers).toEqual({
      'content-type': 'application/health+json',
      'cache-control': 'no-store',
    });
    expect(report.body).toEqual({ status: 'pass', checks: { db: [{ status: 'pass' }] } });
  });

  it('keys entries component:measurement', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({
      name: 'primary-db',
      component: 'postgres',
      measurement: 'connections',
      check: () => 'pass',
    });
    const report = await registry.readiness();
    expect(Object.keys(report.body.checks)).toEqual(['postgres:connections']);
  });

  it('fails with 503 when a critical check fails', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', check: () => 'fail' });
    registry.register({ name: 'cache', check: () => 'pass' });
    const report = await registry.readiness();
    expect(report.status).toBe('fail');
    expect(report.httpStatus).toBe(503);
    expect(report.body.checks).toEqual({ db: [{ status: 'fail' }], cache: [{ status: 'pass' }] });
  });

  it('degrades to warn with 200 when only a non-critical check fails', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', check: () => 'pass' });
    registry.register({ name: 'recommendations', critical: false, check: () => 'fail' });
    const report = await registry.readiness();
    expect(report.status).toBe('warn');
    expect(report.httpStatus).toBe(200);
    expect(report.body.checks['recommendations']).toEqual([{ status: 'fail' }]);
  });

  it('answers warn with 200 when a critical check warns', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', check: () => ({ status: 'warn', output: 'replica lag' }) });
    const report = await registry.readiness();
    expect(report.status).toBe('warn');
    expect(report.httpStatus).toBe(200);
  });

  it('lets a critical failure win over warnings', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'a', critical: false, check: () => 'fail' });
    registry.register({ name: 'b', check: () => 'warn' });
    registry.register({ name: 'c', check: () => 'fail' });
    expect((await registry.readiness()).status).toBe('fail');
  });

  it('answers pass for a view with no checks', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', kind: 'readiness', check: () => 'fail' });
    const report = await registry.liveness();
    expect(report.body).toEqual({ status: 'pass', checks: {} });
  });

  it('runs in each view only the checks registered for it', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    const live = vi.fn(() => 'pass' as const);
    const ready = vi.fn(() => 'fail' as const);
    const both = vi.fn(() => 'pass' as const);
    registry.register({ name: 'loop', kind: 'liveness', check: live });
    registry.register({ name: 'db', check: ready });
    registry.register({ name: 'migrations', kind: ['startup', 'readiness'], check: both });
    const liveness = await registry.liveness();
    expect(Object.keys(liveness.body.checks)).toEqual(['loop']);
    expect(liveness.status).toBe('pass');
    const readiness = await registry.readiness();
    expect(Object.keys(readiness.body.checks)).toEqual(['db', 'migrations']);
    const startup = await registry.startup();
    expect(Object.keys(startup.body.checks)).toEqual(['migrations']);
    expect(live).toHaveBeenCalledTimes(1);
    expect(ready).toHaveBeenCalledTimes(1);
    // Shared by two views, run once: the result is cached.
    expect(both).toHaveBeenCalledTimes(1);
  });

  it('reports several observations of one check under their own keys', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({
      name: 'memory',
      check: () => [
        { measurement: 'heapUsed', status: 'pass', observedValue: 10, observedUnit: 'bytes' },
        { measurement: 'rss', status: 'warn' },
      ],
    });
    const report = await registry.readiness();
    expect(report.body.checks).toEqual({
      'memory:heapUsed': [{ status: 'pass' }],
      'memory:rss': [{ status: 'warn' }],
    });
    expect(report.status).toBe('warn');
  });

  it('lists checks that share a key side by side', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'redis-a', component: 'redis', check: () => 'pass' });
    registry.register({ name: 'redis-b', component: 'redis', check: () => 'fail' });
    const report = await registry.readiness({ detailed: true });
    expect(report.body.checks['redis']?.map((e) => [e.componentId, e.status])).toEqual([
      ['redis-a', 'pass'],
      ['redis-b', 'fail'],
    ]);
  });
});

describe('healthRegistry failures and timeouts', () => {
  it('fails a check that throws synchronously or rejects', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({
      name: 'sync',
      check: () => {
        throw new Error('boom');
      },
    });
    registry.register({ name: 'async', check: () => Promise.reject(new Error('down')) });
    const report = await registry.readiness();
    expect(report.status).toBe('fail');
    expect(report.body.checks).toEqual({ sync: [{ status: 'fail' }], async: [{ status: 'fail' }] });
  });

  it('keeps error messages out of the public view and shows them in the detailed view', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({
      name: 'db',
      check: () => Promise.reject(new Error('password authentication failed for user "app"')),
    });
    const publicReport = await registry.readiness();
    expect(JSON.stringify(publicReport.body)).not.toContain('password');
    const detailed = await registry.readiness({ detailed: true });
    expect(detailed.body.checks['db']?.[0]?.output).toBe(
      'password authentication failed for user "app"',
    );
  });

  it('fails a hanging check at its timeout and aborts its signal', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    let signal: AbortSignal | undefined;
    registry.register({
      name: 'db',
      timeoutMs: 300,
      check: (args) => {
        signal = args.signal;
        return new Promise(() => {});
      },
    });
    let settled = false;
    const pending = registry.readiness({ detailed: true }).finally(() => {
      settled = true;
    });
    await clock.advance(299);
    expect(settled).toBe(false);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    const report = await pending;
    expect(report.status).toBe('fail');
    expect(report.httpStatus).toBe(503);
    expect(report.body.checks['db']?.[0]?.output).toBe('the check timed out after 300 ms');
    expect(signal?.aborted).toBe(true);
    expect(isTimeoutError(signal?.reason)).toBe(true);
  });

  it('leaves no timer behind when a check answers before its timeout', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    registry.register({ name: 'db', timeoutMs: 5_000, check: async () => 'pass' as const });
    await registry.readiness();
    expect(clock.pendingTimers).toBe(0);
  });

  it('arms its timeout timer unref’d, so a probe never keeps the process alive', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    const gate = deferred();
    registry.register({ name: 'db', check: () => gate.promise });
    const pending = registry.readiness();
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
    gate.resolve();
    await pending;
  });

  it('uses the registry timeout for checks that set none', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, timeoutMs: 50 });
    registry.register({ name: 'db', check: () => new Promise(() => {}) });
    const pending = registry.readiness();
    await clock.advance(50);
    expect((await pending).status).toBe('fail');
  });

  it('does not start a check again while its timed-out run still hangs', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 0 });
    const hang = deferred<'pass'>();
    const check = vi.fn(() => hang.promise);
    registry.register({ name: 'db', timeoutMs: 100, check });
    const first = registry.readiness({ detailed: true });
    await clock.advance(100);
    expect((await first).status).toBe('fail');
    const second = await registry.readiness({ detailed: true });
    expect(second.status).toBe('fail');
    expect(second.body.checks['db']?.[0]?.output).toBe('the previous run has not ended yet');
    expect(check).toHaveBeenCalledTimes(1);
    hang.resolve('pass');
    await clock.advance(0);
    check.mockImplementation(() => Promise.resolve('pass'));
    expect((await registry.readiness()).status).toBe('pass');
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('ignores what a timed-out check answers later', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 10_000 });
    const late = deferred<'pass'>();
    registry.register({ name: 'db', timeoutMs: 100, check: () => late.promise });
    const first = registry.readiness();
    await clock.advance(100);
    late.resolve('pass');
    await clock.advance(0);
    expect((await first).status).toBe('fail');
    expect((await registry.readiness()).status).toBe('fail');
  });

  it('fails a check that returns something that is not a status', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register({ name: 'db', check: () => 'ok' as never });
    registry.register({ name: 'other', check: () => ({ status: 'green' }) as never });
    const report = await registry.readiness({ detailed: true });
    expect(report.status).toBe('fail');
    expect(report.body.checks['db']?.[0]?.output).toBe(
      'the check returned something other than a status or an observation',
    );
    expect(report.body.checks['other']?.[0]?.status).toBe('fail');
  });

  it('describes thrown non-errors without leaking them', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point
    registry.register({ name: 'a', check: () => Promise.reject({ secret: 'x' }) });
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point
    registry.register({ name: 'b', check: () => Promise.reject('plain') });
    const report = await registry.readiness({ detailed: true });
    expect(report.body.checks['a']?.[0]?.output).toBe('the check failed');
    expect(report.body.checks['b']?.[0]?.output).toBe('plain');
  });
});

describe('healthRegistry caching', () => {
  it('reuses a result for cacheMs, then runs the check again', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 1_000 });
    const check = vi.fn(() => 'pass' as const);
    registry.register({ name: 'db', check });
    await registry.readiness();
    await clock.advance(999);
    await registry.readiness();
    expect(check).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    await registry.readiness();
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('caches failures too, so a failing dependency is not hammered', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 1_000 });
    const check = vi.fn(() => Promise.reject(new Error('down')));
    registry.register({ name: 'db', check });
    await registry.readiness();
    await registry.readiness();
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('lets a check override the registry cacheMs', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 1_000 });
    const check = vi.fn(() => 'pass' as const);
    registry.register({ name: 'db', cacheMs: 0, check });
    await registry.readiness();
    await registry.readiness();
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('shares one in-flight run among concurrent probes', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 0 });
    const gate = deferred<'pass'>();
    const check = vi.fn(() => gate.promise);
    registry.register({ name: 'db', check });
    const probes = [
      registry.readiness(),
      registry.readiness(),
      registry.liveness(),
      registry.readiness(),
    ];
    await clock.advance(0);
    expect(check).toHaveBeenCalledTimes(1);
    gate.resolve('pass');
    const reports = await Promise.all(probes);
    expect(reports.map((r) => r.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(check).toHaveBeenCalledTimes(1);
  });
});

describe('healthRegistry startup and shutdown', () => {
  it('keeps startup passing once it has passed, without running its checks again', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 0 });
    let ready = false;
    const check = vi.fn(() => (ready ? 'pass' : 'fail'));
    registry.register({ name: 'migrations', kind: 'startup', check });
    expect((await registry.startup()).status).toBe('fail');
    ready = true;
    expect((await registry.startup()).status).toBe('pass');
    ready = false;
    const later = await registry.startup();
    expect(later.status).toBe('pass');
    expect(later.body.checks).toEqual({ migrations: [{ status: 'pass' }] });
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('fails readiness once shutdown begins, without running the checks, and keeps liveness', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock, cacheMs: 0 });
    const ready = vi.fn(() => 'pass' as const);
    registry.register({ name: 'db', check: ready });
    registry.register({ name: 'loop', kind: 'liveness', check: () => 'pass' });
    expect(registry.shuttingDown).toBe(false);
    registry.beginShutdown();
    expect(registry.shuttingDown).toBe(true);
    const readiness = await registry.readiness();
    expect(readiness.status).toBe('fail');
    expect(readiness.httpStatus).toBe(503);
    expect(readiness.body).toEqual({ status: 'fail', checks: {} });
    expect(ready).not.toHaveBeenCalled();
    expect((await registry.readiness({ detailed: true })).body.output).toBe('shutting down');
    expect((await registry.liveness()).status).toBe('pass');
  });

  it('fails a readiness probe that was running when shutdown began', async () => {
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    const gate = deferred<'pass'>();
    registry.register({ name: 'db', check: () => gate.promise });
    const pending = registry.readiness();
    await clock.advance(0);
    registry.beginShutdown();
    gate.resolve('pass');
    expect((await pending).status).toBe('fail');
  });
});

describe('healthRegistry detailed view', () => {
  it('adds ids, types, values, units, outputs, times and service metadata', async () => {
    const clock = new FakeClock({ now: 0, date: Date.UTC(2026, 0, 1) });
    const registry = healthRegistry({
      clock,
      version: '1.4.2',
      releaseId: '1.4.2-abc',
      serviceId: 'orders',
      description: 'order service',
    });
    registry.register({
      name: 'primary',
      component: 'postgres',
      measurement: 'responseTime',
      componentType: 'datastore',
      check: () => ({ status: 'warn', observedValue: 250, observedUnit: 'ms', output: 'slow' }),
    });
    const report = await registry.readiness({ detailed: true });
    expect(report.body).toEqual({
      status: 'warn',
      version: '1.4.2',
      releaseId: '1.4.2-abc',
      serviceId: 'orders',
      description: 'order service',
      checks: {
        'postgres:responseTime': [
          {
            status: 'warn',
            componentId: 'primary',
            componentType: 'datastore',
            observedValue: 250,
            observedUnit: 'ms',
            output: 'slow',
            time: '2026-01-01T00:00:00.000Z',
          },
        ],
      },
    });
  });

  it('keeps values, outputs and metadata out of the public view', async () => {
    const registry = healthRegistry({ clock: new FakeClock(), version: '1.4.2' });
    registry.register({
      name: 'db',
      componentType: 'datastore',
      check: () => ({ status: 'warn', observedValue: 250, observedUnit: 'ms', output: 'slow' }),
    });
    const report = await registry.readiness();
    expect(report.body).toEqual({ status: 'warn', checks: { db: [{ status: 'warn' }] } });
  });

  it('shows the detailed view by default when the registry says so', async () => {
    const registry = healthRegistry({ clock: new FakeClock(), detailed: true });
    registry.register({ name: 'db', check: () => ({ status: 'pass', observedValue: 1 }) });
    expect((await registry.readiness()).body.checks['db']?.[0]?.observedValue).toBe(1);
    expect((await registry.readiness({ detailed: false })).body.checks['db']).toEqual([
      { status: 'pass' },
    ]);
  });
});

describe('healthRegistry registration', () => {
  it('rejects a second check with the same name', () => {
    const registry = healthRegistry();
    registry.register({ name: 'db', check: () => undefined });
    expect(() => registry.register({ name: 'db', check: () => undefined })).toThrow(
      'a check named "db" is already registered',
    );
  });

  it('removes a check with the function register returned, calling its dispose once', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    const dispose = vi.fn();
    const unregister = registry.register({ name: 'db', check: () => 'fail', dispose });
    expect(registry.names()).toEqual(['db']);
    unregister();
    unregister();
    expect(dispose).toHaveBeenCalledTimes(1);
    expect(registry.names()).toEqual([]);
    expect((await registry.readiness()).status).toBe('pass');
  });

  it('does not let a stale unregister remove a newer check of the same name', () => {
    const registry = healthRegistry();
    const first = registry.register({ name: 'db', check: () => undefined });
    first();
    registry.register({ name: 'db', check: () => undefined });
    first();
    expect(registry.names()).toEqual(['db']);
  });

  it('disposes every check on close', () => {
    const registry = healthRegistry();
    const a = vi.fn();
    const b = vi.fn();
    registry.register({ name: 'a', check: () => undefined, dispose: a });
    registry.register({ name: 'b', check: () => undefined, dispose: b });
    registry.close();
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
    expect(registry.names()).toEqual([]);
  });

  it('validates check definitions', () => {
    const registry = healthRegistry();
    const check = (): void => undefined;
    expect(() => registry.register({ name: '', check })).toThrow(
      new TypeError('expected name to be a non-empty string, got ""'),
    );
    expect(() => registry.register({ name: 'a', check: 'x' as never })).toThrow(
      new TypeError('expected check to be a function, got "x"'),
    );
    expect(() => registry.register({ name: 'a', check, timeoutMs: 0 })).toThrow(
      new RangeError('expected timeoutMs to be an integer >= 1, got 0'),
    );
    expect(() => registry.register({ name: 'a', check, cacheMs: -1 })).toThrow(
      new RangeError('expected cacheMs to be an integer >= 0, got -1'),
    );
    expect(() => registry.register({ name: 'a', check, critical: 'yes' as never })).toThrow(
      new TypeError('expected critical to be a boolean, got "yes"'),
    );
    expect(() => registry.register({ name: 'a', check, kind: 'ready' as never })).toThrow(
      new TypeError('expected kind to be one of "liveness", "readiness", "startup", got "ready"'),
    );
    expect(() => registry.register({ name: 'a', check, kind: [] })).toThrow(
      new TypeError(
        'expected kind to be one of "liveness", "readiness", "startup" or an array of them',
      ),
    );
    expect(() => registry.register(null as never)).toThrow(
      new TypeError('expected the options of register() to be an object, got null'),
    );
  });

  it('validates registry options', () => {
    expect(() => healthRegistry({ cacheMs: -5 })).toThrow(
      new RangeError('expected cacheMs to be an integer >= 0, got -5'),
    );
    expect(() => healthRegistry({ timeoutMs: 1.5 })).toThrow(
      new RangeError('expected timeoutMs to be an integer >= 1, got 1.5'),
    );
    expect(() => healthRegistry({ detailed: 1 as never })).toThrow(
      new TypeError('expected detailed to be a boolean, got 1'),
    );
    expect(() => healthRegistry({ version: '' })).toThrow(
      new TypeError('expected version to be a non-empty string, got ""'),
    );
    expect(() => healthRegistry({ listener: {} as never })).toThrow(
      new TypeError('expected listener to be a function, got an object'),
    );
    expect(() => healthRegistry('x' as never)).toThrow(
      new TypeError('expected the options of healthRegistry() to be an object, got "x"'),
    );
  });

  it('rejects an unknown view name', async () => {
    const registry = healthRegistry();
    await expect(registry.report('ready' as never)).rejects.toThrow(
      'expected kind to be one of "liveness", "readiness", "startup", got "ready"',
    );
  });
});

describe('healthRegistry telemetry', () => {
  it('reports each run and each view, including timeouts', async () => {
    const clock = new FakeClock();
    const events: HealthEvent[] = [];
    const registry = healthRegistry({ clock, listener: (e) => events.push(e) });
    registry.register({ name: 'slow', timeoutMs: 100, check: () => new Promise(() => {}) });
    registry.register({ name: 'fast', check: () => 'pass' });
    const pending = registry.readiness();
    await clock.advance(100);
    await pending;
    expect(events).toEqual([
      {
        type: 'health-check',
        name: 'fast',
        status: 'pass',
        durationMs: 0,
        timedOut: false,
        skipped: false,
        error: undefined,
      },
      {
        type: 'health-check',
        name: 'slow',
        status: 'fail',
        durationMs: 100,
        timedOut: true,
        skipped: false,
        error: expect.objectContaining({ code: 'BULWARK_TIMEOUT' }) as unknown,
      },
      { type: 'health-report', kind: 'readiness', status: 'fail' },
    ]);
  });

  it('is not disturbed by a listener that throws', async () => {
    const registry = healthRegistry({
      clock: new FakeClock(),
      listener: () => {
        throw new Error('exporter down');
      },
    });
    registry.register({ name: 'db', check: () => 'pass' });
    expect((await registry.readiness()).status).toBe('pass');
  });
});

describe('healthRegistry options', () => {
  it('rejects a misspelt option of the registry, suggesting the name it misspells', () => {
    expect(() => healthRegistry({ cache: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "cache" for healthRegistry(); did you mean "cacheMs"? expected one of cacheMs, timeoutMs, detailed, version, releaseId, serviceId, description, clock, listener',
      ),
    );
  });

  it('rejects a misspelt field of a check definition, suggesting the name it misspells', () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    expect(() =>
      registry.register({ name: 'db', check: () => 'pass', timeout: 50 } as never),
    ).toThrow(
      new TypeError(
        'unknown option "timeout" for register(); did you mean "timeoutMs"? expected one of name, component, measurement, componentType, check, timeoutMs, critical, kind, cacheMs, dispose',
      ),
    );
    expect(registry.names()).toEqual([]);
  });
});
