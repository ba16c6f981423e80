import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_REQUEST_SERIES,
  MAX_ROUTES,
  RequestMetrics,
  SERIES_LIMIT_WARNING,
} from './request-metrics.js';

const BUCKETS = [0.01, 0.1, 1];

function lines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

describe('RequestMetrics', () => {
  it('records request durations as a cumulative histogram by method, route and status', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, 'app_', BUCKETS);
    metrics.observe('GET', '/users/:id', 200, 0.005);
    metrics.observe('GET', '/users/:id', 200, 0.05);
    metrics.observe('GET', '/users/:id', 200, 5);
    metrics.observe('POST', '/users', 201, 0.2);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE app_http_server_request_duration_seconds histogram');
    expect(lines(text, 'app_http_server_request_duration_seconds_bucket{method="GET"')).toEqual([
      'app_http_server_request_duration_seconds_bucket{method="GET",route="/users/:id",status_code="200",le="0.01"} 1',
      'app_http_server_request_duration_seconds_bucket{method="GET",route="/users/:id",status_code="200",le="0.1"} 2',
      'app_http_server_request_duration_seconds_bucket{method="GET",route="/users/:id",status_code="200",le="1"} 2',
      'app_http_server_request_duration_seconds_bucket{method="GET",route="/users/:id",status_code="200",le="+Inf"} 3',
    ]);
    expect(text).toContain(
      'app_http_server_request_duration_seconds_sum{method="GET",route="/users/:id",status_code="200"} 5.055',
    );
    expect(text).toContain(
      'app_http_server_request_duration_seconds_count{method="POST",route="/users",status_code="201"} 1',
    );
  });

  it('folds methods outside the standard set into method="other"', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, '', BUCKETS);
    metrics.observe('PROPFIND', '', 404, 0.001);
    metrics.observe('BREW', '', 404, 0.001);
    const text = await registry.metrics();
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="other",route="",status_code="404"} 2',
    );
  });

  it(`records at most ${MAX_ROUTES} routes; later ones and overlong ones count as route="other"`, async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, '', BUCKETS);
    for (let i = 0; i < MAX_ROUTES + 5; i++) metrics.observe('GET', `/r${i}`, 200, 0.001);
    metrics.observe('GET', `/${'x'.repeat(300)}`, 200, 0.001);
    const text = await registry.metrics();
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="other",status_code="200"} 6',
    );
    expect(text).not.toContain(`route="/r${MAX_ROUTES}"`);
    expect(text).toContain(`route="/r${MAX_ROUTES - 1}"`);
  });

  it('keeps at most maxSeries series; later combinations share one series labelled other, with one warning', async () => {
    const registry = new Registry();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      if ((warning as { code?: string }).code === SERIES_LIMIT_WARNING) warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const metrics = new RequestMetrics(registry, '', BUCKETS, 3);
      metrics.observe('GET', '/a', 200, 0.001);
      metrics.observe('GET', '/a', 404, 0.001);
      metrics.observe('POST', '/a', 201, 0.001);
      // Three series: each later combination, and a repeat of one, goes to the shared series.
      metrics.observe('GET', '/b', 200, 0.001);
      metrics.observe('DELETE', '/a', 204, 0.001);
      metrics.observe('GET', '/b', 200, 0.001);
      metrics.observe('GET', '/a', 200, 0.001);
      await new Promise((resolve) => setImmediate(resolve));
      const counts = lines(await registry.metrics(), 'http_server_request_duration_seconds_count');
      expect(counts).toEqual([
        'http_server_request_duration_seconds_count{method="GET",route="/a",status_code="200"} 2',
        'http_server_request_duration_seconds_count{method="GET",route="/a",status_code="404"} 1',
        'http_server_request_duration_seconds_count{method="POST",route="/a",status_code="201"} 1',
        'http_server_request_duration_seconds_count{method="other",route="other",status_code="other"} 3',
      ]);
      expect(warnings.map((w) => w.message)).toEqual([
        'http_server_request_duration_seconds has reached metrics.maxSeries (3): new combinations of method, route and status code are counted under "other"',
      ]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it(`keeps ${DEFAULT_MAX_REQUEST_SERIES} series by default`, async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, '', BUCKETS);
    for (let i = 0; i < 4; i++) {
      for (let r = 0; r < 600; r++) metrics.observe('GET', `/r${r}`, 200 + i, 0.001);
    }
    const counts = lines(await registry.metrics(), 'http_server_request_duration_seconds_count');
    expect(counts).toHaveLength(DEFAULT_MAX_REQUEST_SERIES + 1);
    expect(counts.at(-1)).toBe(
      'http_server_request_duration_seconds_count{method="other",route="other",status_code="other"} 400',
    );
  });

  it('records an impossible status code as 0', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, '', BUCKETS);
    metrics.observe('GET', '/', 1234, 0.001);
    expect(await registry.metrics()).toContain('status_code="0"} 1');
  });

  it('counts refusals by reason', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, 'svc_', BUCKETS);
    metrics.shed('limit');
    metrics.shed('limit');
    metrics.shed('event-loop-delay');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE svc_http_server_shed_total counter');
    expect(text).toContain('svc_http_server_shed_total{reason="limit"} 2');
    expect(text).toContain('svc_http_server_shed_total{reason="event-loop-delay"} 1');
  });

  it('zeroes its series on registry.resetMetrics()', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, '', BUCKETS);
    metrics.observe('GET', '/', 200, 0.001);
    metrics.shed('limit');
    registry.resetMetrics();
    const text = await registry.metrics();
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="/",status_code="200"} 0',
    );
    expect(text).toContain('http_server_shed_total{reason="limit"} 0');
  });

  it('refuses a registry that already holds a metric of the same name', () => {
    const registry = new Registry();
    new RequestMetrics(registry, 'x_', BUCKETS);
    expect(() => new RequestMetrics(registry, 'x_', BUCKETS)).toThrow(
      'a metric named x_http_server_request_duration_seconds is already registered in this registry: give Bulwark another metrics prefix',
    );
  });

  it('leaves the registry when unregistered, so a new instance can register again', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry, 'x_', BUCKETS);
    metrics.unregister();
    expect(await registry.metrics()).not.toContain('x_http_server');
    expect(() => new RequestMetrics(registry, 'x_', BUCKETS)).not.toThrow();
  });
});
