import { BrokenCircuitError, TimeoutError } from '@bulwark/core';
import { latch } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ContractRoute } from './adapter.js';
import type { Harness } from './harness.js';

const COUNT = 'bulwark_http_server_request_duration_seconds_count{method="GET",route=';

function failing(path: string, error: () => Error, prefix?: string): ContractRoute {
  return {
    method: 'GET',
    path,
    prefix,
    handler: () => {
      throw error();
    },
  };
}

export function metricsContract(h: Harness): void {
  describe('metrics', () => {
    it('serves the registry at /metrics with request durations by route template', async () => {
      const registry = new Registry();
      const app = await h.start(
        { metrics: { registry }, shedding: { limit: 10 } },
        {
          routes: [
            {
              method: 'GET',
              path: '/:id',
              prefix: '/users',
              handler: (request) => ({ body: { id: request.params.id } }),
            },
            { method: 'GET', path: '/teapot', handler: () => ({ status: 418 }) },
          ],
        },
      );
      for (const path of ['/users/1', '/users/2', '/teapot', '/nowhere', '/livez']) {
        await (await fetch(app.url + path)).text();
      }
      // Four requests the metrics count, and the probe they leave out.
      await app.ended(5);
      const res = await fetch(`${app.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(registry.contentType);
      const text = await res.text();
      expect(text).toContain(`${COUNT}"/users/:id",status_code="200"} 2`);
      expect(text).toContain(`${COUNT}"/teapot",status_code="418"} 1`);
      expect(text).toContain(`${COUNT}"",status_code="404"} 1`);
      // The shedding bulkhead's own gauges, from @bulwark/telemetry.
      expect(text).toContain('bulwark_bulkhead_limit{policy="http-server"} 10');
      // Probes and scrapes are not the service's traffic.
      expect(text).not.toContain('route="/livez"');
      expect(text).not.toContain('route="/metrics"');
    });

    it('labels failed requests by route template: a Bulwark error, an unknown error, a 404', async () => {
      const registry = new Registry();
      const app = await h.start(
        { metrics: { registry } },
        {
          routes: [
            failing(
              '/orders/:id',
              () => new BrokenCircuitError('circuit is open', 'payments', 1000),
            ),
            failing('/crash/:id', () => new Error('boom')),
            failing('/users/:id', () => new TimeoutError(50), '/api'),
            failing('/broken/:id', () => new Error('boom'), '/api'),
          ],
        },
      );
      const paths = ['/orders/1', '/crash/2', '/api/users/3', '/api/broken/4', '/nowhere'];
      const statuses = [];
      for (const path of paths) statuses.push((await fetch(app.url + path)).status);
      expect(statuses).toEqual([503, 500, 504, 500, 404]);
      await app.ended(paths.length);
      const text = await (await fetch(`${app.url}/metrics`)).text();
      expect(text).toContain(`${COUNT}"/orders/:id",status_code="503"} 1`);
      expect(text).toContain(`${COUNT}"/crash/:id",status_code="500"} 1`);
      expect(text).toContain(`${COUNT}"/api/users/:id",status_code="504"} 1`);
      expect(text).toContain(`${COUNT}"/api/broken/:id",status_code="500"} 1`);
      expect(text).toContain(`${COUNT}"",status_code="404"} 1`);
      expect(text).not.toContain('undefined');
    });

    it('records without a route when the path is false', async () => {
      const registry = new Registry();
      const app = await h.start({ metrics: { registry, path: false } });
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
      await app.ended(1);
      expect(await registry.metrics()).toContain('route="",status_code="404"} 1');
    });

    it('counts a request whose client left before the answer as 499, once', async () => {
      const registry = new Registry();
      const held = latch();
      const started = latch();
      const app = await h.start(
        { metrics: { registry } },
        {
          routes: [
            {
              method: 'GET',
              path: '/hang',
              handler: async () => {
                started.open();
                await held.promise;
                return { body: 'late' };
              },
            },
          ],
        },
      );
      const controller = new AbortController();
      const hung = fetch(`${app.url}/hang`, { signal: controller.signal });
      await started.promise;
      controller.abort();
      await expect(hung).rejects.toThrow();
      await app.ended(1);
      expect(await registry.metrics()).toContain('route="/hang",status_code="499"} 1');
      held.open();
      // The late answer, if it finishes at all, is not counted a second time.
      expect(await (await fetch(`${app.url}/metrics`)).text()).not.toContain('status_code="200"');
    });

    it('leaves the registry when the app closes, so a new app can use it', async () => {
      const registry = new Registry();
      await h.start({ metrics: { registry } });
      await h.closeApps();
      expect(await registry.metrics()).not.toContain(
        'bulwark_http_server_request_duration_seconds',
      );
      const second = await h.start({ metrics: { registry } });
      expect((await fetch(`${second.url}/metrics`)).status).toBe(200);
    });
  });
}
