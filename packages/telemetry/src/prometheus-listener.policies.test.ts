import { pipeline } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { breakerRegistry, circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { FakeClock } from '@bulwark/testing';
import { deadline, timeout } from '@bulwark/timeout';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { prometheusListener } from './prometheus-listener.js';

/** The sample lines of a scrape whose name starts with `prefix`. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

const never = () => new Promise<never>(() => {});

describe('prometheusListener, fed by the real policies', () => {
  it('counts a real breaker opening, rejecting and probing', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: consecutive({ threshold: 2 }),
      breakDurationMs: 1_000,
      key: 'https://api.example.com',
      listener: metrics,
      clock,
    });
    const policy = pipeline({ operation: 'get-item', listener: metrics, clock }, breaker);
    const fail = () => Promise.reject(new Error('down'));
    await expect(policy.execute(fail)).rejects.toThrow('down');
    await expect(policy.execute(fail)).rejects.toThrow('down');
    await expect(policy.execute(() => 'not run')).rejects.toThrow(
      'circuit https://api.example.com is open',
    );
    await clock.advance(1_000);
    await expect(policy.execute(() => 'back')).resolves.toBe('back');

    const key = 'origin="https://api.example.com"';
    expect(await lines(registry, 'bulwark_breaker_')).toEqual([
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="closed"} 1`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="open"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="half-open"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="isolated"} 0`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="closed",to="open"} 1`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="open",to="half-open"} 1`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="half-open",to="closed"} 1`,
      `bulwark_breaker_rejected_total{policy="circuit-breaker",${key},state="open"} 1`,
    ]);
    expect(await lines(registry, 'bulwark_calls_total')).toEqual([
      'bulwark_calls_total{operation="get-item",outcome="failure"} 2',
      'bulwark_calls_total{operation="get-item",outcome="circuit-open"} 1',
      'bulwark_calls_total{operation="get-item",outcome="success"} 1',
    ]);
  });

  it('exports a breaker’s state from the moment it exists, a registry’s per key too', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    circuitBreaker({ name: 'payments', listener: metrics });
    const breakers = breakerRegistry({ breaker: { name: 'edge' }, listener: metrics });
    expect(await lines(registry, 'bulwark_breaker_state')).toEqual([
      'bulwark_breaker_state{policy="payments",origin="",state="closed"} 1',
      'bulwark_breaker_state{policy="payments",origin="",state="open"} 0',
      'bulwark_breaker_state{policy="payments",origin="",state="half-open"} 0',
      'bulwark_breaker_state{policy="payments",origin="",state="isolated"} 0',
    ]);
    breakers.get('https://a.example');
    expect(await lines(registry, 'bulwark_breaker_state{policy="edge"')).toEqual([
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="closed"} 1',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="open"} 0',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="half-open"} 0',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="isolated"} 0',
    ]);
    // Nothing changed state: no transition was counted.
    expect(await lines(registry, 'bulwark_breaker_transitions_total{')).toEqual([]);
  });

  it('counts a real bulkhead queueing and refusing, and real timeouts and deadlines', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const db = bulkhead({ limit: 1, queue: 1, name: 'db', listener: metrics, clock });
    const pool = pipeline({ operation: 'query', listener: metrics, clock }, db);
    let release!: () => void;
    const running = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = pool.execute(() => 'queued');
    await expect(pool.execute(() => 'refused')).rejects.toThrow('bulkhead full');
    release();
    await running;
    await expect(queued).resolves.toBe('queued');

    const slow = pipeline(
      { operation: 'slow', listener: metrics, clock },
      deadline(300, { listener: metrics, clock }),
      timeout(100, { listener: metrics, clock }),
    );
    const timedOut = expect(slow.execute(never)).rejects.toThrow(
      'operation timed out after 100 ms',
    );
    await clock.advance(100);
    await timedOut;
    const outer = pipeline(
      { operation: 'slow', listener: metrics, clock },
      deadline(50, { listener: metrics, clock }),
    );
    const exceeded = expect(outer.execute(never)).rejects.toThrow('deadline of 50 ms exceeded');
    await clock.advance(50);
    await exceeded;

    expect(await lines(registry, 'bulwark_bulkhead_')).toEqual(
      expect.arrayContaining([
        'bulwark_bulkhead_queued_total{policy="db",operation="query"} 1',
        'bulwark_bulkhead_rejected_total{policy="db",operation="query",reason="full"} 1',
      ]),
    );
    expect(await lines(registry, 'bulwark_timeouts_total')).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="slow"} 1',
    ]);
    expect(await lines(registry, 'bulwark_deadline_exceeded_total')).toEqual([
      'bulwark_deadline_exceeded_total{policy="timeout",operation="slow"} 1',
    ]);
  });
});
