import { healthRegistry } from '@bulwark/health';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { Events, client, hits, replicas, seeded } from './test-helpers.js';

describe('outlier ejection over real replicas', () => {
  it('ejects a replica that keeps failing, spares calls from it while out, and takes it back through a trial', async () => {
    const clock = new FakeClock();
    const [sick, healthy] = await replicas(2, { clock });
    sick!.script(...fault.burst(5, 503));
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: [sick!.origin, healthy!.origin],
      clock,
      random: seeded(3),
      retry: { backoff: constantBackoff(0) },
      listener: events.listener,
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    // Every call succeeds: a 503 from the sick replica is retried on the healthy one.
    while (events.of('endpoint-ejected').length === 0)
      await expect(getItem()).resolves.toEqual({ ok: true });
    expect(sick!.requests).toHaveLength(5);
    expect(events.of('endpoint-ejected')).toMatchObject([
      { endpoint: sick!.origin, reason: 'consecutive-failures', ejections: 1, durationMs: 30_000 },
    ]);
    expect(inventory.endpoints()[0]).toMatchObject({
      state: 'ejected',
      available: false,
      ejectedForMs: 30_000,
    });

    for (let i = 0; i < 10; i++) await getItem();
    expect(sick!.requests).toHaveLength(5);

    await clock.advance(30_000);
    // The trial succeeds (the replica is well again); it is back in full rotation.
    for (let i = 0; i < 30; i++) await getItem();
    expect(events.of('endpoint-readmitted')).toMatchObject([
      { endpoint: sick!.origin, ejected: 0 },
    ]);
    expect(inventory.endpoints()[0]).toMatchObject({ state: 'active', available: true });
    expect(sick!.requests.length).toBeGreaterThan(6);
  });

  it('never ejects more than maxEjectionPercent of the replicas, even when they all fail', async () => {
    const clock = new FakeClock();
    const servers = await replicas(4, { clock, fallback: fault.respond(503) });
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      clock,
      retry: false,
      breaker: false,
      outlierDetection: { maxEjectionPercent: 50 },
      listener: events.listener,
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    for (let i = 0; i < 60; i++) await getItem().catch(() => undefined);
    expect(inventory.endpoints().filter((e) => e.state === 'ejected')).toHaveLength(2);
    expect(events.of('endpoint-ejected').map((e) => e.ejected)).toEqual([1, 2]);
    // The two left in rotation took every call once the others were out.
    expect(hits(servers).reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('makes readiness warn while a replica is out, and fail when none takes calls', async () => {
    const clock = new FakeClock();
    const [sick, healthy] = await replicas(2, { clock });
    sick!.script(...fault.burst(5, 503));
    const inventory = client({
      name: 'inventory',
      endpoints: [sick!.origin, healthy!.origin],
      clock,
      retry: { backoff: constantBackoff(0) },
    });
    const health = healthRegistry({ clock, cacheMs: 0 });
    health.register(inventory.readinessCheck());
    expect((await health.readiness()).status).toBe('pass');

    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    while (sick!.requests.length < 5) await getItem();
    const degraded = await health.readiness({ detailed: true });
    expect(degraded.status).toBe('warn');
    expect(degraded.httpStatus).toBe(200);
    expect(degraded.body.checks['inventory:endpoints']).toEqual([
      expect.objectContaining({
        status: 'warn',
        observedValue: 1,
        output: `1 of 2 endpoints take calls; ${sick!.origin} ejected`,
      }),
    ]);

    inventory.breakers!.isolate(healthy!.origin);
    const down = await health.readiness({ detailed: true });
    expect(down.status).toBe('fail');
    expect(down.httpStatus).toBe(503);
    expect(down.body.checks['inventory:endpoints']![0]).toMatchObject({
      observedValue: 0,
      output: `0 of 2 endpoints take calls; ${sick!.origin} ejected, ${healthy!.origin} isolated`,
    });

    inventory.breakers!.reset(healthy!.origin);
    await clock.advance(30_000);
    expect((await health.readiness()).status).toBe('pass');
    health.close();
  });

  it('answers a call no endpoint can take at once, with NoEndpointsAvailableError', async () => {
    const [a, b] = await replicas(2);
    const inventory = client({ name: 'inventory', endpoints: [a!.origin, b!.origin] });
    inventory.breakers!.isolate(a!.origin);
    inventory.breakers!.isolate(b!.origin);
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    await expect(getItem()).rejects.toMatchObject({
      name: 'NoEndpointsAvailableError',
      code: 'BULWARK_NO_ENDPOINTS',
      endpoints: 2,
    });
    expect(hits([a!, b!])).toEqual([0, 0]);
  });
});
