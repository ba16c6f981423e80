import { healthRegistry } from '@bulwark/health';
import { FakeClock } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { prometheusListener } from './prometheus-listener.js';

/** The sample lines of a scrape whose name starts with `prefix`. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('prometheusListener, fed by a real health registry', () => {
  it('exports each check’s and each view’s status at its last run, one series per status', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    let database: 'pass' | 'fail' = 'pass';
    const health = healthRegistry({ listener: metrics, clock: new FakeClock(), cacheMs: 0 });
    health.register({ name: 'database', critical: true, check: () => database });
    await health.readiness();
    expect(await lines(registry, 'bulwark_health_check_status')).toEqual([
      'bulwark_health_check_status{check="database",status="pass"} 1',
      'bulwark_health_check_status{check="database",status="warn"} 0',
      'bulwark_health_check_status{check="database",status="fail"} 0',
    ]);
    database = 'fail';
    await health.readiness();
    expect(await lines(registry, 'bulwark_health_status{view="readiness"')).toEqual([
      'bulwark_health_status{view="readiness",status="pass"} 0',
      'bulwark_health_status{view="readiness",status="warn"} 0',
      'bulwark_health_status{view="readiness",status="fail"} 1',
    ]);
    expect(
      await lines(registry, 'bulwark_health_check_status{check="database",status="fail"}'),
    ).toEqual(['bulwark_health_check_status{check="database",status="fail"} 1']);
  });

  it('caps check names like any other label value', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, maxLabelValues: 2 });
    for (const name of ['a', 'b', 'c', 'd']) {
      metrics({ type: 'health-check', name, status: 'pass', durationMs: 1, timedOut: false });
    }
    const checks = (await lines(registry, 'bulwark_health_check_status{')).map(
      (line) => /check="([^"]*)"/.exec(line)![1],
    );
    expect([...new Set(checks)]).toEqual(['a', 'b', 'other']);
  });
});
