import { EventEmitter } from 'node:events';
import { gracefulShutdown, healthRegistry } from '@bulwark/health';
import { FakeClock, latch } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';

export function healthContract(h: Harness): void {
  describe('health routes', () => {
    it('answers /livez, /readyz and /startupz in application/health+json', async () => {
      const health = healthRegistry();
      health.register({ name: 'db', check: () => 'fail', kind: 'readiness' });
      const app = await h.start({ health: { registry: health } });
      const live = await fetch(`${app.url}/livez`);
      expect(live.status).toBe(200);
      expect(live.headers.get('content-type')).toBe('application/health+json');
      expect(live.headers.get('cache-control')).toBe('no-store');
      expect(await live.json()).toEqual({ status: 'pass', checks: {} });
      const ready = await fetch(`${app.url}/readyz?verbose=1`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'fail', checks: { db: [{ status: 'fail' }] } });
      expect((await fetch(`${app.url}/startupz`)).status).toBe(200);
      const head = await fetch(`${app.url}/livez`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    });

    it('answers the three views in application/health+json at default or configured paths', async () => {
      const health = healthRegistry();
      health.register({ name: 'cache', check: () => 'fail', kind: 'readiness', critical: false });
      const app = await h.start({
        health: { registry: health, paths: { startup: '/started', liveness: false } },
      });
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.headers.get('content-type')).toBe('application/health+json');
      expect(await ready.json()).toEqual({
        status: 'warn',
        checks: { cache: [{ status: 'fail' }] },
      });
      expect((await fetch(`${app.url}/started`)).status).toBe(200);
      expect((await fetch(`${app.url}/livez`)).status).toBe(404);
      const head = await fetch(`${app.url}/readyz`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    });

    it('serves views at configured paths and leaves out those set to false', async () => {
      const app = await h.start({
        health: { paths: { liveness: '/health/live', readiness: false } },
      });
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(404);
      expect((await fetch(`${app.url}/livez`, { method: 'POST' })).status).toBe(404);
    });

    it('shows details only when asked to', async () => {
      const detailed = await h.start({
        health: { registry: healthRegistry({ version: '1.2.3' }), detailed: true },
      });
      const plain = await h.start({ health: { registry: healthRegistry({ version: '1.2.3' }) } });
      const shown = (await (await fetch(`${detailed.url}/livez`)).json()) as { version?: string };
      expect(shown.version).toBe('1.2.3');
      const hidden = (await (await fetch(`${plain.url}/livez`)).json()) as { version?: string };
      expect(hidden.version).toBeUndefined();
    });

    it('never correlates health probes', async () => {
      const app = await h.start();
      const res = await fetch(`${app.url}/livez`, { headers: { 'x-request-id': 'probe-1' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBeNull();
    });
  });

  describe('health under failure and shutdown', () => {
    it('answers /readyz 503 fail when a check hangs past its timeout, instead of hanging the probe', async () => {
      const clock = new FakeClock();
      const started = latch();
      const health = healthRegistry({ clock });
      health.register({
        name: 'db',
        kind: 'readiness',
        timeoutMs: 1_000,
        check: () => {
          started.open();
          return new Promise<never>(() => {});
        },
      });
      const app = await h.start({ health: { registry: health } });
      const probe = fetch(`${app.url}/readyz`);
      await started.promise;
      await clock.advance(1_000);
      const res = await probe;
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'fail', checks: { db: [{ status: 'fail' }] } });
    });

    it('on SIGTERM fails readiness, drains the request in flight, then closes the server', async () => {
      const clock = new FakeClock();
      const signals = new EventEmitter();
      const health = healthRegistry();
      const started = latch();
      const held = latch();
      const app = await h.start(
        { health: { registry: health } },
        {
          routes: [
            {
              method: 'GET',
              path: '/work',
              handler: async () => {
                started.open();
                await held.promise;
                return { body: 'finished' };
              },
            },
          ],
        },
      );
      const shutdown = gracefulShutdown({
        server: app.server,
        registry: health,
        close: app.shutdown,
        signalSource: signals,
        clock,
        readinessDelayMs: 1_000,
        drainTimeoutMs: 5_000,
      });
      const inFlight = fetch(`${app.url}/work`);
      await started.promise;
      signals.emit('SIGTERM');
      expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
      await clock.advance(1_000);
      expect(shutdown.state).toBe('draining');
      expect(app.server.listening).toBe(false);
      held.open();
      expect(await (await inFlight).text()).toBe('finished');
      expect(await shutdown.shutdown()).toMatchObject({ reason: 'SIGTERM', forced: false });
      expect(shutdown.state).toBe('closed');
    });
  });
}
