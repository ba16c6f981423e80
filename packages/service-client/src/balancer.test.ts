import type { BreakerState } from '@bulwark/core';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { Balancer } from './balancer.js';
import type { Endpoint } from './endpoint.js';
import { EndpointSet } from './endpoint-set.js';
import { isNoEndpointsAvailableError } from './errors.js';
import { OutlierDetector } from './outlier-detector.js';
import { seeded } from './test-helpers.js';

const DECAY_MS = 10_000;

/** A breaker whose state the test sets. */
class StubBreaker {
  state: BreakerState = 'closed';
  retryAfterMs: number | undefined = undefined;
  view() {
    return { retryAfterMs: this.retryAfterMs };
  }
}

function setup(count: number, seed = 1) {
  const clock = new FakeClock({ now: 1_000 });
  const breakers = new Map<string, StubBreaker>();
  const set = new EndpointSet((endpoint) => {
    const breaker = new StubBreaker();
    breakers.set(endpoint.url, breaker);
    endpoint.breaker = breaker;
  });
  const urls = Array.from({ length: count }, (_, i) => `http://10.0.0.${i + 1}:8080`);
  set.replace(urls, urls, clock.now());
  const outliers = new OutlierDetector(
    {
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 50,
      intervalMs: 10_000,
      successRate: undefined,
    },
    set,
    'inventory',
    undefined,
    clock.now(),
  );
  const balancer = new Balancer(set, outliers, {
    service: 'inventory',
    decayMs: DECAY_MS,
    random: seeded(seed),
    clock,
  });
  const endpoints = set.endpoints;
  const breakerOf = (endpoint: Endpoint) => breakers.get(endpoint.url)!;
  return { clock, set, outliers, balancer, endpoints, breakerOf };
}

/** Gives an endpoint a latency estimate of `ms` (its first answer is left out). */
function answered(endpoint: Endpoint, ms: number, now: number): void {
  endpoint.answer(ms, now, DECAY_MS);
  endpoint.answer(ms, now, DECAY_MS);
}

/** How many of `count` picks went to each endpoint. */
function tally(balancer: Balancer, endpoints: readonly Endpoint[], count: number): number[] {
  const counts = endpoints.map(() => 0);
  for (let i = 0; i < count; i++) counts[endpoints.indexOf(balancer.pick([], 'op'))]!++;
  return counts;
}

describe('Balancer (power of two choices over Peak EWMA load)', () => {
  it('prefers the endpoint with the lower latency estimate', () => {
    const { balancer, endpoints, clock } = setup(2);
    answered(endpoints[0]!, 10, clock.now());
    answered(endpoints[1]!, 100, clock.now());
    expect(tally(balancer, endpoints, 100)).toEqual([100, 0]);
  });

  it('weighs requests in flight: a fast endpoint with a queue loses to an idle slower one', () => {
    const { balancer, endpoints, clock } = setup(2);
    answered(endpoints[0]!, 10, clock.now());
    answered(endpoints[1]!, 100, clock.now());
    endpoints[0]!.inFlight = 20; // load 10 * 21 = 210 against 100 * 1
    expect(balancer.pick([], 'op')).toBe(endpoints[1]);
  });

  it('spreads calls over endpoints of equal load, drawing two at random each time', () => {
    const { balancer, endpoints } = setup(4);
    const counts = tally(balancer, endpoints, 400);
    // With every load 0 the first of the two drawn wins: each endpoint is drawn first a quarter of the time.
    for (const count of counts) expect(count).toBeGreaterThan(60);
  });

  it('never floods a new endpoint: one with calls in flight and no answer yet counts as the most loaded', () => {
    const { balancer, endpoints, clock } = setup(2);
    answered(endpoints[0]!, 50, clock.now());
    endpoints[1]!.inFlight = 1;
    expect(balancer.pick([], 'op')).toBe(endpoints[0]);
  });

  it('forgets a slow answer as time passes, so an endpoint that was slow is tried again', async () => {
    const { balancer, endpoints, clock } = setup(2);
    answered(endpoints[0]!, 10, clock.now());
    answered(endpoints[1]!, 200, clock.now());
    expect(balancer.pick([], 'op')).toBe(endpoints[0]);
    // e^(-40 s / 10 s) * 200 ms is about 3.7 ms; endpoint 0's own estimate decays as much.
    await clock.advance(40_000);
    endpoints[0]!.answer(10, clock.now(), DECAY_MS);
    expect(balancer.pick([], 'op')).toBe(endpoints[1]);
  });

  it('leaves out the endpoints a call tried, and goes back to one only when no other is in rotation', () => {
    const { balancer, endpoints, clock, breakerOf } = setup(3);
    answered(endpoints[0]!, 1, clock.now());
    expect(balancer.pick([endpoints[0]!], 'op')).not.toBe(endpoints[0]);
    const tried = [endpoints[0]!, endpoints[1]!];
    expect(balancer.pick(tried, 'op')).toBe(endpoints[2]);
    breakerOf(endpoints[2]!).state = 'open';
    // Every endpoint in rotation was tried: the one tried longest ago.
    expect(balancer.pick(tried, 'op')).toBe(endpoints[0]);
  });

  it('skips ejected endpoints and those whose breaker is open or isolated, not half-open ones', () => {
    const { balancer, endpoints, breakerOf, clock } = setup(4);
    endpoints[0]!.state = 'ejected';
    endpoints[0]!.ejectedUntil = clock.now() + 1_000;
    breakerOf(endpoints[1]!).state = 'open';
    breakerOf(endpoints[2]!).state = 'isolated';
    breakerOf(endpoints[3]!).state = 'half-open';
    expect(new Set(tally(balancer, endpoints, 20))).toEqual(new Set([0, 20]));
    expect(balancer.pick([], 'op')).toBe(endpoints[3]);
  });

  it('lets an endpoint on probation take one trial call at a time', () => {
    const { balancer, endpoints } = setup(2);
    endpoints[0]!.state = 'probation';
    endpoints[0]!.inFlight = 1;
    expect(tally(balancer, endpoints, 10)).toEqual([0, 10]);
  });

  it('fails with NoEndpointsAvailableError saying when the first endpoint comes back', () => {
    const { balancer, endpoints, breakerOf, clock } = setup(2);
    endpoints[0]!.state = 'ejected';
    endpoints[0]!.ejectedUntil = clock.now() + 7_000;
    breakerOf(endpoints[1]!).state = 'open';
    breakerOf(endpoints[1]!).retryAfterMs = 4_000;
    let error: unknown;
    try {
      balancer.pick([], 'op');
    } catch (e: unknown) {
      error = e;
    }
    expect(isNoEndpointsAvailableError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BULWARK_NO_ENDPOINTS',
      service: 'inventory',
      endpoints: 2,
      retryAfterMs: 4_000,
      message:
        'no endpoint of service inventory is available: all 2 are ejected or their circuit is open; the first is back in 4000 ms',
    });
  });

  it('fails with NoEndpointsAvailableError, and the last read failure as its cause, when it knows no endpoint', () => {
    const clock = new FakeClock();
    const set = new EndpointSet(() => undefined);
    const cause = Object.assign(new Error('queryA ENOTFOUND inventory.test'), {
      code: 'ENOTFOUND',
    });
    set.failed(cause);
    const balancer = new Balancer(set, undefined, {
      service: 'inventory',
      decayMs: DECAY_MS,
      random: Math.random,
      clock,
    });
    expect(() => balancer.pick([], 'op')).toThrow(
      expect.objectContaining({
        endpoints: 0,
        retryAfterMs: undefined,
        cause,
        message: 'service inventory has no endpoints (queryA ENOTFOUND inventory.test (ENOTFOUND))',
      }),
    );
  });
});
