import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  type PolicyEvent,
  type SuccessTemplate,
  TimeoutError,
  bindSuccess,
  pipeline,
} from '@bulwark/core';
import { constantBackoff, retry, retryBudget } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import {
  Counter,
  type OpenMetricsContentType,
  Registry,
  register as globalRegister,
} from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CounterFamily, HistogramFamily } from './metric-family.js';
import { DEFAULT_MAX_SERIES, prometheusListener } from './prometheus-listener.js';

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/** The sample lines of a scrape (no HELP/TYPE comments, no blank lines), in order. */
async function samples(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

function sleep(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

describe('prometheusListener: a scripted run scraped from a real registry', () => {
  it('shows exactly the expected series', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, buckets: [0.05, 0.5] });
    const clock = new FakeClock();

    // get-user: two attempts fail after 20 ms each, the third succeeds; 100 ms between attempts.
    const users = pipeline(
      { operation: 'get-user', listener: metrics, clock },
      retry({ name: 'users', listener: metrics, clock, backoff: constantBackoff(100) }),
    );
    let n = 0;
    const first = users.execute(async () => {
      await sleep(clock, 20);
      if (++n < 3) throw reset();
      return 'ok';
    });
    await clock.runAll();
    await expect(first).resolves.toBe('ok');

    // get-user again: every attempt fails, the policy gives up after 3.
    const second = users.execute(async () => {
      await sleep(clock, 20);
      throw reset();
    });
    const secondFailed = expect(second).rejects.toThrow('socket hang up');
    await clock.runAll();
    await secondFailed;

    // place-order: an empty retry budget stops the first retry.
    const orders = pipeline(
      { operation: 'place-order', listener: metrics, clock },
      retry({
        name: 'orders',
        listener: metrics,
        clock,
        budget: retryBudget({ ratio: 0, minRetriesPerSecond: 0, clock }),
      }),
    );
    await expect(orders.execute(() => Promise.reject(reset()))).rejects.toThrow('socket hang up');

    // search: failures Bulwark names by their error.
    const search = pipeline({ operation: 'search', listener: metrics, clock });
    await expect(search.execute(() => Promise.reject(new TimeoutError(500)))).rejects.toThrow();
    await expect(search.execute(() => Promise.reject(new BrokenCircuitError()))).rejects.toThrow();

    // What the breaker, bulkhead and timeout policies report, as they report it.
    const origin = 'https://api.example.com';
    const scripted: PolicyEvent[] = [
      {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'search',
        key: origin,
        from: 'closed',
        to: 'open',
      },
      {
        type: 'breaker-rejected',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'search',
        key: origin,
        state: 'open',
      },
      {
        type: 'breaker-rejected',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'search',
        key: origin,
        state: 'open',
      },
      {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: undefined,
        operation: 'search',
        key: origin,
        from: 'open',
        to: 'half-open',
      },
      {
        type: 'bulkhead-queued',
        policy: 'bulkhead',
        name: 'db',
        operation: 'search',
        active: 4,
        queued: 1,
      },
      {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: 'db',
        operation: 'search',
        reason: 'full',
        active: 4,
        queued: 2,
        limit: 4,
      },
      {
        type: 'bulkhead-limit',
        policy: 'bulkhead',
        name: 'db',
        operation: undefined,
        from: 4,
        to: 6,
      },
      { type: 'timeout', policy: 'timeout', name: undefined, operation: 'search', timeoutMs: 500 },
      {
        type: 'deadline-exceeded',
        policy: 'timeout',
        name: 'budget',
        operation: 'search',
        budgetMs: 2000,
      },
    ];
    scripted.forEach(metrics);

    expect(await samples(registry)).toEqual([
      'bulwark_calls_total{operation="get-user",outcome="success"} 1',
      'bulwark_calls_total{operation="get-user",outcome="failure"} 1',
      'bulwark_calls_total{operation="place-order",outcome="failure"} 1',
      'bulwark_calls_total{operation="search",outcome="timeout"} 1',
      'bulwark_calls_total{operation="search",outcome="circuit-open"} 1',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="success",le="0.05"} 0',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="success",le="0.5"} 1',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="success",le="+Inf"} 1',
      'bulwark_call_duration_seconds_sum{operation="get-user",outcome="success"} 0.26',
      'bulwark_call_duration_seconds_count{operation="get-user",outcome="success"} 1',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="failure",le="0.05"} 0',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="failure",le="0.5"} 1',
      'bulwark_call_duration_seconds_bucket{operation="get-user",outcome="failure",le="+Inf"} 1',
      'bulwark_call_duration_seconds_sum{operation="get-user",outcome="failure"} 0.26',
      'bulwark_call_duration_seconds_count{operation="get-user",outcome="failure"} 1',
      'bulwark_call_duration_seconds_bucket{operation="place-order",outcome="failure",le="0.05"} 1',
      'bulwark_call_duration_seconds_bucket{operation="place-order",outcome="failure",le="0.5"} 1',
      'bulwark_call_duration_seconds_bucket{operation="place-order",outcome="failure",le="+Inf"} 1',
      'bulwark_call_duration_seconds_sum{operation="place-order",outcome="failure"} 0',
      'bulwark_call_duration_seconds_count{operation="place-order",outcome="failure"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="timeout",le="0.05"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="timeout",le="0.5"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="timeout",le="+Inf"} 1',
      'bulwark_call_duration_seconds_sum{operation="search",outcome="timeout"} 0',
      'bulwark_call_duration_seconds_count{operation="search",outcome="timeout"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="circuit-open",le="0.05"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="circuit-open",le="0.5"} 1',
      'bulwark_call_duration_seconds_bucket{operation="search",outcome="circuit-open",le="+Inf"} 1',
      'bulwark_call_duration_seconds_sum{operation="search",outcome="circuit-open"} 0',
      'bulwark_call_duration_seconds_count{operation="search",outcome="circuit-open"} 1',
      'bulwark_attempts_total{policy="users",operation="get-user",outcome="failure"} 5',
      'bulwark_attempts_total{policy="users",operation="get-user",outcome="success"} 1',
      'bulwark_attempts_total{policy="orders",operation="place-order",outcome="failure"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="failure",le="0.05"} 5',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="failure",le="0.5"} 5',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="failure",le="+Inf"} 5',
      'bulwark_attempt_duration_seconds_sum{policy="users",operation="get-user",outcome="failure"} 0.1',
      'bulwark_attempt_duration_seconds_count{policy="users",operation="get-user",outcome="failure"} 5',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="success",le="0.05"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="success",le="0.5"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="users",operation="get-user",outcome="success",le="+Inf"} 1',
      'bulwark_attempt_duration_seconds_sum{policy="users",operation="get-user",outcome="success"} 0.02',
      'bulwark_attempt_duration_seconds_count{policy="users",operation="get-user",outcome="success"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="orders",operation="place-order",outcome="failure",le="0.05"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="orders",operation="place-order",outcome="failure",le="0.5"} 1',
      'bulwark_attempt_duration_seconds_bucket{policy="orders",operation="place-order",outcome="failure",le="+Inf"} 1',
      'bulwark_attempt_duration_seconds_sum{policy="orders",operation="place-order",outcome="failure"} 0',
      'bulwark_attempt_duration_seconds_count{policy="orders",operation="place-order",outcome="failure"} 1',
      'bulwark_retries_total{policy="users",operation="get-user",delay_source="backoff"} 4',
      'bulwark_retry_gave_up_total{policy="users",operation="get-user",reason="max-attempts"} 1',
      'bulwark_retry_gave_up_total{policy="orders",operation="place-order",reason="budget-exhausted"} 1',
      `bulwark_breaker_state{policy="circuit-breaker",origin="${origin}",state="closed"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",origin="${origin}",state="open"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",origin="${origin}",state="half-open"} 1`,
      `bulwark_breaker_state{policy="circuit-breaker",origin="${origin}",state="isolated"} 0`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",origin="${origin}",from="closed",to="open"} 1`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",origin="${origin}",from="open",to="half-open"} 1`,
      `bulwark_breaker_rejected_total{policy="circuit-breaker",origin="${origin}",state="open"} 2`,
      'bulwark_bulkhead_queued_total{policy="db",operation="search"} 1',
      'bulwark_bulkhead_rejected_total{policy="db",operation="search",reason="full"} 1',
      'bulwark_bulkhead_limit{policy="db"} 6',
      'bulwark_timeouts_total{policy="timeout",operation="search"} 1',
      'bulwark_deadline_exceeded_total{policy="budget",operation="search"} 1',
    ]);
  });

  it('writes HELP and TYPE for every metric, following Prometheus conventions', async () => {
    const registry = new Registry();
    prometheusListener({ registry });
    const text = await registry.metrics();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(
      ([, name, type]) => `${name} ${type}`,
    );
    expect(types).toEqual([
      'bulwark_calls_total counter',
      'bulwark_call_duration_seconds histogram',
      'bulwark_attempts_total counter',
      'bulwark_attempt_duration_seconds histogram',
      'bulwark_retries_total counter',
      'bulwark_retry_gave_up_total counter',
      'bulwark_breaker_state gauge',
      'bulwark_breaker_transitions_total counter',
      'bulwark_breaker_rejected_total counter',
      'bulwark_bulkhead_queued_total counter',
      'bulwark_bulkhead_rejected_total counter',
      'bulwark_bulkhead_in_flight gauge',
      'bulwark_bulkhead_queue_length gauge',
      'bulwark_bulkhead_limit gauge',
      'bulwark_timeouts_total counter',
      'bulwark_deadline_exceeded_total counter',
      'bulwark_cache_lookups_total counter',
      'bulwark_cache_stale_served_total counter',
      'bulwark_cache_revalidations_total counter',
      'bulwark_cache_coalesced_total counter',
      'bulwark_cache_stored_total counter',
      'bulwark_cache_not_stored_total counter',
      'bulwark_cache_invalidations_total counter',
      'bulwark_cache_store_errors_total counter',
      'bulwark_rate_limit_granted_total counter',
      'bulwark_rate_limit_queued_total counter',
      'bulwark_rate_limit_rejected_total counter',
      'bulwark_rate_limit_store_errors_total counter',
      'bulwark_hedges_total counter',
      'bulwark_hedge_wins_total counter',
      'bulwark_hedge_cancelled_attempts_total counter',
      'bulwark_fallbacks_total counter',
      'bulwark_endpoint_ejections_total counter',
      'bulwark_endpoints_ejected gauge',
      'bulwark_endpoints gauge',
      'bulwark_endpoint_in_flight gauge',
      'bulwark_endpoint_refresh_failures_total counter',
      'bulwark_chaos_injections_total counter',
      'bulwark_health_check_status gauge',
      'bulwark_health_status gauge',
      'bulwark_telemetry_series_dropped_total counter',
    ]);
    expect(text.match(/^# HELP /gm)).toHaveLength(41);
    // What promtool's metric lint checks: snake_case names, a HELP for each, counters ending in
    // _total and nothing else, durations in base units (seconds).
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      expect(name!.endsWith('_total')).toBe(type === 'counter');
      if (type === 'histogram') expect(name).toMatch(/_seconds$/);
      expect(name).not.toMatch(/_(milliseconds|ms|count|sum|bucket)$/);
    }
  });
});

describe('prometheusListener: labels', () => {
  afterEach(() => vi.restoreAllMocks());

  const call = (operation: string | undefined, error?: unknown): PolicyEvent => ({
    type: 'call',
    policy: 'pipeline',
    name: undefined,
    operation,
    outcome: error === undefined ? 'success' : 'failure',
    durationMs: 12,
    error,
  });

  it('names each Bulwark failure in the outcome label', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    [
      undefined,
      new Error('plain'),
      new TimeoutError(100),
      new DeadlineExceededError(1000),
      new CancelledError(),
      new BrokenCircuitError(),
      new BulkheadRejectedError('full', 1, 0),
      new Response(null, { status: 503 }),
    ].forEach((error) => metrics(call('op', error)));
    expect((await samples(registry)).filter((l) => l.startsWith('bulwark_calls_total'))).toEqual([
      'bulwark_calls_total{operation="op",outcome="success"} 1',
      'bulwark_calls_total{operation="op",outcome="failure"} 2',
      'bulwark_calls_total{operation="op",outcome="timeout"} 1',
      'bulwark_calls_total{operation="op",outcome="deadline-exceeded"} 1',
      'bulwark_calls_total{operation="op",outcome="cancelled"} 1',
      'bulwark_calls_total{operation="op",outcome="circuit-open"} 1',
      'bulwark_calls_total{operation="op",outcome="bulkhead-rejected"} 1',
    ]);
  });

  it('uses the policy kind when a policy has no name, and an empty operation when none is set', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    metrics({
      type: 'timeout',
      policy: 'timeout',
      name: undefined,
      operation: undefined,
      timeoutMs: 5,
    });
    metrics(call(undefined));
    const lines = await samples(registry);
    expect(lines).toContain('bulwark_timeouts_total{policy="timeout",operation=""} 1');
    expect(lines).toContain('bulwark_calls_total{operation="",outcome="success"} 1');
  });

  it('counts interleaved operations and policies each in their own series', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const timeout = (name: string, operation: string): PolicyEvent => ({
      type: 'timeout',
      policy: 'timeout',
      name,
      operation,
      timeoutMs: 1,
    });
    for (let i = 0; i < 3; i++) {
      metrics(timeout('a', 'x'));
      metrics(timeout('a', 'y'));
      metrics(timeout('b', 'y'));
      metrics(call('x'));
      metrics(call('y'));
    }
    expect(await samples(registry)).toEqual(
      expect.arrayContaining([
        'bulwark_timeouts_total{policy="a",operation="x"} 3',
        'bulwark_timeouts_total{policy="a",operation="y"} 3',
        'bulwark_timeouts_total{policy="b",operation="y"} 3',
        'bulwark_calls_total{operation="x",outcome="success"} 3',
        'bulwark_calls_total{operation="y",outcome="success"} 3',
      ]),
    );
  });

  it('folds label values past maxLabelValues into "other", and keeps no memory per folded value', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, maxLabelValues: 2 });
    for (let i = 0; i < 1000; i++) metrics(call(`/users/${i}`));
    const lines = (await samples(registry)).filter((l) => l.startsWith('bulwark_calls_total'));
    expect(lines).toEqual([
      'bulwark_calls_total{operation="/users/0",outcome="success"} 1',
      'bulwark_calls_total{operation="/users/1",outcome="success"} 1',
      'bulwark_calls_total{operation="other",outcome="success"} 998',
    ]);
  });

  it('bounds the series of each metric: past maxSeries, new label combinations count under "other"', async () => {
    const registry = new Registry();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const metrics = prometheusListener({ registry });
    const failures = [
      undefined,
      new Error('plain'),
      new TimeoutError(100),
      new DeadlineExceededError(1000),
      new CancelledError(),
      new BrokenCircuitError(),
      new BulkheadRejectedError('full', 1, 0),
    ];
    // 100 operations (the label cap) by 7 outcomes: 700 combinations, twice each.
    for (let round = 0; round < 2; round++) {
      for (let op = 0; op < 100; op++) {
        for (const error of failures) metrics(call(`op-${op}`, error));
      }
    }
    const lines = await samples(registry);
    const calls = lines.filter((l) => l.startsWith('bulwark_calls_total{'));
    expect(calls).toHaveLength(DEFAULT_MAX_SERIES + 1);
    // Nothing is lost: the series still add up to every call.
    expect(calls.reduce((sum, line) => sum + Number(line.split(' ')[1]), 0)).toBe(1400);
    expect(calls.at(-1)).toBe('bulwark_calls_total{operation="other",outcome="other"} 400');
    const counts = lines.filter((l) => l.startsWith('bulwark_call_duration_seconds_count{'));
    expect(counts).toHaveLength(DEFAULT_MAX_SERIES + 1);
    expect(counts).toContain(
      'bulwark_call_duration_seconds_count{operation="other",outcome="other"} 400',
    );
    // Each refused combination is counted when a series is first looked for it.
    expect(lines.filter((l) => l.startsWith('bulwark_telemetry_series_dropped_total'))).toEqual([
      'bulwark_telemetry_series_dropped_total{metric="bulwark_call_duration_seconds"} 200',
      'bulwark_telemetry_series_dropped_total{metric="bulwark_calls_total"} 200',
    ]);
    // Once per metric, however many combinations it refused.
    expect(warn.mock.calls).toEqual([
      [
        'bulwark_call_duration_seconds has reached maxSeries: new label combinations are counted under "other" (see bulwark_telemetry_series_dropped_total)',
        { code: 'BULWARK_TELEMETRY_SERIES_LIMIT' },
      ],
      [
        'bulwark_calls_total has reached maxSeries: new label combinations are counted under "other" (see bulwark_telemetry_series_dropped_total)',
        { code: 'BULWARK_TELEMETRY_SERIES_LIMIT' },
      ],
    ]);
  });

  it('drops a gauge’s series past maxSeries instead, as one series of many sources means nothing', async () => {
    const registry = new Registry();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const metrics = prometheusListener({ registry, maxSeries: 8 });
    for (const key of ['a', 'b', 'c']) {
      metrics({
        type: 'breaker-created',
        policy: 'circuit-breaker',
        name: undefined,
        operation: undefined,
        key,
        state: 'closed',
      });
    }
    const states = (await samples(registry)).filter((l) => l.startsWith('bulwark_breaker_state'));
    expect(states).toHaveLength(8);
    expect(states.filter((l) => l.includes('state="closed"'))).toEqual([
      'bulwark_breaker_state{policy="circuit-breaker",origin="a",state="closed"} 1',
      'bulwark_breaker_state{policy="circuit-breaker",origin="b",state="closed"} 1',
    ]);
    expect(await samples(registry)).toContain(
      'bulwark_telemetry_series_dropped_total{metric="bulwark_breaker_state"} 4',
    );
    expect(warn).toHaveBeenCalledWith(
      'bulwark_breaker_state has reached maxSeries: new label combinations are not exported (see bulwark_telemetry_series_dropped_total)',
      { code: 'BULWARK_TELEMETRY_SERIES_LIMIT' },
    );
  });

  it('folds a label value longer than 128 characters, whatever the limit', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    metrics(call(`get-${'x'.repeat(200)}`));
    expect(await samples(registry)).toContain(
      'bulwark_calls_total{operation="other",outcome="success"} 1',
    );
  });

  it('escapes label values as the text format requires', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    metrics(call('say "hi"\\now'));
    expect(await samples(registry)).toContain(
      'bulwark_calls_total{operation="say \\"hi\\"\\\\now",outcome="success"} 1',
    );
  });

  it('resolves series once per label combination, not per event', () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const counterAt = vi.spyOn(CounterFamily.prototype, 'at');
    const histogramAt = vi.spyOn(HistogramFamily.prototype, 'at');
    const attempt: PolicyEvent = {
      type: 'attempt',
      policy: 'retry',
      name: 'users',
      operation: 'get-user',
      attempt: 1,
      outcome: 'success',
      durationMs: 3,
      error: undefined,
    };
    for (let i = 0; i < 100; i++) {
      metrics(call('get-user'));
      metrics(attempt);
    }
    expect(counterAt).toHaveBeenCalledTimes(2);
    expect(histogramAt).toHaveBeenCalledTimes(2);
    counterAt.mockRestore();
    histogramAt.mockRestore();
  });

  it('records through its fast path exactly what the whole events record', async () => {
    const fast = new Registry();
    const slow = new Registry();
    const viaPath = prometheusListener({ registry: fast });
    const viaEvents = prometheusListener({ registry: slow });
    expect(typeof viaPath[bindSuccess]).toBe('function');
    const durations = [0.2, 3, 40, 700, 12_000];
    const templates: SuccessTemplate[] = [
      {
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: 'get-user',
        outcome: 'success',
        error: undefined,
      },
      {
        type: 'attempt',
        policy: 'retry',
        name: 'users',
        operation: undefined,
        attempt: 1,
        outcome: 'success',
        error: undefined,
      },
    ];
    const recorders = templates.map((template) => viaPath[bindSuccess]!(template));
    // Nothing shows until the first report: binding alone creates no series.
    expect(await samples(fast)).toEqual(await samples(slow));
    for (const durationMs of durations) {
      for (const record of recorders) record(durationMs);
      for (const template of templates) viaEvents({ ...template, durationMs });
    }
    const lines = await samples(fast);
    expect(lines).toContain('bulwark_calls_total{operation="get-user",outcome="success"} 5');
    expect(lines).toContain(
      'bulwark_attempts_total{policy="users",operation="",outcome="success"} 5',
    );
    expect(lines).toEqual(await samples(slow));
  });

  it('folds the labels a fast path is bound to as events are folded', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, maxLabelValues: 1 });
    metrics(call('first'));
    metrics[bindSuccess]!({
      type: 'call',
      policy: 'pipeline',
      name: undefined,
      operation: 'second',
      outcome: 'success',
      error: undefined,
    })(1);
    expect((await samples(registry)).filter((l) => l.startsWith('bulwark_calls_total'))).toEqual([
      'bulwark_calls_total{operation="first",outcome="success"} 1',
      'bulwark_calls_total{operation="other",outcome="success"} 1',
    ]);
  });

  it('ignores an event type it does not know (from a newer @bulwark/core)', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    expect(() => metrics({ type: 'something-new' } as unknown as PolicyEvent)).not.toThrow();
    expect(await samples(registry)).toEqual([]);
  });
});

describe('prometheusListener: registries', () => {
  afterEach(() => {
    for (const metric of globalRegister.getMetricsAsArray()) {
      if (metric.name.startsWith('bulwark_global_')) globalRegister.removeSingleMetric(metric.name);
    }
  });

  it('records into prom-client’s global registry by default', async () => {
    const metrics = prometheusListener({ prefix: 'bulwark_global_' });
    metrics({ type: 'timeout', policy: 'timeout', name: 't', operation: 'op', timeoutMs: 5 });
    expect(await globalRegister.getSingleMetricAsString('bulwark_global_timeouts_total')).toContain(
      'bulwark_global_timeouts_total{policy="t",operation="op"} 1',
    );
  });

  it('returns the same listener for the same registry and prefix, so series are shared', () => {
    const registry = new Registry();
    expect(prometheusListener({ registry })).toBe(prometheusListener({ registry }));
    expect(prometheusListener({ registry, prefix: 'other_' })).not.toBe(
      prometheusListener({ registry }),
    );
  });

  it('refuses to share the series with a listener built with other buckets', () => {
    const registry = new Registry();
    prometheusListener({ registry });
    expect(() => prometheusListener({ registry, buckets: [1] })).toThrow(
      new Error(
        'the bulwark_* metrics are already registered in this registry with other buckets, maxLabelValues or maxSeries: use another prefix or registry',
      ),
    );
  });

  it('refuses a registry where a metric of the same name exists', () => {
    const registry = new Registry();
    new Counter({ name: 'bulwark_calls_total', help: 'mine', registers: [registry] });
    expect(() => prometheusListener({ registry })).toThrow(
      new Error('a metric named bulwark_calls_total is already registered in this registry'),
    );
  });

  it('registers again into a registry that was cleared', async () => {
    const registry = new Registry();
    const before = prometheusListener({ registry });
    registry.clear();
    const after = prometheusListener({ registry });
    expect(after).not.toBe(before);
    after({ type: 'timeout', policy: 'timeout', name: undefined, operation: 'x', timeoutMs: 1 });
    expect(await samples(registry)).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="x"} 1',
    ]);
  });

  it('zeroes its series on resetMetrics() and keeps counting after', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, buckets: [1] });
    const timeout: PolicyEvent = {
      type: 'timeout',
      policy: 'timeout',
      name: undefined,
      operation: 'x',
      timeoutMs: 1,
    };
    metrics(timeout);
    registry.resetMetrics();
    expect(await samples(registry)).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="x"} 0',
    ]);
    metrics(timeout);
    expect(await samples(registry)).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="x"} 1',
    ]);
  });

  it('adds the registry’s default labels and answers getMetricsAsJSON()', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'checkout' });
    const metrics = prometheusListener({ registry, buckets: [1] });
    metrics({ type: 'timeout', policy: 'timeout', name: undefined, operation: 'x', timeoutMs: 1 });
    expect(await samples(registry)).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="x",service="checkout"} 1',
    ]);
    const json = await registry.getMetricsAsJSON();
    const timeouts = json.find((m) => m.name === 'bulwark_timeouts_total')!;
    expect(timeouts.values).toEqual([
      { value: 1, labels: { policy: 'timeout', operation: 'x', service: 'checkout' } },
    ]);
  });

  it('renders OpenMetrics counters with one _total suffix, scrape after scrape', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = prometheusListener({ registry });
    metrics({ type: 'timeout', policy: 'timeout', name: undefined, operation: 'x', timeoutMs: 1 });
    for (let i = 0; i < 2; i++) {
      const text = await registry.metrics();
      expect(text).toContain('# TYPE bulwark_timeouts counter');
      expect(text).toContain('bulwark_timeouts_total{policy="timeout",operation="x"} 1');
    }
    expect(prometheusListener({ registry })).toBe(metrics);
  });
});

describe('prometheusListener: observed bulkheads and breakers', () => {
  it('reads a bulkhead’s in-flight, queued and limit at each scrape, until told to stop', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const bulkhead = { active: 3, queued: 1, limit: 8 };
    const stop = metrics.observeBulkhead(bulkhead, { name: 'db' });
    expect(await samples(registry)).toEqual([
      'bulwark_bulkhead_in_flight{policy="db"} 3',
      'bulwark_bulkhead_queue_length{policy="db"} 1',
      'bulwark_bulkhead_limit{policy="db"} 8',
    ]);
    bulkhead.active = 8;
    bulkhead.queued = 5;
    expect(await samples(registry)).toContain('bulwark_bulkhead_in_flight{policy="db"} 8');
    stop();
    expect(await samples(registry)).toEqual(['bulwark_bulkhead_limit{policy="db"} 8']);
  });

  it('shows a breaker as closed before its first transition', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const breaker = { state: 'closed' as const, key: 'https://a.example' };
    metrics.observeBreakers(breaker);
    expect(await samples(registry)).toEqual([
      'bulwark_breaker_state{policy="circuit-breaker",origin="https://a.example",state="closed"} 1',
      'bulwark_breaker_state{policy="circuit-breaker",origin="https://a.example",state="open"} 0',
      'bulwark_breaker_state{policy="circuit-breaker",origin="https://a.example",state="half-open"} 0',
      'bulwark_breaker_state{policy="circuit-breaker",origin="https://a.example",state="isolated"} 0',
    ]);
  });

  it('reads every breaker of a registry, by its view', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const views = [
      { key: 'https://a.example', name: 'edge', state: 'open' as const },
      { key: 'https://b.example', state: 'closed' as const },
    ];
    const stop = metrics.observeBreakers({ views: () => views });
    const open = (await samples(registry)).filter((l) => l.endsWith(' 1'));
    expect(open).toEqual([
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="open"} 1',
      'bulwark_breaker_state{policy="circuit-breaker",origin="https://b.example",state="closed"} 1',
    ]);
    stop();
    views[0] = { key: 'https://a.example', name: 'edge', state: 'closed' as never };
    expect((await samples(registry)).filter((l) => l.endsWith(' 1'))).toEqual(open);
  });

  it('refuses what it cannot observe', () => {
    const metrics = prometheusListener({ registry: new Registry() });
    expect(() => metrics.observeBulkhead({ active: 1 } as never, { name: 'db' })).toThrow(
      new TypeError('expected bulkhead to have numeric active, queued and limit, got an object'),
    );
    expect(() => metrics.observeBulkhead({ active: 1, queued: 0, limit: 1 }, {} as never)).toThrow(
      new TypeError('expected name to be a non-empty string, got undefined'),
    );
    expect(() => metrics.observeBreakers({} as never)).toThrow(
      new TypeError(
        'expected a circuit breaker (with state) or a breaker registry (with views()), got an object',
      ),
    );
  });
});

describe('prometheusListener options', () => {
  it.each([
    [
      { registry: {} },
      new TypeError('expected registry to be a prom-client Registry, got an object'),
    ],
    [
      { prefix: 'bad-prefix' },
      new TypeError(
        'expected prefix to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got "bad-prefix"',
      ),
    ],
    [
      { buckets: [] },
      new TypeError('expected buckets to be an array of 1 to 64 numbers, got an array'),
    ],
    [
      { buckets: [0.1, 0.1] },
      new RangeError('expected buckets to be finite, positive and increasing, got 0.1 at index 1'),
    ],
    [
      { buckets: [0, 1] },
      new RangeError('expected buckets to be finite, positive and increasing, got 0 at index 0'),
    ],
    [
      { buckets: [1, Infinity] },
      new RangeError(
        'expected buckets to be finite, positive and increasing, got Infinity at index 1',
      ),
    ],
    [
      { maxLabelValues: 0 },
      new RangeError('expected maxLabelValues to be an integer between 1 and 100000, got 0'),
    ],
    [
      { maxSeries: 0 },
      new RangeError('expected maxSeries to be an integer between 1 and 1000000, got 0'),
    ],
    [
      { maxSeries: 1.5 },
      new RangeError('expected maxSeries to be an integer between 1 and 1000000, got 1.5'),
    ],
    [
      { maxSeriesPerMetric: 10 },
      new TypeError(
        'unknown option "maxSeriesPerMetric" for prometheusListener(); expected one of registry, prefix, buckets, maxLabelValues, maxSeries',
      ),
    ],
  ])('refuses %o', (options, error) => {
    expect(() => prometheusListener({ registry: new Registry(), ...options } as never)).toThrow(
      error,
    );
  });

  it('refuses options that are not an object', () => {
    expect(() => prometheusListener('x' as never)).toThrow(
      new TypeError('expected the options of prometheusListener() to be an object, got "x"'),
    );
  });
});
