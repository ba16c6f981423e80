import { constantBackoff } from '@bulwark/retry';
import { httpAnswerFor } from '@bulwark/server';
import { FakeClock, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { Events, client, hits, replicas } from './test-helpers.js';

const fresh = (body: unknown, cacheControl: string) =>
  fault.respond(200, { body, headers: { 'cache-control': cacheControl } });

describe('the cache', () => {
  it('answers a fresh hit without any replica, whichever replica stored it', async () => {
    const clock = new FakeClock();
    const servers = await replicas(2, { clock });
    for (const server of servers)
      server.script(fresh({ id: 1 }, 'max-age=60'), fresh({ id: 2 }, 'max-age=60'));
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      clock,
      cache: {},
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/:id' });
    expect(await getItem({ params: { id: 1 } })).toEqual({ id: 1 });
    expect(await getItem({ params: { id: 1 } })).toEqual({ id: 1 });
    expect(await getItem({ params: { id: 2 } })).toMatchObject({
      id: expect.any(Number) as number,
    });
    expect(hits(servers).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('serves a stale response when every replica fails, before the fallback is asked', async () => {
    const clock = new FakeClock();
    // Every replica answers until t = 1 s, and fails from then on.
    const servers = await replicas(2, {
      clock,
      fallback: () =>
        clock.now() < 1_000
          ? fresh({ id: 1, stale: false }, 'max-age=1, stale-if-error=600')
          : fault.respond(503),
    });
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      clock,
      cache: {},
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      listener: events.listener,
    });
    const getItem = inventory.operation({
      name: 'getItem',
      path: '/items/:id',
      fallback: { value: { id: 0, fallback: true } },
    });
    expect(await getItem({ params: { id: 1 } })).toEqual({ id: 1, stale: false });
    await clock.advance(2_000);
    expect(await getItem({ params: { id: 1 } })).toEqual({ id: 1, stale: false });
    expect(events.of('cache-stale-served')).toMatchObject([{ reason: 'stale-if-error' }]);
    // Nothing stored for this one: the fallback answers.
    expect(await getItem({ params: { id: 2 } })).toEqual({ id: 0, fallback: true });
    expect(events.of('fallback')).toMatchObject([{ outcome: 'success', name: 'inventory' }]);
  });
});

describe('errors a handler can hand straight back', () => {
  it('are answered by the server adapters: 502 for a failing service, 504 for a slow one, 503 with Retry-After when no endpoint is in rotation', async () => {
    const clock = new FakeClock();
    const [failing] = await replicas(1, { clock, fallback: fault.respond(503) });
    const inventory = client({
      name: 'inventory',
      endpoints: [failing!.origin],
      clock,
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    const exhausted = await getItem().catch((e: unknown) => e);
    expect(httpAnswerFor(exhausted)).toMatchObject({
      statusCode: 502,
      body: { type: 'urn:bulwark:dependency-failed' },
    });

    const [hanging] = await replicas(1, { clock, fallback: fault.hang() });
    const slow = client({
      name: 'slow',
      endpoints: [hanging!.origin],
      clock,
      timeoutMs: 100,
      retry: false,
    });
    const slowCall = slow
      .operation({ name: 'get', path: '/' })()
      .catch((e: unknown) => e);
    await hanging!.waitForRequests(1);
    await clock.advance(100);
    expect(httpAnswerFor(await slowCall)).toMatchObject({ statusCode: 504 });

    inventory.breakers!.isolate(failing!.origin);
    const none = await getItem().catch((e: unknown) => e);
    expect(httpAnswerFor(none)).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': '1' },
      body: { type: 'urn:bulwark:dependency-unavailable' },
    });
  });
});
