import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from './endpoint.js';
import { EndpointSet } from './endpoint-set.js';
import { type OutlierSettings, OutlierDetector } from './outlier-detector.js';
import { Events } from './test-helpers.js';

const SETTINGS: OutlierSettings = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
  intervalMs: 10_000,
  successRate: undefined,
};

function setup(count: number, settings: Partial<OutlierSettings> = {}) {
  const clock = new FakeClock();
  const set = new EndpointSet(() => undefined);
  const urls = Array.from({ length: count }, (_, i) => `http://10.0.0.${i + 1}:8080`);
  set.replace(urls, urls, clock.now());
  const events = new Events();
  const detector = new OutlierDetector(
    { ...SETTINGS, ...settings },
    set,
    'inventory',
    events.listener,
    clock.now(),
  );
  const fail = (endpoint: Endpoint, times: number) => {
    for (let i = 0; i < times; i++) detector.failed(endpoint, clock.now(), 'inventory.getItem');
  };
  return { clock, set, detector, events, endpoints: set.endpoints, fail };
}

describe('OutlierDetector (Envoy-style ejection)', () => {
  it('ejects an endpoint after consecutive failures, and a success in between starts the count again', () => {
    const { detector, endpoints, events, fail, clock } = setup(3);
    const [a] = endpoints;
    fail(a!, 4);
    detector.succeeded(a!, clock.now(), 'inventory.getItem');
    fail(a!, 4);
    expect(a!.state).toBe('active');
    fail(a!, 1);
    expect(a!.state).toBe('ejected');
    expect(events.of('endpoint-ejected')).toEqual([
      {
        type: 'endpoint-ejected',
        policy: 'service-client',
        name: 'inventory',
        operation: 'inventory.getItem',
        endpoint: 'http://10.0.0.1:8080',
        reason: 'consecutive-failures',
        ejections: 1,
        durationMs: 30_000,
        ejected: 1,
        endpoints: 3,
      },
    ]);
  });

  it('readmits an endpoint on probation when its time is up, and a failed trial ejects it for twice as long', async () => {
    const { detector, endpoints, events, fail, clock } = setup(3);
    const [a] = endpoints;
    fail(a!, 5);
    await clock.advance(29_999);
    expect(detector.readmitIfDue(a!, clock.now(), undefined)).toBe(false);
    await clock.advance(1);
    expect(detector.readmitIfDue(a!, clock.now(), 'inventory.getItem')).toBe(true);
    expect(a!.state).toBe('probation');
    expect(events.of('endpoint-readmitted')).toMatchObject([
      { endpoint: 'http://10.0.0.1:8080', ejected: 0, endpoints: 3 },
    ]);
    fail(a!, 1); // the trial failed
    expect(a!.state).toBe('ejected');
    expect(a!.ejectedUntil - clock.now()).toBe(60_000);
  });

  it('puts an endpoint whose trial succeeds back in full rotation', async () => {
    const { detector, endpoints, fail, clock } = setup(3);
    const [a] = endpoints;
    fail(a!, 5);
    await clock.advance(30_000);
    detector.readmitIfDue(a!, clock.now(), undefined);
    detector.succeeded(a!, clock.now(), undefined);
    expect(a!.state).toBe('active');
    fail(a!, 4);
    expect(a!.state).toBe('active');
  });

  it('caps an ejection at maxEjectionMs, and forgives one ejection per interval spent in rotation', async () => {
    const { detector, endpoints, fail, clock } = setup(3, { maxEjectionMs: 70_000 });
    const [a] = endpoints;
    for (let round = 1; round <= 3; round++) {
      fail(a!, 5);
      expect(a!.ejectedUntil - clock.now()).toBe(Math.min(30_000 * round, 70_000));
      await clock.advance(a!.ejectedUntil - clock.now());
      detector.readmitIfDue(a!, clock.now(), undefined);
    }
    // Two intervals in rotation since it came back: two of its three ejections are forgiven.
    await clock.advance(20_000);
    fail(a!, 5);
    expect(a!.ejections).toBe(2);
    expect(a!.ejectedUntil - clock.now()).toBe(60_000);
  });

  it('never ejects more than maxEjectionPercent of the endpoints at once', () => {
    const { endpoints, fail, events } = setup(5, { maxEjectionPercent: 40 });
    for (const endpoint of endpoints) fail(endpoint, 5);
    expect(endpoints.filter((e) => e.state === 'ejected')).toHaveLength(2);
    expect(events.of('endpoint-ejected').map((e) => e.ejected)).toEqual([1, 2]);
  });

  it('may always eject one endpoint, but never the last one', () => {
    const two = setup(2, { maxEjectionPercent: 10 });
    for (const endpoint of two.endpoints) two.fail(endpoint, 5);
    expect(two.endpoints.map((e) => e.state)).toEqual(['ejected', 'active']);
    const one = setup(1, { maxEjectionPercent: 100 });
    one.fail(one.endpoints[0]!, 50);
    expect(one.endpoints[0]!.state).toBe('active');
  });

  it('ejects an endpoint whose success rate is far below its peers, once the interval has run', async () => {
    const successRate = { minimumEndpoints: 5, requestVolume: 100, stdevFactor: 1.9 };
    const { detector, endpoints, events, clock } = setup(6, {
      consecutiveFailures: undefined,
      successRate,
    });
    const now = clock.now();
    endpoints.forEach((endpoint, i) => {
      for (let n = 0; n < 100; n++) {
        // The first endpoint fails every other request; the others one in a hundred.
        if (i === 0 ? n % 2 === 0 : n === 0) detector.failed(endpoint, now, undefined);
        else detector.succeeded(endpoint, now, undefined);
      }
    });
    expect(endpoints[0]!.state).toBe('active');
    await clock.advance(10_000);
    detector.succeeded(endpoints[1]!, clock.now(), undefined);
    expect(endpoints.map((e) => e.state)).toEqual([
      'ejected',
      'active',
      'active',
      'active',
      'active',
      'active',
    ]);
    expect(events.of('endpoint-ejected')[0]).toMatchObject({ reason: 'success-rate' });
    // The interval's counts start again.
    expect(endpoints[1]!.successes).toBe(0);
  });

  it('compares no success rates while fewer endpoints than minimumEndpoints have enough requests', async () => {
    const successRate = { minimumEndpoints: 5, requestVolume: 100, stdevFactor: 1.9 };
    const { detector, endpoints, clock } = setup(6, {
      consecutiveFailures: undefined,
      successRate,
    });
    endpoints.forEach((endpoint, i) => {
      // Only four endpoints reach the volume: the first fails them all.
      const requests = i < 4 ? 100 : 10;
      for (let n = 0; n < requests; n++) {
        if (i === 0) detector.failed(endpoint, clock.now(), undefined);
        else detector.succeeded(endpoint, clock.now(), undefined);
      }
    });
    await clock.advance(10_000);
    detector.succeeded(endpoints[1]!, clock.now(), undefined);
    expect(endpoints[0]!.state).toBe('active');
  });

  it('leaves alone an endpoint the service no longer has', () => {
    const { set, endpoints, fail, clock } = setup(3);
    const [a, b, c] = endpoints;
    set.replace([b!.url, c!.url], [b!.origin, c!.origin], clock.now());
    fail(a!, 5);
    expect(a!.state).toBe('active');
  });
});
