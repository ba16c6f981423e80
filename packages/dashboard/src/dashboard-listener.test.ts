import { afterEach, describe, expect, it } from 'vitest';
import { combineListeners, pipeline } from '@bulwark/core';
import { circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { bulkhead } from '@bulwark/bulkhead';
import { retry, retryBudget } from '@bulwark/retry';
import { healthRegistry } from '@bulwark/health';
import { prometheusListener } from '@bulwark/telemetry';
import { FakeClock, settle } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { type DashboardListener, type DashboardOptions, dashboardListener } from './index.js';
import type { RowView, Snapshot, TableView } from './view.js';

const open: DashboardListener[] = [];
afterEach(() => {
  for (const listener of open.splice(0)) listener.close();
});

function make(options: DashboardOptions = {}): { dashboard: DashboardListener; clock: FakeClock } {
  const clock = new FakeClock();
  const dashboard = dashboardListener({ clock, ...options });
  open.push(dashboard);
  return { dashboard, clock };
}

function table(snapshot: Snapshot, id: string): TableView {
  const found = snapshot.tables.find((t) => t.id === id);
  if (found === undefined) throw new Error(`no table ${id}`);
  return found;
}

function row(snapshot: Snapshot, tableId: string, name: string): RowView {
  const found = table(snapshot, tableId).rows.find((r) => r.cells.name?.text === name);
  if (found === undefined) throw new Error(`no row ${name} in ${tableId}`);
  return found;
}

function text(r: RowView, key: string): string | undefined {
  return r.cells[key]?.text;
}

function call(operation: string, outcome: 'success' | 'failure', durationMs: number) {
  return {
    type: 'call' as const,
    policy: 'pipeline' as const,
    name: undefined,
    operation,
    outcome,
    durationMs,
    error: outcome === 'failure' ? new Error('boom') : undefined,
  };
}

describe('dashboardListener', () => {
  it('turns a tick of calls into a rate, a success ratio, percentiles and totals', async () => {
    const { dashboard, clock } = make();
    for (let i = 0; i < 90; i++) dashboard(call('inventory.get', 'success', 10));
    for (let i = 0; i < 10; i++) dashboard(call('inventory.get', 'failure', 200));
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'operations', 'inventory.get');
    expect(text(r, 'rate')).toBe('100');
    expect(text(r, 'success')).toBe('90.0%');
    expect(r.cells.success?.tone).toBe('bad');
    // Bucket upper bounds: within a fifth of the true value.
    expect(Number(text(r, 'p50'))).toBeGreaterThanOrEqual(10);
    expect(Number(text(r, 'p50'))).toBeLessThan(12);
    expect(Number(text(r, 'p99'))).toBeGreaterThanOrEqual(200);
    expect(Number(text(r, 'p99'))).toBeLessThan(240);
    expect(text(r, 'calls')).toBe('100');
    expect(text(r, 'failures')).toBe('10');
  });

  it('shows no figure of a tick before it ends, and a quiet tick as a zero rate', async () => {
    const { dashboard, clock } = make();
    dashboard(call('a', 'success', 1));
    const early = row(dashboard.snapshot(), 'operations', 'a');
    expect([text(early, 'rate'), text(early, 'p50'), text(early, 'calls')]).toEqual([
      '–',
      '–',
      '0',
    ]);
    await clock.advance(1_000);
    expect(text(row(dashboard.snapshot(), 'operations', 'a'), 'rate')).toBe('1.0');
    await clock.advance(1_000);
    const quiet = row(dashboard.snapshot(), 'operations', 'a');
    expect(text(quiet, 'rate')).toBe('0');
    expect(text(quiet, 'success')).toBe('–');
    expect(text(quiet, 'calls')).toBe('1');
  });

  it('records a real pipeline’s successes through the bindSuccess fast path, combined with Prometheus', async () => {
    const { dashboard, clock } = make();
    const registry = new Registry();
    const listener = combineListeners(prometheusListener({ registry }), dashboard);
    const policy = pipeline(
      { operation: 'stock.read', listener },
      retry({ listener, maxAttempts: 2, clock }),
    );
    for (let i = 0; i < 25; i++) await policy.execute(() => Promise.resolve(1));
    await policy
      .execute(() => Promise.reject(new Error('no')))
      .then(
        () => undefined,
        () => undefined,
      );
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'operations', 'stock.read');
    const metrics = await registry.getSingleMetricAsString('bulwark_calls_total');
    const total = [...metrics.matchAll(/operation="stock\.read".* (\d+)$/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(26);
    expect(text(r, 'calls')).toBe(String(total));
    expect(text(r, 'failures')).toBe('1');
  });

  it('shows a breaker’s state as it changes, coloured, with the time until its trial when observed', async () => {
    const { dashboard, clock } = make();
    const breaker = circuitBreaker({
      name: 'payments',
      strategy: consecutive({ threshold: 2 }),
      breakDurationMs: 5_000,
      listener: dashboard,
      clock,
    });
    dashboard.observeBreakers(breaker);
    const policy = pipeline({ operation: 'payments.charge', listener: dashboard }, breaker);
    await clock.advance(1_000);
    expect(row(dashboard.snapshot(), 'breakers', 'payments').cells.state).toEqual({
      text: 'closed',
      tone: 'ok',
    });
    for (let i = 0; i < 3; i++) {
      await policy.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    }
    await clock.advance(1_000);
    const opened = row(dashboard.snapshot(), 'breakers', 'payments');
    expect(opened.cells.state).toEqual({ text: 'open', tone: 'bad' });
    expect(text(opened, 'detail')).toBe('next trial in 4 s');
    expect(text(opened, 'rejected')).toBe('1.0');
    expect(text(opened, 'opened')).toBe('1');
    expect(row(dashboard.snapshot(), 'operations', 'payments.charge').cells.breaker).toEqual({
      text: 'open',
      tone: 'bad',
    });
    await clock.advance(5_000);
    await policy.execute(() => Promise.resolve('ok'));
    await clock.advance(1_000);
    expect(row(dashboard.snapshot(), 'breakers', 'payments').cells.state).toEqual({
      text: 'closed',
      tone: 'ok',
    });
  });

  it('shows a healthy breaker as closed in its operation’s row, as the metrics do from its creation', async () => {
    const { dashboard, clock } = make();
    const registry = new Registry();
    const listener = combineListeners(prometheusListener({ registry }), dashboard);
    const breaker = circuitBreaker({ name: 'payments', listener, clock });
    const policy = pipeline({ operation: 'payments.charge', listener }, breaker);
    for (let i = 0; i < 3; i++) await policy.execute(() => Promise.resolve('ok'));
    await clock.advance(1_000);
    expect(row(dashboard.snapshot(), 'operations', 'payments.charge').cells.breaker).toEqual({
      text: 'closed',
      tone: 'ok',
    });
    expect(await registry.getSingleMetricAsString('bulwark_breaker_state')).toMatch(
      /^bulwark_breaker_state\{policy="payments",origin="",state="closed"\} 1$/m,
    );
  });

  it('counts retries, budget exhaustion and rejections per second over the window', async () => {
    const { dashboard, clock } = make({ latencyWindowSeconds: 2 });
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000, clock });
    dashboard.observeRetryBudget(budget, { name: 'inventory' });
    const policy = pipeline(
      { operation: 'inventory.get', listener: dashboard },
      retry({
        listener: dashboard,
        maxAttempts: 3,
        budget,
        backoff: () => 0,
        classify: { error: () => true },
        clock,
      }),
    );
    for (let i = 0; i < 2; i++) {
      await policy.execute(() => Promise.reject(new Error('flaky'))).catch(() => undefined);
    }
    await clock.advance(1_000);
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'operations', 'inventory.get');
    // One retry granted by the reserve, then the budget was empty: two give-ups over 2 s.
    expect(text(r, 'retries')).toBe('0.5');
    expect(text(r, 'exhausted')).toBe('1.0');
    expect(r.cells.exhausted?.tone).toBe('bad');
    expect(row(dashboard.snapshot(), 'budgets', 'inventory').cells.available).toEqual({
      text: '0',
      tone: 'bad',
    });
  });

  it('counts hedges per second, the cache’s hit ratio and its stale answers over the window', async () => {
    const { dashboard, clock } = make({ latencyWindowSeconds: 2 });
    const base = { name: undefined, operation: 'catalog.get' } as const;
    const cache = {
      ...base,
      policy: 'cache',
      method: 'GET',
      url: 'https://catalog/items/1',
    } as const;
    for (let i = 0; i < 6; i++) {
      dashboard({
        ...base,
        type: 'hedge-started',
        policy: 'hedging',
        attempt: 2,
        delayMs: 20,
        trigger: 'delay',
      });
    }
    for (let i = 0; i < 3; i++) dashboard({ ...cache, type: 'cache-hit', ageSeconds: 1 });
    dashboard({ ...cache, type: 'cache-miss', reason: 'uri-miss' });
    dashboard({
      ...cache,
      type: 'cache-stale-served',
      reason: 'stale-while-revalidate',
      ageSeconds: 5,
      error: undefined,
    });
    // The origin failed after a miss: the stale answer is no second lookup.
    dashboard({ ...cache, type: 'cache-miss', reason: 'stale' });
    dashboard({
      ...cache,
      type: 'cache-stale-served',
      reason: 'stale-if-error',
      ageSeconds: 9,
      error: 503,
    });
    await clock.advance(1_000);
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'operations', 'catalog.get');
    // Over the 2 s window: 6 hedges, 2 stale answers; 3 hits of 6 lookups.
    expect(text(r, 'hedges')).toBe('3.0');
    expect(text(r, 'stale')).toBe('1.0');
    expect(text(r, 'cache')).toBe('50.0%');
  });

  it('shows a half-open breaker’s trials passed when it is observed', async () => {
    const { dashboard, clock } = make();
    const breaker = circuitBreaker({
      name: 'search',
      strategy: consecutive({ threshold: 1 }),
      breakDurationMs: 1_000,
      halfOpenTrials: 2,
      listener: dashboard,
      clock,
    });
    dashboard.observeBreakers(breaker);
    const policy = pipeline({ operation: 'search.query', listener: dashboard }, breaker);
    await policy.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await clock.advance(1_000);
    await policy.execute(() => Promise.resolve('ok'));
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'breakers', 'search');
    expect(r.cells.state).toEqual({ text: 'half-open', tone: 'warn' });
    expect(text(r, 'detail')).toBe('1 of 2 trials passed');
    expect(row(dashboard.snapshot(), 'operations', 'search.query').cells.breaker).toEqual({
      text: 'half-open',
      tone: 'warn',
    });
  });

  it('shows an observed bulkhead’s slots in use and its rejections', async () => {
    const { dashboard, clock } = make();
    const limit = bulkhead({ name: 'reports', limit: 1, listener: dashboard, clock });
    dashboard.observeBulkhead(limit, { name: 'reports' });
    let release!: () => void;
    const held = limit.execute(() => new Promise<void>((r) => (release = r)));
    await limit.execute(() => Promise.resolve()).catch(() => undefined);
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'bulkheads', 'reports');
    expect(r.cells.inUse).toEqual({ text: '1 / 1', tone: 'warn' });
    expect(r.cells.rejected).toEqual({ text: '1.0', tone: 'bad' });
    release();
    await held;
  });

  it('shows an observed bulkhead’s calls queued now and queued per second', async () => {
    const { dashboard, clock } = make();
    const limit = bulkhead({ name: 'exports', limit: 1, queue: 2, listener: dashboard, clock });
    dashboard.observeBulkhead(limit, { name: 'exports' });
    let release!: () => void;
    const held = limit.execute(() => new Promise<void>((r) => (release = r)));
    const waiting = [limit.execute(() => 'a'), limit.execute(() => 'b')];
    await clock.advance(1_000);
    const r = row(dashboard.snapshot(), 'bulkheads', 'exports');
    expect(text(r, 'inUse')).toBe('1 / 1');
    expect(text(r, 'queued')).toBe('2');
    expect(text(r, 'queuedRate')).toBe('2.0');
    release();
    await held;
    await Promise.all(waiting);
    await clock.advance(1_000);
    const after = row(dashboard.snapshot(), 'bulkheads', 'exports');
    expect([text(after, 'inUse'), text(after, 'queued'), text(after, 'queuedRate')]).toEqual([
      '0 / 1',
      '0',
      '0',
    ]);
  });

  it('shows each health check’s last status from the registry’s events', async () => {
    const { dashboard, clock } = make();
    const health = healthRegistry({ listener: dashboard, clock, cacheMs: 0 });
    health.register({ name: 'database', critical: true, check: () => 'fail' });
    health.register({ name: 'warm-up', check: () => 'pass' });
    await health.readiness();
    await clock.advance(1_000);
    expect(row(dashboard.snapshot(), 'health', 'database').cells.status).toEqual({
      text: 'fail',
      tone: 'bad',
    });
    expect(row(dashboard.snapshot(), 'health', 'warm-up').cells.status?.tone).toBe('ok');
  });

  it('counts idempotency replays and conflicts from the gate’s events', async () => {
    const { dashboard, clock } = make();
    // As @bulwark/idempotency reports them (its IdempotencyDecisionEvent).
    const replay = {
      type: 'idempotency-decision',
      outcome: 'replay',
      method: 'POST',
      error: undefined,
    } as const;
    for (let i = 0; i < 3; i++) dashboard(replay);
    dashboard({ ...replay, outcome: 'conflict' } as const);
    await clock.advance(1_000);
    const replays = row(dashboard.snapshot(), 'server', 'idempotent replays');
    expect(text(replays, 'now')).toBe('3');
    expect(text(replays, 'rate')).toBe('3.0');
    expect(row(dashboard.snapshot(), 'server', 'idempotency conflicts (409)').cells.now).toEqual({
      text: '1',
      tone: 'warn',
    });
  });

  it('keeps at most maxOperations rows and counts the rest under "other"', async () => {
    const { dashboard, clock } = make({ maxOperations: 3 });
    for (let i = 0; i < 1_000; i++) dashboard(call(`op-${i}`, 'success', 1));
    await clock.advance(1_000);
    const rows = table(dashboard.snapshot(), 'operations');
    expect(rows.rows.map((r) => r.cells.name?.text)).toEqual(['op-0', 'op-1', 'op-2', 'other']);
    expect(text(rows.rows[3]!, 'calls')).toBe('997');
    expect(rows.note).toMatch(/^997 more operations counted under “other”/);
  });

  it('keeps at most maxBreakers breakers and says how many it left out', async () => {
    const { dashboard, clock } = make({ maxBreakers: 2 });
    for (let i = 0; i < 5; i++) {
      dashboard({
        type: 'breaker-created',
        policy: 'circuit-breaker',
        name: 'per-host',
        operation: undefined,
        key: `https://host-${i}.example`,
        state: 'closed',
      });
    }
    await clock.advance(1_000);
    const breakers = table(dashboard.snapshot(), 'breakers');
    expect(breakers.rows).toHaveLength(2);
    expect(breakers.note).toBe('3 more breakers not shown: the page keeps at most 2.');
  });

  it('never shows a query string, credentials or control characters from a name', async () => {
    const { dashboard, clock } = make();
    // Sentinels that a random boot id (hex) or a timestamp can never contain.
    dashboard(
      call('GET https://user:zsecretz@api.example.com/items?ztokenz=zqvaluez#x', 'success', 1),
    );
    dashboard({
      type: 'breaker-created',
      policy: 'circuit-breaker',
      name: undefined,
      operation: undefined,
      key: 'https://api.example.com/?zapikeyz=zqnumberz',
      state: 'closed',
    });
    dashboard(call('evil\u202e\u0007name', 'success', 1));
    await clock.advance(1_000);
    const json = JSON.stringify(dashboard.snapshot());
    expect(json).not.toMatch(/zsecretz|ztokenz|zqvaluez|zapikeyz|zqnumberz|\\u202e|\\u0007/);
    expect(json).toContain('GET https://api.example.com/items');
    expect(json).toContain('evilname');
  });

  it('gives events that name an endpoint rows of their own under their operation', async () => {
    const { dashboard, clock } = make();
    dashboard({ ...call('orders.get', 'success', 5), endpoint: 'http://10.0.0.1:8080' } as never);
    dashboard({ ...call('orders.get', 'failure', 5), endpoint: 'http://10.0.0.2:8080' } as never);
    dashboard({
      type: 'endpoint-ejected',
      policy: 'service-client',
      name: 'orders',
      operation: 'orders.get',
      endpoint: 'http://10.0.0.2:8080',
      reason: 'consecutive-failures',
      ejections: 1,
      durationMs: 30_000,
      ejected: 1,
      endpoints: 2,
    });
    await clock.advance(1_000);
    const names = table(dashboard.snapshot(), 'operations').rows.map((r) => r.cells.name?.text);
    expect(names).toEqual(['orders.get', '→ http://10.0.0.1:8080', '→ http://10.0.0.2:8080']);
    expect(row(dashboard.snapshot(), 'endpoints', 'http://10.0.0.2:8080').cells.state).toEqual({
      text: 'ejected',
      tone: 'bad',
    });
    dashboard({
      type: 'endpoint-readmitted',
      policy: 'service-client',
      name: 'orders',
      operation: 'orders.get',
      endpoint: 'http://10.0.0.2:8080',
      ejected: 0,
      endpoints: 2,
    });
    await clock.advance(1_000);
    expect(row(dashboard.snapshot(), 'endpoints', 'http://10.0.0.2:8080').cells.state).toEqual({
      text: 'in rotation',
      tone: 'ok',
    });
  });

  it('keeps the same memory however many ticks pass: a fixed history per row', async () => {
    const { dashboard, clock } = make({ historySeconds: 5 });
    dashboard(call('a', 'success', 1));
    for (let i = 0; i < 20; i++) await clock.advance(1_000);
    const response = await fetchFull(dashboard);
    expect(response.history.at).toHaveLength(5);
    expect(Object.values(response.history.rows)[0]![0]).toHaveLength(5);
  });

  it.each([
    [{ path: 'bulwark' }, TypeError, /expected path to be an absolute URL path/],
    [{ path: '/' }, TypeError, /expected path to be an absolute URL path/],
    [{ path: '/bulwark/' }, TypeError, /expected path/],
    [{ authorize: true }, TypeError, /expected authorize to be a function/],
    [
      { intervalMs: 10 },
      RangeError,
      /expected intervalMs to be an integer between 100 and 60000, got 10/,
    ],
    [{ maxOperations: 0 }, RangeError, /maxOperations/],
    [{ maxViewers: 1.5 }, RangeError, /maxViewers/],
    [{ historySeconds: 86_400, intervalMs: 100 }, RangeError, /at most 10000 points/],
    [{ maxOperation: 5 }, TypeError, /did you mean "maxOperations"/],
  ])('rejects bad options at construction: %o', (options, type, message) => {
    expect(() => dashboardListener(options as DashboardOptions)).toThrow(type);
    expect(() => dashboardListener(options as DashboardOptions)).toThrow(message);
  });

  it('rejects what it cannot observe, naming what was expected', () => {
    const { dashboard } = make();
    expect(() => dashboard.observeBulkhead({} as never, { name: 'x' })).toThrow(
      /expected bulkhead to have numeric active, queued and limit, got an object/,
    );
    expect(() => dashboard.observeBreakers({} as never)).toThrow(/expected a circuit breaker/);
    expect(() => dashboard.observeServer({ registry: 5 as never })).toThrow(
      /expected registry to be a prom-client Registry, got 5/,
    );
    expect(() => dashboard.observeRetryBudget({ available: 1 }, { name: '' })).toThrow(
      /expected name to be a non-empty string/,
    );
  });
});

/** The full frame a page gets first, through the listener's own handler. */
async function fetchFull(dashboard: DashboardListener) {
  const { listen } = await import('@bulwark/testing');
  const served = await listen((req, res) => {
    dashboard.handle(req, res);
  });
  try {
    const html = await (await fetch(`${served.url}/bulwark`)).text();
    const json = /<script type="application\/json" id="bulwark-data">(.*?)<\/script>/s.exec(
      html,
    )![1]!;
    await settle();
    return JSON.parse(json) as { history: { at: number[]; rows: Record<string, number[][]> } };
  } finally {
    await served.close();
  }
}
