import { pipeline } from '@bulwark/core';
import { bulkhead } from '@bulwark/bulkhead';
import { breakerRegistry, circuitBreaker, consecutive } from '@bulwark/circuit-breaker';
import { fallback } from '@bulwark/fallback';
import { hedging } from '@bulwark/hedging';
import {
  type RedisLike,
  isRateLimitedError,
  rateLimit,
  redisStore,
  slidingWindow,
  tokenBucket,
} from '@bulwark/rate-limit';
import { FakeClock } from '@bulwark/testing';
import { deadline, timeout } from '@bulwark/timeout';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ChaosEventShape, EndpointEventShape } from './events.js';
import { prometheusListener } from './prometheus-listener.js';

/** The sample lines of a scrape whose name starts with `prefix`. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

const never = () => new Promise<never>(() => {});

describe('prometheusListener, fed by the real policies', () => {
  it('counts a real breaker opening, rejecting and probing', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: consecutive({ threshold: 2 }),
      breakDurationMs: 1_000,
      key: 'https://api.example.com',
      listener: metrics,
      clock,
    });
    const policy = pipeline({ operation: 'get-item', listener: metrics, clock }, breaker);
    const fail = () => Promise.reject(new Error('down'));
    await expect(policy.execute(fail)).rejects.toThrow('down');
    await expect(policy.execute(fail)).rejects.toThrow('down');
    await expect(policy.execute(() => 'not run')).rejects.toThrow(
      'circuit https://api.example.com is open',
    );
    await clock.advance(1_000);
    await expect(policy.execute(() => 'back')).resolves.toBe('back');

    const key = 'origin="https://api.example.com"';
    expect(await lines(registry, 'bulwark_breaker_')).toEqual([
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="closed"} 1`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="open"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="half-open"} 0`,
      `bulwark_breaker_state{policy="circuit-breaker",${key},state="isolated"} 0`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="closed",to="open"} 1`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="open",to="half-open"} 1`,
      `bulwark_breaker_transitions_total{policy="circuit-breaker",${key},from="half-open",to="closed"} 1`,
      `bulwark_breaker_rejected_total{policy="circuit-breaker",${key},state="open"} 1`,
    ]);
    expect(await lines(registry, 'bulwark_calls_total')).toEqual([
      'bulwark_calls_total{operation="get-item",outcome="failure"} 2',
      'bulwark_calls_total{operation="get-item",outcome="circuit-open"} 1',
      'bulwark_calls_total{operation="get-item",outcome="success"} 1',
    ]);
  });

  it('exports a breaker’s state from the moment it exists, a registry’s per key too', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    circuitBreaker({ name: 'payments', listener: metrics });
    const breakers = breakerRegistry({ breaker: { name: 'edge' }, listener: metrics });
    expect(await lines(registry, 'bulwark_breaker_state')).toEqual([
      'bulwark_breaker_state{policy="payments",origin="",state="closed"} 1',
      'bulwark_breaker_state{policy="payments",origin="",state="open"} 0',
      'bulwark_breaker_state{policy="payments",origin="",state="half-open"} 0',
      'bulwark_breaker_state{policy="payments",origin="",state="isolated"} 0',
    ]);
    breakers.get('https://a.example');
    expect(await lines(registry, 'bulwark_breaker_state{policy="edge"')).toEqual([
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="closed"} 1',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="open"} 0',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="half-open"} 0',
      'bulwark_breaker_state{policy="edge",origin="https://a.example",state="isolated"} 0',
    ]);
    // Nothing changed state: no transition was counted.
    expect(await lines(registry, 'bulwark_breaker_transitions_total{')).toEqual([]);
  });

  it('counts a real bulkhead queueing and refusing, and real timeouts and deadlines', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const db = bulkhead({ limit: 1, queue: 1, name: 'db', listener: metrics, clock });
    const pool = pipeline({ operation: 'query', listener: metrics, clock }, db);
    let release!: () => void;
    const running = pool.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = pool.execute(() => 'queued');
    await expect(pool.execute(() => 'refused')).rejects.toThrow('bulkhead full');
    release();
    await running;
    await expect(queued).resolves.toBe('queued');

    const slow = pipeline(
      { operation: 'slow', listener: metrics, clock },
      deadline(300, { listener: metrics, clock }),
      timeout(100, { listener: metrics, clock }),
    );
    const timedOut = expect(slow.execute(never)).rejects.toThrow(
      'operation timed out after 100 ms',
    );
    await clock.advance(100);
    await timedOut;
    const outer = pipeline(
      { operation: 'slow', listener: metrics, clock },
      deadline(50, { listener: metrics, clock }),
    );
    const exceeded = expect(outer.execute(never)).rejects.toThrow('deadline of 50 ms exceeded');
    await clock.advance(50);
    await exceeded;

    expect(await lines(registry, 'bulwark_bulkhead_')).toEqual(
      expect.arrayContaining([
        'bulwark_bulkhead_queued_total{policy="db",operation="query"} 1',
        'bulwark_bulkhead_rejected_total{policy="db",operation="query",reason="full"} 1',
      ]),
    );
    expect(await lines(registry, 'bulwark_timeouts_total')).toEqual([
      'bulwark_timeouts_total{policy="timeout",operation="slow"} 1',
    ]);
    expect(await lines(registry, 'bulwark_deadline_exceeded_total')).toEqual([
      'bulwark_deadline_exceeded_total{policy="timeout",operation="slow"} 1',
    ]);
  });
});

describe('prometheusListener, fed by hedging, fallback and rate limiters', () => {
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  it('counts hedges by trigger, wins by attempt, and the attempts a win cancelled', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const items = pipeline(
      { operation: 'items.get', clock },
      hedging({ idempotent: true, delay: 50, maxHedgedAttempts: 2, listener: metrics, clock }),
    );
    // A slow first attempt: the hedge started after 50 ms answers, and the first is aborted.
    let slowCalls = 0;
    const slow = items.execute(() => (++slowCalls === 1 ? never() : Promise.resolve('hedged')));
    await clock.advance(50);
    await expect(slow).resolves.toBe('hedged');
    // A failed first attempt starts a hedge at once; that hedge answers.
    let failingCalls = 0;
    const failing = items.execute(() =>
      ++failingCalls === 1 ? Promise.reject(reset()) : Promise.resolve('after failure'),
    );
    await clock.advance(0);
    await expect(failing).resolves.toBe('after failure');

    const labels = 'policy="hedging",operation="items.get"';
    expect(await lines(registry, 'bulwark_hedge')).toEqual([
      `bulwark_hedges_total{${labels},trigger="delay"} 1`,
      `bulwark_hedges_total{${labels},trigger="failure"} 1`,
      `bulwark_hedge_wins_total{${labels},attempt="2"} 2`,
      `bulwark_hedge_cancelled_attempts_total{${labels}} 1`,
    ]);
  });

  it('counts the failures a fallback answered for by reason, and the ones it failed on', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutive({ threshold: 1 }), clock });
    const prices = pipeline(
      { operation: 'prices.get', clock },
      fallback({ value: { price: undefined }, listener: metrics, clock }),
      breaker,
    );
    await expect(prices.execute(() => Promise.reject(reset()))).resolves.toEqual({
      price: undefined,
    });
    // The breaker is open now: the fallback answers for it without a call.
    await expect(prices.execute(() => 'not run')).resolves.toEqual({ price: undefined });
    const broken = pipeline(
      { operation: 'prices.get', clock },
      fallback({
        fn: () => Promise.reject(new Error('cache down')),
        name: 'price-cache',
        listener: metrics,
        clock,
      }),
    );
    await expect(broken.execute(() => Promise.reject(reset()))).rejects.toThrow(
      'the fallback for ECONNRESET failed',
    );

    expect(await lines(registry, 'bulwark_fallbacks_total')).toEqual([
      'bulwark_fallbacks_total{policy="fallback",operation="prices.get",reason="ECONNRESET",outcome="success"} 1',
      'bulwark_fallbacks_total{policy="fallback",operation="prices.get",reason="BULWARK_BROKEN_CIRCUIT",outcome="success"} 1',
      'bulwark_fallbacks_total{policy="price-cache",operation="prices.get",reason="ECONNRESET",outcome="failure"} 1',
    ]);
  });

  it('counts a rate limiter’s grants, waits and refusals by reason, with no key in any label', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    const clock = new FakeClock();
    const limiter = tokenBucket({
      name: 'partner',
      limit: 1,
      windowMs: 1_000,
      queue: 1,
      listener: metrics,
      clock,
    });
    const partner = pipeline(
      { operation: 'partner.get', listener: metrics, clock },
      rateLimit({ limiter, key: () => 'tenant-42' }),
    );
    await expect(partner.execute(() => 'first')).resolves.toBe('first');
    const waiting = partner.execute(() => 'waited');
    await expect(partner.execute(() => 'refused')).rejects.toSatisfy(isRateLimitedError);
    await clock.advance(1_000);
    await expect(waiting).resolves.toBe('waited');
    // take() outside any pipeline: no operation.
    expect(limiter.take('tenant-42').allowed).toBe(false);

    const labels = 'policy="partner",operation="partner.get"';
    expect(await lines(registry, 'bulwark_rate_limit_')).toEqual([
      `bulwark_rate_limit_granted_total{${labels}} 2`,
      `bulwark_rate_limit_queued_total{${labels}} 1`,
      `bulwark_rate_limit_rejected_total{${labels},reason="queue-full"} 1`,
      'bulwark_rate_limit_rejected_total{policy="partner",operation="",reason="limit"} 1',
    ]);
    expect(await registry.metrics()).not.toContain('tenant-42');
    expect(await lines(registry, 'bulwark_calls_total')).toEqual([
      'bulwark_calls_total{operation="partner.get",outcome="success"} 2',
      'bulwark_calls_total{operation="partner.get",outcome="rate-limited"} 1',
    ]);
  });

  it('counts the decisions a failing store could not make, by what the limiter did instead', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    // A Redis that answers every script with an error, as a read-only replica does.
    const client: RedisLike = {
      status: 'ready',
      evalsha: () =>
        Promise.reject(new Error('READONLY You cannot write against a read only replica')),
      eval: () =>
        Promise.reject(new Error('READONLY You cannot write against a read only replica')),
    };
    const open = tokenBucket({
      name: 'open',
      limit: 10,
      windowMs: 1_000,
      store: redisStore({ client }),
      listener: metrics,
    });
    const closed = slidingWindow({
      name: 'closed',
      limit: 10,
      windowMs: 1_000,
      store: redisStore({ client, prefix: 'other:' }),
      onStoreError: 'deny',
      listener: metrics,
    });
    expect((await open.take()).storeFailed).toBe(true);
    expect((await closed.take()).allowed).toBe(false);

    expect(await lines(registry, 'bulwark_rate_limit_store_errors_total')).toEqual([
      'bulwark_rate_limit_store_errors_total{policy="open",operation="",mode="allow"} 1',
      'bulwark_rate_limit_store_errors_total{policy="closed",operation="",mode="deny"} 1',
    ]);
    expect(await lines(registry, 'bulwark_rate_limit_rejected_total')).toEqual([
      'bulwark_rate_limit_rejected_total{policy="closed",operation="",reason="store-error"} 1',
    ]);
  });
});

describe('prometheusListener, fed by chaos injections', () => {
  // @bulwark/chaos's events, as its policies and interceptor report them. (Its own tests feed
  // this listener from real chaos policies: it cannot be a dependency of this package.)
  const injected = (kind: string, more: object = {}): ChaosEventShape => ({
    type: 'chaos-injected',
    policy: 'chaos',
    name: 'flaky',
    operation: 'users.get',
    kind,
    ...more,
  });

  it('counts injections by kind, so a rehearsal never reads as an outage', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    metrics(injected('fault', { error: new Error('reset') }));
    metrics(injected('fault', { error: new Error('reset') }));
    metrics(injected('latency', { latencyMs: 1_000, cutByDeadline: false }));
    metrics({ ...injected('http-status', { method: 'GET', status: 503 }), name: undefined });

    expect(await lines(registry, 'bulwark_chaos_injections_total')).toEqual([
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="fault"} 2',
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="latency"} 1',
      'bulwark_chaos_injections_total{policy="chaos",operation="users.get",kind="http-status"} 1',
    ]);
  });

  it('caps the values of a kind it does not know like any label', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry, maxLabelValues: 2 });
    for (const kind of ['a', 'b', 'c', 'd']) metrics(injected(kind));
    expect(await lines(registry, 'bulwark_chaos_injections_total')).toEqual([
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="a"} 1',
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="b"} 1',
      'bulwark_chaos_injections_total{policy="flaky",operation="users.get",kind="other"} 2',
    ]);
  });
});

describe('prometheusListener, fed by a service client', () => {
  // @bulwark/service-client's events, as it reports them. (Its own tests feed this listener from
  // a real client: it cannot be a dependency of this package.)
  const base = { policy: 'service-client', name: 'inventory', operation: undefined } as const;
  const ejected = (endpoint: string, ejectedNow: number): EndpointEventShape => ({
    ...base,
    type: 'endpoint-ejected',
    endpoint,
    reason: 'consecutive-failures',
    ejections: 1,
    durationMs: 30_000,
    ejected: ejectedNow,
    endpoints: 3,
  });

  it('counts ejections by endpoint and reason, and follows the ejected and known endpoints', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    metrics(ejected('http://10.0.0.5:8080', 1));
    metrics(ejected('http://10.0.0.6:8080', 2));
    metrics({
      ...base,
      type: 'endpoint-readmitted',
      endpoint: 'http://10.0.0.5:8080',
      ejected: 1,
      endpoints: 3,
    });
    metrics({
      ...base,
      type: 'endpoints-refresh-failed',
      error: new Error('ENOTFOUND'),
      endpoints: 3,
    });
    metrics({
      ...base,
      type: 'endpoints-updated',
      added: ['http://10.0.0.7:8080'],
      removed: [],
      endpoints: 4,
    });

    expect(await lines(registry, 'bulwark_endpoint')).toEqual([
      'bulwark_endpoint_ejections_total{service="inventory",endpoint="http://10.0.0.5:8080",reason="consecutive-failures"} 1',
      'bulwark_endpoint_ejections_total{service="inventory",endpoint="http://10.0.0.6:8080",reason="consecutive-failures"} 1',
      'bulwark_endpoints_ejected{service="inventory"} 1',
      'bulwark_endpoints{service="inventory"} 4',
      'bulwark_endpoint_refresh_failures_total{service="inventory"} 1',
    ]);
  });

  it('reads the endpoints, the ejected ones and each one in flight at scrape time, and forgets an endpoint that went', async () => {
    const registry = new Registry();
    const metrics = prometheusListener({ registry });
    let views = [
      { endpoint: 'http://10.0.0.5:8080', state: 'active', inFlight: 3 },
      { endpoint: 'http://10.0.0.6:8080', state: 'ejected', inFlight: 0 },
    ];
    const stop = metrics.observeEndpoints({ endpoints: () => views }, { name: 'inventory' });
    expect(await lines(registry, 'bulwark_endpoint')).toEqual([
      'bulwark_endpoints_ejected{service="inventory"} 1',
      'bulwark_endpoints{service="inventory"} 2',
      'bulwark_endpoint_in_flight{service="inventory",endpoint="http://10.0.0.5:8080"} 3',
      'bulwark_endpoint_in_flight{service="inventory",endpoint="http://10.0.0.6:8080"} 0',
    ]);
    views = [{ endpoint: 'http://10.0.0.5:8080', state: 'active', inFlight: 1 }];
    expect(await lines(registry, 'bulwark_endpoint_in_flight')).toEqual([
      'bulwark_endpoint_in_flight{service="inventory",endpoint="http://10.0.0.5:8080"} 1',
    ]);
    stop();
    expect(await lines(registry, 'bulwark_endpoint_in_flight')).toEqual([]);
  });

  it('refuses to observe something without endpoints()', () => {
    const metrics = prometheusListener({ registry: new Registry() });
    expect(() => metrics.observeEndpoints({} as never, { name: 'inventory' })).toThrow(
      new TypeError('expected a service client (with endpoints()), got an object'),
    );
  });
});
