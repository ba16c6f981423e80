import { constantBackoff } from '@bulwark/retry';
import { type FaultServer, FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { client, hits, replicas, seeded, until } from './test-helpers.js';

const total = (servers: readonly FaultServer[]) => hits(servers).reduce((a, b) => a + b, 0);

describe('balancing over real replicas', () => {
  it('sends calls to the faster of two replicas once it has measured both (P2C over Peak EWMA)', async () => {
    const clock = new FakeClock();
    const [fast, slow] = await replicas(2, { clock });
    fast!.script(
      ...Array.from({ length: 40 }, () => fault.latency(10, fault.respond(200, { body: {} }))),
    );
    slow!.script(
      ...Array.from({ length: 40 }, () => fault.latency(100, fault.respond(200, { body: {} }))),
    );
    const servers = [fast!, slow!];
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      clock,
      random: seeded(7),
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    // One call at a time, the clock moved to the moment the server that got it answers.
    const callOnce = async () => {
      const fastBefore = fast!.requests.length;
      const before = total(servers);
      const call = getItem();
      await until(() => total(servers) > before);
      await clock.advance(fast!.requests.length > fastBefore ? 10 : 100);
      await call;
    };
    for (let i = 0; i < 24; i++) await callOnce();
    const [fastHits, slowHits] = hits(servers);
    // Each replica's first answer is left out of its estimate, so both are measured within the
    // first few calls; from then on the slow one is not chosen.
    expect(slowHits).toBeLessThanOrEqual(3);
    expect(fastHits).toBeGreaterThanOrEqual(21);
    const [fastView, slowView] = inventory.endpoints();
    expect(fastView!.latencyMs).toBeCloseTo(10, 0);
    // Its estimate decays while it gets no calls, but stays far above the fast one's.
    expect(slowView!.latencyMs).toBeGreaterThan(90);
  });

  it('sends a retry to another replica than the attempt it follows', async () => {
    const servers = await replicas(3);
    // Every replica fails its first request: a retry that went back to the same one would succeed.
    for (const server of servers) server.script(fault.respond(503));
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      retry: { maxAttempts: 3, backoff: constantBackoff(0) },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    await expect(getItem()).rejects.toMatchObject({
      code: 'BULWARK_RETRIES_EXHAUSTED',
      attempts: 3,
      lastStatus: 503,
    });
    expect(hits(servers)).toEqual([1, 1, 1]);
    // Each attempt says which it is.
    const attempts = servers.map((s) => s.requests[0]!.headers['x-bulwark-attempt']).sort();
    expect(attempts).toEqual(['1', '2', '3']);
  });

  it('goes back to a replica it tried only when no other is in rotation', async () => {
    const servers = await replicas(2);
    for (const server of servers) server.script(fault.respond(503));
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      retry: { maxAttempts: 3, backoff: constantBackoff(0) },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    // Attempts 1 and 2 on each replica once (503 both); attempt 3 on the one tried first.
    await expect(getItem()).resolves.toEqual({ ok: true });
    expect(hits(servers).sort()).toEqual([1, 2]);
  });

  it('sends a hedge to another replica than the attempt it hedges', async () => {
    const servers = await replicas(2);
    for (const server of servers)
      server.script(fault.latency(30, fault.respond(200, { body: { ok: 1 } })));
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      hedge: { delay: 0 },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1', hedge: true });
    await expect(getItem()).resolves.toEqual({ ok: 1 });
    expect(hits(servers)).toEqual([1, 1]);
  });

  it('spreads concurrent calls over every replica, weighing the calls each has in flight', async () => {
    const servers = await replicas(3);
    for (const server of servers)
      server.script(...Array.from({ length: 30 }, () => fault.latency(20, fault.respond(200))));
    const inventory = client({ name: 'inventory', endpoints: servers.map((s) => s.origin) });
    const ping = inventory.operation({ name: 'ping', path: '/ping' });
    await Promise.all(Array.from({ length: 30 }, () => ping()));
    for (const count of hits(servers)) expect(count).toBeGreaterThanOrEqual(5);
  });
});
