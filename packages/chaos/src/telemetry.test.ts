import { pipeline } from '@bulwark/core';
import { constantBackoff, retry } from '@bulwark/retry';
import { prometheusListener } from '@bulwark/telemetry';
import { FakeClock } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { chaosFault } from './fault.js';
import { chaosLatency } from './latency.js';
import { chaosSwitch } from './switch.js';

/** The sample lines of a scrape whose name starts with `prefix`. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('chaos injections in @bulwark/telemetry’s metrics', () => {
  it('counts every injection by kind next to the retries it caused, and none once switched off', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const rehearsal = chaosSwitch(true);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const users = pipeline(
      { operation: 'users.get', listener: metrics, clock },
      retry({ maxAttempts: 3, backoff: constantBackoff(0), listener: metrics, clock }),
      chaosLatency({
        name: 'slow',
        rate: 1,
        latencyMs: 10,
        enabled: rehearsal,
        listener: metrics,
        clock,
      }),
      chaosFault({
        name: 'flaky',
        rate: 1,
        error: reset,
        enabled: rehearsal,
        listener: metrics,
        clock,
      }),
    );
    const failed = expect(users.execute(() => 'ok')).rejects.toBe(reset);
    await clock.runAll();
    await failed;
    rehearsal.disable();
    await expect(users.execute(() => 'ok')).resolves.toBe('ok');

    expect(await lines(registry, 'bulwark_chaos_injections_total')).toEqual([
      'bulwark_chaos_injections_total{policy="slow",operation="users.get",kind="latency"} 3',
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="fault"} 3',
    ]);
    expect(await lines(registry, 'bulwark_retries_total')).toEqual([
      'bulwark_retries_total{policy="retry",operation="users.get",delay_source="backoff"} 2',
    ]);
  });
});
