import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { healthRegistry } from '../health-registry.js';
import { breakerCheck } from './breaker.js';

/** Shaped like @bulwark/circuit-breaker's breaker and registry (view() / views()). */
function breaker(state: string): { view(): { state: string; key: string | undefined } } {
  return { view: () => ({ state, key: undefined }) };
}

describe('breakerCheck', () => {
  it('passes while the breaker is closed', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(breakerCheck({ name: 'payments', breaker: breaker('closed') }));
    const report = await registry.readiness({ detailed: true });
    expect(report.status).toBe('pass');
    expect(report.body.checks['payments:circuit']?.[0]).toMatchObject({
      status: 'pass',
      observedValue: 'closed',
    });
  });

  it('makes readiness warn (200) while open by default', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(breakerCheck({ name: 'payments', breaker: breaker('open') }));
    const report = await registry.readiness({ detailed: true });
    expect(report.status).toBe('warn');
    expect(report.httpStatus).toBe(200);
    expect(report.body.checks['payments:circuit']?.[0]?.output).toBe('circuit is open');
  });

  it('makes readiness fail (503) while open when whenOpen is fail', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(
      breakerCheck({ name: 'payments', breaker: breaker('open'), whenOpen: 'fail' }),
    );
    const report = await registry.readiness();
    expect(report.status).toBe('fail');
    expect(report.httpStatus).toBe(503);
  });

  it('treats an isolated breaker as open', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(
      breakerCheck({ name: 'payments', breaker: breaker('isolated'), whenOpen: 'fail' }),
    );
    expect((await registry.readiness()).status).toBe('fail');
  });

  it('answers whenHalfOpen while trial calls run', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(breakerCheck({ name: 'a', breaker: breaker('half-open') }));
    registry.register(
      breakerCheck({ name: 'b', breaker: breaker('half-open'), whenHalfOpen: 'pass' }),
    );
    const report = await registry.readiness();
    expect(report.body.checks['a:circuit']).toEqual([{ status: 'warn' }]);
    expect(report.body.checks['b:circuit']).toEqual([{ status: 'pass' }]);
  });

  it('reports the worst breaker of a registry and names the ones not closed', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    const breakers = {
      views: () => [
        { state: 'closed', key: 'https://a.example' },
        { state: 'half-open', key: 'https://b.example' },
        { state: 'open', key: 'https://c.example' },
      ],
    };
    registry.register(breakerCheck({ name: 'upstreams', breaker: breakers, whenOpen: 'fail' }));
    const detailed = await registry.readiness({ detailed: true });
    expect(detailed.status).toBe('fail');
    expect(detailed.body.checks['upstreams:circuit']?.[0]).toMatchObject({
      observedValue: 2,
      output: 'https://b.example half-open, https://c.example open',
    });
    const publicView = await registry.readiness();
    expect(JSON.stringify(publicView.body)).not.toContain('example');
  });

  it('passes for a registry with no breakers yet', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(breakerCheck({ name: 'upstreams', breaker: { views: () => [] } }));
    expect((await registry.readiness()).status).toBe('pass');
  });

  it('validates its options', () => {
    expect(() => breakerCheck({ name: 'a', breaker: {} as never })).toThrow(
      new TypeError('expected breaker to have a view() or views() method'),
    );
    expect(() =>
      breakerCheck({ name: 'a', breaker: breaker('open'), whenOpen: 'pass' as never }),
    ).toThrow(new TypeError('expected whenOpen to be one of "warn", "fail", got "pass"'));
    expect(() => breakerCheck({ name: '', breaker: breaker('open') })).toThrow(
      new TypeError('expected name to be a non-empty string, got ""'),
    );
  });
});

describe('breakerCheck options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    const breaker = { view: () => ({ state: 'closed' }) };
    expect(() => breakerCheck({ name: 'db', breaker, whenOpn: 'fail' } as never)).toThrow(
      new TypeError(
        'unknown option "whenOpn" for breakerCheck(); did you mean "whenOpen"? expected one of name, breaker, whenOpen, whenHalfOpen, measurement, kind, critical, timeoutMs, cacheMs',
      ),
    );
  });
});
