import { describe, expect, it } from 'vitest';
import { createServiceClient } from './service-client.js';
import { client } from './test-helpers.js';

const base = { name: 'inventory', endpoints: ['http://127.0.0.1:1'] } as const;

function build(options: object): () => unknown {
  return () => createServiceClient({ ...base, ...options });
}

describe('createServiceClient() options', () => {
  it.each([
    [{ retyr: {} }, 'unknown option "retyr" for createServiceClient(); did you mean "retry"?'],
    [
      { deadline: 5 },
      'unknown option "deadline" for createServiceClient(); did you mean "deadlineMs"?',
    ],
    [
      { retry: { maxAttemps: 2 } },
      'unknown option "retry.maxAttemps" for createServiceClient(); did you mean "maxAttempts"?',
    ],
    [
      { outlierDetection: { consecutiveFailure: 3 } },
      'unknown option "outlierDetection.consecutiveFailure" for createServiceClient(); did you mean "consecutiveFailures"?',
    ],
    [
      { outlierDetection: { successRate: { stdev: 2 } } },
      'unknown option "outlierDetection.successRate.stdev" for createServiceClient(); did you mean "stdevFactor"?',
    ],
    [
      { breaker: { breakDuration: 5 } },
      'unknown option "breaker.breakDuration" for createServiceClient(); did you mean "breakDurationMs"?',
    ],
    [
      { breaker: { breakBackoff: { max: 5 } } },
      'unknown option "breaker.breakBackoff.max" for createServiceClient(); did you mean "maxMs"?',
    ],
    [
      { budget: { ration: 0.1 } },
      'unknown option "budget.ration" for createServiceClient(); did you mean "ratio"?',
    ],
    [
      { hedge: { delays: 5 } },
      'unknown option "hedge.delays" for createServiceClient(); did you mean "delay"?',
    ],
    [
      { bulkhead: { limits: 5 } },
      'unknown option "bulkhead.limits" for createServiceClient(); did you mean "limit"?',
    ],
    [
      { balancer: { decay: 5 } },
      'unknown option "balancer.decay" for createServiceClient(); did you mean "decayMs"?',
    ],
    [
      { metrics: { registy: {} } },
      'unknown option "metrics.registy" for createServiceClient(); did you mean "registry"?',
    ],
    [
      { endpoints: { dns: 'http://a.test', resolvr: {} } },
      'unknown option "endpoints.resolvr" for createServiceClient(); did you mean "resolver"?',
    ],
  ])('refuses a misspelt option, naming the one it most likely means: %j', (options, message) => {
    expect(build(options)).toThrow(new TypeError(`${message} expected one of`).message);
  });

  it.each([
    [{ name: '' }, TypeError, 'expected name to be a non-empty string'],
    [
      { endpoints: [] },
      TypeError,
      'expected endpoints to list at least one URL, got an empty array',
    ],
    [{ endpoints: ['ftp://x'] }, TypeError, 'expected endpoints[0] to be an http: or https: URL'],
    [
      { endpoints: ['http://u:p@x'] },
      TypeError,
      'expected endpoints[0] to be a URL without credentials',
    ],
    [
      { endpoints: ['http://x?q=1'] },
      TypeError,
      'expected endpoints[0] without a query or fragment',
    ],
    [{ endpoints: ['http://x', 'http://x/'] }, TypeError, 'expected endpoints to be distinct URLs'],
    [
      { endpoints: 'http://x' },
      TypeError,
      'expected endpoints to be an array of URLs, a function returning one, or { dns: url }',
    ],
    [
      { endpoints: { dns: 'http://10.0.0.5:80' } },
      TypeError,
      'expected endpoints.dns to name a host, got an IP address',
    ],
    [
      { endpoints: { dns: 'http://a.test', family: 5 } },
      TypeError,
      'expected endpoints.family to be 4 or 6, got 5',
    ],
    [
      { timeoutMs: 0 },
      RangeError,
      'expected timeoutMs to be an integer between 1 and 2147483647, got 0',
    ],
    [
      { outlierDetection: { maxEjectionPercent: 120 } },
      RangeError,
      'expected outlierDetection.maxEjectionPercent to be a finite number between 0 and 100, got 120',
    ],
    [
      { outlierDetection: { baseEjectionMs: 10_000, maxEjectionMs: 5_000 } },
      RangeError,
      'expected outlierDetection.maxEjectionMs to be an integer between 10000 and 2147483647, got 5000',
    ],
    [
      { retry: { statuses: [503, 99] } },
      RangeError,
      'expected retry.statuses[] to be an integer between 100 and 599, got 99',
    ],
    [
      { idempotencyKey: true },
      TypeError,
      "expected idempotencyKey to be 'auto' or false, got true",
    ],
    [{ random: 0.5 }, TypeError, 'expected random to be a function, got 0.5'],
  ])(
    'refuses a bad value with what was expected and what was given: %j',
    (options, Kind, message) => {
      expect(build(options)).toThrow(Kind);
      expect(build(options)).toThrow(message);
    },
  );

  it('refuses options that are not an object', () => {
    expect(() => createServiceClient(undefined as never)).toThrow(
      new TypeError('expected the options of createServiceClient() to be an object, got undefined'),
    );
  });
});

describe('operation() definitions', () => {
  const inventory = () => client({ ...base });

  it.each([
    [{ hedg: true }, 'unknown option "hedg" for operation(); did you mean "hedge"?'],
    [
      { retry: { maxAttemps: 2 } },
      'unknown option "retry.maxAttemps" for operation(); did you mean "maxAttempts"?',
    ],
    [
      { hedge: { delays: 2 } },
      'unknown option "hedge.delays" for operation(); did you mean "delay"?',
    ],
    [
      { fallback: { valu: 1 } },
      'unknown option "fallback.valu" for operation(); did you mean "value"?',
    ],
  ])('refuses a misspelt option, nested ones included: %j', (definition, message) => {
    expect(() =>
      inventory().operation({ name: 'getItem', path: '/items/:id', ...definition } as never),
    ).toThrow(message);
  });

  it('refuses hedge for an operation that is not safe to repeat, and takes it once it is', () => {
    const service = inventory();
    expect(() =>
      service.operation({ name: 'createOrder', method: 'POST', path: '/orders', hedge: true }),
    ).toThrow(
      new TypeError(
        "expected hedge only for an operation safe to repeat (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, idempotent: true, or idempotencyKey: 'auto'), got hedge with POST inventory.createOrder",
      ),
    );
    expect(() =>
      service.operation({
        name: 'createOrder',
        method: 'POST',
        path: '/orders',
        hedge: true,
        idempotencyKey: 'auto',
      }),
    ).not.toThrow();
    expect(() =>
      service.operation({
        name: 'search',
        method: 'POST',
        path: '/search',
        hedge: true,
        idempotent: true,
      }),
    ).not.toThrow();
  });

  it.each([
    [{ name: 'get item' }, 'expected name to be letters, digits, _, . and - (a metrics label)'],
    [{ method: 'CONNECT' }, 'expected a method other than CONNECT'],
    [{ path: 'items' }, 'expected path to start with "/"'],
    [
      { retry: { maxAttempts: 2 }, hedge: true },
      'expected retry or hedge for inventory.getItem, got both',
    ],
    [{ stream: true, cache: true }, 'expected cache only for a JSON operation'],
    [{ stream: true, parse: () => 1 }, 'expected parse only for a JSON operation'],
    [{ fallback: { value: 1, fn: () => 2 } }, 'expected exactly one of value and fn, got both'],
    [{ timeoutMs: -1 }, 'expected timeoutMs to be an integer between 1 and 2147483647, got -1'],
  ])('refuses a bad definition: %j', (definition, message) => {
    expect(() =>
      inventory().operation({ name: 'getItem', path: '/items/:id', ...definition } as never),
    ).toThrow(message);
  });
});

describe('a call', () => {
  it('is refused before anything is sent for a misspelt option, naming the one it most likely means', async () => {
    const getItem = client({ ...base }).operation({ name: 'getItem', path: '/items/:id' });
    await expect(getItem({ parms: { id: 1 } } as never)).rejects.toThrow(
      'unknown option "parms" for inventory.getItem(); did you mean "params"?',
    );
    await expect(getItem({ params: { id: 1 }, timeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(getItem({ params: { id: 1 }, body: {} })).rejects.toThrow(
      'expected no body for GET inventory.getItem, got one',
    );
  });

  it('of a hedged POST is refused without its Idempotency-Key', async () => {
    const createOrder = client({ ...base }).operation({
      name: 'createOrder',
      method: 'POST',
      path: '/orders',
      hedge: true,
      idempotencyKey: 'auto',
    });
    await expect(createOrder({ idempotencyKey: false })).rejects.toThrow(
      'expected a call of inventory.createOrder, which hedges, to carry its Idempotency-Key, got idempotencyKey: false',
    );
  });
});
