/**
 * The page in a real headless Chromium (Debian's package, driven by playwright-core), over a real
 * Express service whose real policies call a real downstream on loopback. The ticks and the
 * browser run on real time: every wait has a deadline.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type { Page } from 'playwright-core';
import { combineListeners, pipeline } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { bulwark } from '@bulwark/express';
import { healthRegistry } from '@bulwark/health';
import { retry, retryBudget } from '@bulwark/retry';
import { prometheusListener } from '@bulwark/telemetry';
import { type Listening, type TestBrowser, listen, startChromium } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { type DashboardListener, dashboardListener } from './index.js';

/** Breaker: opens after 3 failures in a row, tries again after 1 s. */
const BREAK_MS = 1_000;
/** The page must show a change within this long of the breaker making it. */
const SHOWN_WITHIN_MS = 2_000;

/** Set BULWARK_SCREENSHOT=1 to refresh the README's picture; otherwise it goes to the temp dir. */
const SCREENSHOT =
  process.env.BULWARK_SCREENSHOT === '1'
    ? join(import.meta.dirname, '..', 'docs', 'dashboard.png')
    : join(tmpdir(), 'bulwark-dashboard-test.png');

interface Service {
  readonly url: string;
  readonly dashboard: DashboardListener;
  readonly breaker: ReturnType<typeof circuitBreaker>;
  close(): Promise<void>;
}

let downstream: Listening;
let failing = false;
let browser: TestBrowser;

beforeAll(async () => {
  downstream = await listen((req, res) => {
    if (failing) {
      res.writeHead(503).end('down');
      return;
    }
    const slow = req.url === '/slow';
    setTimeout(() => res.end('{"ok":true}'), slow ? 30 : 2);
  });
  browser = await startChromium();
});

afterAll(async () => {
  await browser?.close();
  await downstream?.close();
});

/** The service: Express with Bulwark's middleware, the dashboard mounted first. */
async function startService(port = 0): Promise<Service> {
  const registry = new Registry();
  const dashboard = dashboardListener({ title: 'orders service' });
  const listener = combineListeners(prometheusListener({ registry }), dashboard)!;
  const health = healthRegistry({ listener: dashboard });
  health.register({ name: 'inventory-reachable', check: () => (failing ? 'fail' : 'pass') });
  health.register({ name: 'event-loop', check: () => 'pass' });
  const breaker = circuitBreaker({
    name: 'inventory',
    key: downstream.url,
    strategy: consecutive({ threshold: 3 }),
    breakDurationMs: BREAK_MS,
    listener,
  });
  dashboard.observeBreakers(breaker);
  const budget = retryBudget();
  dashboard.observeRetryBudget(budget, { name: 'inventory' });
  const reports = bulkhead({ name: 'reports', limit: 4, queue: 4, listener });
  dashboard.observeBulkhead(reports, { name: 'reports' });
  const getItem = pipeline(
    { operation: 'inventory.get', listener },
    retry({ listener, maxAttempts: 2, budget, backoff: () => 5, classify: { error: () => true } }),
    breaker,
  );
  const getReport = pipeline({ operation: 'reports.build', listener }, reports);
  const call =
    (path: string) =>
    async ({ signal }: { signal: AbortSignal }) => {
      const response = await fetch(downstream.url + path, { signal });
      if (!response.ok)
        throw Object.assign(new Error(`status ${response.status}`), { status: response.status });
      return response.json();
    };

  const app = express();
  app.use(dashboard.handle);
  const middleware = bulwark({
    metrics: { registry },
    shedding: { limit: 64 },
    health: { registry: health },
  });
  app.use(middleware);
  dashboard.observeServer({ registry });
  app.get('/items/:id', async (_req, res) => {
    try {
      res.json(await getItem.execute(call('/item')));
    } catch {
      res.status(502).end();
    }
  });
  app.get('/report', async (_req, res) => {
    res.json(await getReport.execute(call('/slow')));
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    url,
    dashboard,
    breaker,
    close: () =>
      new Promise<void>((resolve) => {
        dashboard.close();
        middleware.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function drive(service: Service, count: number, path = '/items/1'): Promise<void> {
  for (let i = 0; i < count; i++) await fetch(service.url + path).then((r) => r.arrayBuffer());
}

function cell(page: Page, table: string, name: string, key: string) {
  return page
    .locator(`#t-${table} tbody tr`, {
      has: page.locator('td[data-k="name"]', { hasText: new RegExp(`^${name}$`) }),
    })
    .locator(`td[data-k="${key}"]`);
}

/** Waits (real time, with a deadline) until the page's cell reads `expected`. */
async function shows(
  page: Page,
  locator: ReturnType<typeof cell>,
  expected: string,
  within: number,
) {
  await expect
    .poll(async () => ((await locator.count()) > 0 ? locator.textContent() : undefined), {
      timeout: within,
      interval: 50,
    })
    .toBe(expected);
}

/** The calls the metrics endpoint counts for an operation, every outcome. */
async function metricCalls(service: Service, operation: string): Promise<[number, number]> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  let calls = 0;
  let failures = 0;
  for (const m of text.matchAll(
    /^bulwark_calls_total\{operation="([^"]*)",outcome="([^"]*)"\} (\d+)$/gm,
  )) {
    if (m[1] !== operation) continue;
    calls += Number(m[3]);
    if (m[2] !== 'success') failures += Number(m[3]);
  }
  return [calls, failures];
}

describe('the page in a real browser', () => {
  it('shows a breaker open within two seconds, closed again after recovery, the metrics’ numbers, and reconnects after a restart', async () => {
    let service = await startService();
    const page = await browser.newPage();
    try {
      await drive(service, 20);
      await drive(service, 4, '/report');
      await page.goto(`${service.url}/bulwark`);
      await shows(page, page.locator('#live'), 'live', 5_000);
      await shows(page, cell(page, 'breakers', 'inventory', 'state'), 'closed', 3_000);

      // The downstream fails: three failures open the breaker.
      failing = true;
      await drive(service, 3);
      expect(service.breaker.state).toBe('open');
      const opened = performance.now();
      await shows(page, cell(page, 'breakers', 'inventory', 'state'), 'open', SHOWN_WITHIN_MS);
      expect(performance.now() - opened).toBeLessThan(SHOWN_WITHIN_MS);
      await expect
        .poll(() => cell(page, 'breakers', 'inventory', 'state').getAttribute('data-tone'))
        .toBe('bad');
      expect(await cell(page, 'breakers', 'inventory', 'detail').textContent()).toMatch(
        /^next trial in \d+ (ms|s)$|^open for/,
      );
      await drive(service, 5); // rejected fast while open

      // Recovery: after the break, a trial call succeeds and the breaker closes.
      failing = false;
      await new Promise((resolve) => setTimeout(resolve, BREAK_MS + 50));
      await drive(service, 2);
      expect(service.breaker.state).toBe('closed');
      const closed = performance.now();
      await shows(page, cell(page, 'breakers', 'inventory', 'state'), 'closed', SHOWN_WITHIN_MS);
      expect(performance.now() - closed).toBeLessThan(SHOWN_WITHIN_MS);

      // Traffic stops: after the next tick the page shows what /metrics shows.
      const [calls, failures] = await metricCalls(service, 'inventory.get');
      expect(calls).toBe(30);
      await shows(page, cell(page, 'operations', 'inventory.get', 'calls'), String(calls), 3_000);
      await shows(
        page,
        cell(page, 'operations', 'inventory.get', 'failures'),
        String(failures),
        3_000,
      );
      // Checks run when probed, as a load balancer or Kubernetes would.
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      await shows(page, cell(page, 'health', 'inventory-reachable', 'status'), 'pass', 3_000);
      expect(await page.locator('#t-operations td.chart canvas').count()).toBeGreaterThan(0);

      // The service restarts on the same port: the stream reconnects to the new process.
      const port = Number(new URL(service.url).port);
      await service.close();
      await shows(page, page.locator('#live'), 'reconnecting…', 3_000);
      service = await startService(port);
      await drive(service, 7);
      await shows(page, page.locator('#live'), 'live', 5_000);
      await shows(page, cell(page, 'operations', 'inventory.get', 'calls'), '7', 4_000);
      // The new process's breaker never changed state: its operation's row reads it closed.
      expect(service.breaker.state).toBe('closed');
      await shows(page, cell(page, 'operations', 'inventory.get', 'breaker'), 'closed', 3_000);

      await drive(service, 12);
      await drive(service, 3, '/report');
      await fetch(`${service.url}/readyz`);
      await shows(page, cell(page, 'operations', 'inventory.get', 'calls'), '19', 4_000);
      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      // Wide enough for the downstream table's every column, which scrolls in a narrower window.
      await page.setViewportSize({ width: 1600, height: 900 });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.close();
      await service.close();
    }
  }, 60_000);

  it('renders the current snapshot with JavaScript off', async () => {
    const service = await startService();
    const context = await browser.context.browser()?.newContext({ javaScriptEnabled: false });
    // A persistent context cannot open another; a page with scripts blocked by route does the same.
    const page = context === undefined ? await browser.newPage() : await context.newPage();
    try {
      if (context === undefined) {
        await page.route('**/*.js', (route) => route.abort());
      }
      await drive(service, 4);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await page.goto(`${service.url}/bulwark`);
      expect(await page.locator('#live').textContent()).toBe('snapshot');
      expect(await cell(page, 'operations', 'inventory.get', 'calls').textContent()).toBe('4');
      expect(await cell(page, 'breakers', 'inventory', 'state').textContent()).toBe('closed');
    } finally {
      await page.close();
      await context?.close();
      await service.close();
    }
  }, 30_000);
});
