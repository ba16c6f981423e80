import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import { healthRegistry } from '../health-registry.js';
import { type LoopSampler, eventLoopCheck, eventLoopCheckWith } from './event-loop.js';

function fakeSampler(delayMs: number, utilization: number): LoopSampler & { resets: number } {
  return {
    resets: 0,
    delayMs: vi.fn(() => delayMs),
    utilization: () => utilization,
    reset() {
      this.resets++;
    },
    dispose: vi.fn(),
  };
}

describe('eventLoopCheck', () => {
  it('passes under the limits and reports delay and utilization', async () => {
    const sampler = fakeSampler(12.34, 0.4567);
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({ maxDelayMs: 100, maxUtilization: 0.9 }, () => sampler));
    const report = await registry.liveness({ detailed: true });
    expect(report.status).toBe('pass');
    expect(report.body.checks['eventloop:delay']?.[0]).toMatchObject({
      status: 'pass',
      componentType: 'system',
      observedValue: 12.3,
      observedUnit: 'ms',
    });
    expect(report.body.checks['eventloop:utilization']?.[0]).toMatchObject({
      status: 'pass',
      observedValue: 45.7,
      observedUnit: 'percent',
    });
    expect(sampler.delayMs).toHaveBeenCalledWith(99);
    expect(sampler.resets).toBe(1);
  });

  it('fails when the delay exceeds maxDelayMs', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({ maxDelayMs: 100 }, () => fakeSampler(150, 0.2)));
    const report = await registry.liveness({ detailed: true });
    expect(report.status).toBe('fail');
    expect(report.body.checks['eventloop:delay']?.[0]?.output).toBe(
      'p99 event loop delay 150 ms exceeds 100 ms',
    );
    expect(report.body.checks['eventloop:utilization']?.[0]?.status).toBe('pass');
  });

  it('fails when utilization exceeds maxUtilization', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({ maxUtilization: 0.9 }, () => fakeSampler(0, 0.95)));
    const report = await registry.liveness({ detailed: true });
    expect(report.status).toBe('fail');
    expect(report.body.checks['eventloop:utilization']?.[0]?.output).toBe(
      'event loop utilization 95% exceeds 90%',
    );
  });

  it('only reports utilization when no maxUtilization is set', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({}, () => fakeSampler(0, 1)));
    expect((await registry.liveness()).status).toBe('pass');
  });

  it('answers whenExceeded instead of fail, and judges the given percentile', async () => {
    const sampler = fakeSampler(2_000, 0);
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({ whenExceeded: 'warn', percentile: 50 }, () => sampler));
    expect((await registry.liveness()).status).toBe('warn');
    expect(sampler.delayMs).toHaveBeenCalledWith(50);
  });

  it('belongs to liveness by default and can be moved', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(eventLoopCheckWith({}, () => fakeSampler(0, 0)));
    registry.register(
      eventLoopCheckWith({ name: 'loop2', kind: 'readiness' }, () => fakeSampler(0, 0)),
    );
    expect(Object.keys((await registry.liveness()).body.checks)).toEqual([
      'eventloop:delay',
      'eventloop:utilization',
    ]);
    expect(Object.keys((await registry.readiness()).body.checks)).toEqual([
      'loop2:delay',
      'loop2:utilization',
    ]);
  });

  it('stops its sampler when unregistered', () => {
    const sampler = fakeSampler(0, 0);
    const registry = healthRegistry();
    const unregister = registry.register(eventLoopCheckWith({}, () => sampler));
    unregister();
    expect(sampler.dispose).toHaveBeenCalledTimes(1);
  });

  it('measures the real event loop with perf_hooks', async () => {
    const registry = healthRegistry();
    registry.register(eventLoopCheck({ maxDelayMs: 60_000 }));
    const report = await registry.liveness({ detailed: true });
    registry.close();
    expect(report.status).toBe('pass');
    const delay = report.body.checks['eventloop:delay']?.[0]?.observedValue;
    const utilization = report.body.checks['eventloop:utilization']?.[0]?.observedValue;
    expect(typeof delay).toBe('number');
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(100);
  });

  it('validates its options', () => {
    expect(() => eventLoopCheck({ maxDelayMs: -1 })).toThrow(
      new RangeError('expected maxDelayMs to be a finite number >= 0, got -1'),
    );
    expect(() => eventLoopCheck({ percentile: 0 })).toThrow(
      new RangeError('expected percentile to be a finite number between 1 and 100, got 0'),
    );
    expect(() => eventLoopCheck({ maxUtilization: 1.5 })).toThrow(
      new RangeError('expected maxUtilization to be a finite number between 0 and 1, got 1.5'),
    );
    expect(() => eventLoopCheck({ whenExceeded: 'pass' as never })).toThrow(
      new TypeError('expected whenExceeded to be one of "warn", "fail", got "pass"'),
    );
    expect(() => eventLoopCheck({ resolutionMs: 0 })).toThrow(
      new RangeError('expected resolutionMs to be an integer >= 1, got 0'),
    );
  });
});

describe('eventLoopCheck options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() => eventLoopCheck({ maxDelay: 100 } as never)).toThrow(
      new TypeError(
        'unknown option "maxDelay" for eventLoopCheck(); did you mean "maxDelayMs"? expected one of name, maxDelayMs, percentile, maxUtilization, whenExceeded, resolutionMs, kind, critical, timeoutMs, cacheMs',
      ),
    );
  });
});
