import { adaptiveLimit } from '@bulwark/bulkhead';
import type { PressureReading } from '@bulwark/server/internal';
import { FakeClock, latch } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ContractRoute } from './adapter.js';
import { type Harness, UUID_V7, problem } from './harness.js';

/**
 * A route that notes each run and holds it until `held` opens: every run of a fixed path, and
 * only the one named "first" of a `/:name` path.
 */
function heldRoute(path: string, held: { promise: Promise<void> }, seen: string[]): ContractRoute {
  return {
    method: 'GET',
    path,
    handler: async (request) => {
      const name = request.params.name;
      seen.push(name ?? path);
      if (name === undefined || name === 'first') await held.promise;
      return { body: name ?? path };
    },
  };
}

const calm: PressureReading = {
  eventLoopDelayMs: 0,
  eventLoopUtilization: 0,
  heapUsedBytes: 0,
  heapLimitBytes: 1,
  rssBytes: 0,
};

export function sheddingContract(h: Harness): void {
  describe('load shedding', () => {
    it('answers a flood with quick 503s and Retry-After while health routes still answer', async () => {
      const held = latch();
      const running: string[] = [];
      const app = await h.start(
        { shedding: { limit: 2 } },
        { routes: [heldRoute('/work', held, running)] },
      );
      const slow = [fetch(`${app.url}/work`), fetch(`${app.url}/work`)];
      await app.arrived(2);
      expect(running).toHaveLength(2);
      const flood = await Promise.all(Array.from({ length: 30 }, () => fetch(`${app.url}/work`)));
      expect(flood.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 503));
      expect(flood[0]!.headers.get('retry-after')).toBe('1');
      expect(await problem(flood[0]!)).toMatchObject({ type: 'urn:bulwark:overloaded' });
      // A refused request is still correlated: its answer carries the ID.
      expect(flood[1]!.headers.get('x-request-id')).toMatch(UUID_V7);
      expect((await fetch(`${app.url}/livez`)).status).toBe(200);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      held.open();
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      expect((await fetch(`${app.url}/work`)).status).toBe(200);
    });

    it('gives the slot back after answers, errors and 404s', async () => {
      const app = await h.start(
        { shedding: { limit: 1 } },
        {
          routes: [
            { method: 'GET', path: '/ok', handler: () => ({ body: 'ok' }) },
            {
              method: 'GET',
              path: '/fail',
              handler: () => {
                throw new Error('boom');
              },
            },
          ],
        },
      );
      for (let i = 0; i < 5; i++) {
        expect((await fetch(`${app.url}/ok`)).status).toBe(200);
        expect((await fetch(`${app.url}/fail`)).status).toBe(500);
        expect((await fetch(`${app.url}/missing`)).status).toBe(404);
      }
    });

    it('gives the slot back when the client goes away before the answer', async () => {
      const held = latch();
      const started: string[] = [];
      const app = await h.start(
        { shedding: { limit: 1 } },
        {
          routes: [
            heldRoute('/hang', held, started),
            { method: 'GET', path: '/ok', handler: () => ({ body: 'ok' }) },
          ],
        },
      );
      const controller = new AbortController();
      const hung = fetch(`${app.url}/hang`, { signal: controller.signal });
      await app.arrived(1);
      expect(started).toHaveLength(1);
      expect((await fetch(`${app.url}/ok`)).status).toBe(503);
      controller.abort();
      await expect(hung).rejects.toThrow();
      // The refused /ok ended first; the hung request's end gave its slot back.
      await app.ended(2);
      expect((await fetch(`${app.url}/ok`)).status).toBe(200);
      held.open();
    });

    it('lets requests wait in a bounded queue, in order, and refuses past it', async () => {
      const held = latch();
      const order: string[] = [];
      const app = await h.start(
        { shedding: { limit: 1, queue: 1 } },
        { routes: [heldRoute('/:name', held, order)] },
      );
      const first = fetch(`${app.url}/first`);
      await app.arrived(1);
      const second = fetch(`${app.url}/second`);
      // Queued by the time its arrival is counted.
      await app.arrived(2);
      const third = await fetch(`${app.url}/third`);
      expect(third.status).toBe(503);
      held.open();
      expect(await (await first).text()).toBe('first');
      expect(await (await second).text()).toBe('second');
      expect(order).toEqual(['first', 'second']);
    });

    it('takes a queued request out of the queue when its client goes away', async () => {
      const held = latch();
      const seen: string[] = [];
      const app = await h.start(
        { shedding: { limit: 1, queue: 1 } },
        { routes: [heldRoute('/:name', held, seen)] },
      );
      const first = fetch(`${app.url}/first`);
      await app.arrived(1);
      const controller = new AbortController();
      const leaving = fetch(`${app.url}/leaving`, { signal: controller.signal });
      await app.arrived(2);
      expect((await fetch(`${app.url}/refused`)).status).toBe(503);
      controller.abort();
      await expect(leaving).rejects.toThrow();
      await app.ended(2);
      // The queue place is free again: this one waits instead of being refused.
      const third = fetch(`${app.url}/third`);
      await app.arrived(4);
      held.open();
      expect((await first).status).toBe(200);
      expect(await (await third).text()).toBe('third');
      expect(seen).toEqual(['first', 'third']);
    });
  });

  describe('load shedding by limit kind and pressure', () => {
    it('refuses past an adaptive limit, through the bulkhead policy', async () => {
      const held = latch();
      const running: string[] = [];
      const app = await h.start(
        { shedding: { limit: adaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 1 }) } },
        { routes: [heldRoute('/', held, running)] },
      );
      const first = fetch(app.url);
      await app.arrived(1);
      expect(running).toHaveLength(1);
      const refused = await fetch(app.url);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      held.open();
      expect((await first).status).toBe(200);
      expect((await fetch(app.url)).status).toBe(200);
    });

    it('refuses while the process is under pressure, and stops once it is not', async () => {
      const clock = new FakeClock();
      let reading = calm;
      const registry = new Registry();
      const app = await h.start(
        {
          clock,
          metrics: { registry },
          shedding: { maxHeapUsedRatio: 0.8, sampleIntervalMs: 3000 },
        },
        {
          probe: { start: () => {}, read: () => reading, stop: () => {} },
          routes: [{ method: 'GET', path: '/', handler: () => ({ body: 'ok' }) }],
        },
      );
      expect((await fetch(app.url)).status).toBe(200);
      reading = { ...calm, heapUsedBytes: 9, heapLimitBytes: 10 };
      await clock.advance(3000);
      const refused = await fetch(app.url);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('3');
      // Why it was shed is the metrics' business, not the caller's.
      const text = await refused.clone().text();
      expect(text).not.toContain('heap');
      expect(await problem(refused)).toMatchObject({ type: 'urn:bulwark:overloaded' });
      expect((await fetch(`${app.url}/livez`)).status).toBe(200);
      expect(await registry.metrics()).toContain('bulwark_http_server_shed_total{reason="heap"} 1');
      reading = calm;
      await clock.advance(3000);
      expect((await fetch(app.url)).status).toBe(200);
    });
  });
}
