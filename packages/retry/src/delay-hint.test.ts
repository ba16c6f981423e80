import { BrokenCircuitError, BulkheadRejectedError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { defaultDelayHint } from './delay-hint.js';

const NOW = Date.UTC(2026, 0, 1);

function hintOf(error: unknown, isResult = false) {
  return defaultDelayHint({ error, isResult, attempt: 1, dateNow: NOW });
}

describe('defaultDelayHint', () => {
  it("reads the headers of a result (fetch's Response)", () => {
    const response = new Response(null, { status: 503, headers: { 'Retry-After': '2' } });
    expect(hintOf(response, true)).toBe(2000);
  });

  it("reads an undici request() result's plain headers", () => {
    expect(hintOf({ statusCode: 429, headers: { 'retry-after': '7' } }, true)).toBe(7000);
  });

  it('reads the headers on an error and on its response', () => {
    expect(hintOf(Object.assign(new Error('x'), { headers: { 'retry-after': '1' } }))).toBe(1000);
    const axiosLike = Object.assign(new Error('Request failed with status code 503'), {
      response: { status: 503, headers: { 'retry-after': '3' } },
    });
    expect(hintOf(axiosLike)).toBe(3000);
  });

  it("reads a gRPC error's metadata", () => {
    const grpcError = Object.assign(new Error('UNAVAILABLE'), {
      metadata: { get: () => ['-1'] },
    });
    expect(hintOf(grpcError)).toBe('do-not-retry');
  });

  it("reads retryAfterMs from Bulwark's breaker and bulkhead errors", () => {
    expect(hintOf(new BrokenCircuitError('open', 'a', 1500))).toBe(1500);
    expect(hintOf(new BulkheadRejectedError('full', 4, 0, 250))).toBe(250);
    expect(hintOf(new BrokenCircuitError())).toBeUndefined();
  });

  it('finds nothing on values without headers', () => {
    expect(hintOf(new Error('plain'))).toBeUndefined();
    expect(hintOf(undefined)).toBeUndefined();
    expect(hintOf('text', true)).toBeUndefined();
    expect(hintOf({ headers: 'retry-after: 5' }, true)).toBeUndefined();
  });
});
