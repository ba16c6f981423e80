import { systemClock } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { createHttpClient } from './http-client.js';
import {
  DEFAULT_BULKHEAD,
  DEFAULT_RETRY_STATUSES,
  type HttpClientOptions,
  parseOptions,
} from './options.js';
import { constantBackoff } from '@bulwark/retry';
import { fault } from '@bulwark/testing';
import { HttpStatusError, RetriesExhaustedError } from './errors.js';
import type { HttpClient, HttpRequestOptions, JsonRequestOptions } from './http-client.js';
import { client, server } from './test-helpers.js';

function bad(options: unknown): () => unknown {
  return () => createHttpClient(options as HttpClientOptions);
}

describe('createHttpClient options', () => {
  it('fills in the documented defaults', () => {
    const s = parseOptions({});
    expect(s).toMatchObject({
      timeoutMs: 10_000,
      deadlineMs: 30_000,
      maxBodyBytes: 16 * 1024 * 1024,
      connections: 128,
      keepAliveTimeoutMs: 4_000,
      connectTimeoutMs: 10_000,
      maxOrigins: 1000,
      attemptHeader: 'x-bulwark-attempt',
      budgetHeader: 'x-bulwark-timeout-ms',
      keyHeader: 'idempotency-key',
      autoKey: false,
      bulkhead: DEFAULT_BULKHEAD,
      breaker: {},
      retry: {},
      clock: systemClock,
    });
    expect(DEFAULT_RETRY_STATUSES).toEqual([408, 429, 500, 502, 503, 504]);
    const retried = [...s.retryStatuses.keys()].filter((i) => s.retryStatuses[i] === 1);
    // Statuses outside 100-599 go with 500 (RFC 9110 §15).
    expect(retried.filter((i) => i < 600)).toEqual([408, 429, 500, 502, 503, 504]);
    expect(retried.filter((i) => i >= 600)).toHaveLength(400);
  });

  it('turns policies off with false', () => {
    expect(
      parseOptions({
        timeoutMs: false,
        deadlineMs: false,
        retry: false,
        breaker: false,
        bulkhead: false,
      }),
    ).toMatchObject({
      timeoutMs: undefined,
      deadlineMs: undefined,
      retry: undefined,
      breaker: undefined,
      bulkhead: undefined,
    });
  });

  it.each([
    [null, TypeError, 'expected the options of createHttpClient() to be an object, got null'],
    [{ retries: 3 }, TypeError, 'unknown option "retries" for createHttpClient(); expected one of'],
    [
      { timeoutMs: 0 },
      RangeError,
      'expected timeoutMs to be an integer between 1 and 2147483647, got 0',
    ],
    [
      { deadlineMs: '5s' },
      TypeError,
      'expected deadlineMs to be an integer between 1 and 2147483647, got "5s"',
    ],
    [{ maxBodyBytes: -1 }, RangeError, 'expected maxBodyBytes to be an integer >= 0, got -1'],
    [{ connections: 0 }, RangeError, 'expected connections to be an integer >= 1, got 0'],
    [
      { keepAliveTimeoutMs: 1.5 },
      RangeError,
      'expected keepAliveTimeoutMs to be an integer between 1 and 2147483647, got 1.5',
    ],
    [
      { connectTimeoutMs: -5 },
      RangeError,
      'expected connectTimeoutMs to be an integer between 1 and 2147483647, got -5',
    ],
    [{ maxOrigins: 0 }, RangeError, 'expected maxOrigins to be an integer >= 1, got 0'],
    [
      { idempotencyKey: true },
      TypeError,
      "expected idempotencyKey to be 'auto' or false, got boolean",
    ],
    [
      { idempotencyKeyHeader: 'bad header' },
      TypeError,
      'expected idempotencyKeyHeader to be a header name, got "bad header"',
    ],
    [{ attemptHeader: '' }, TypeError, 'expected attemptHeader to be a non-empty string, got ""'],
    [{ budgetHeader: 5 }, TypeError, 'expected budgetHeader to be a non-empty string, got 5'],
    [{ attemptHeaders: 'x' }, TypeError, 'expected attemptHeaders to be a function, got "x"'],
    [{ context: {} }, TypeError, 'expected context to be a function, got an object'],
    [{ listener: 1 }, TypeError, 'expected listener to be a function, got 1'],
    [{ operation: '' }, TypeError, 'expected operation to be a non-empty string, got ""'],
    [{ name: 3 }, TypeError, 'expected name to be a non-empty string, got 3'],
    [{ headers: { a: 1 } }, TypeError, 'expected headers["a"] to be a string, got 1'],
    [{ headers: 'x' }, TypeError, 'expected headers to be an object, got "x"'],
    [{ retry: 3 }, TypeError, 'expected retry to be an object, got 3'],
    [
      { retry: { maxAttempts: 0 } },
      RangeError,
      'expected maxAttempts to be an integer between 1 and 1000, got 0',
    ],
    [
      { retry: { statuses: 503 } },
      TypeError,
      'expected retry.statuses to be an array of status codes, got 503',
    ],
    [
      { retry: { statuses: [1000] } },
      RangeError,
      'expected retry.statuses[] to be an integer between 100 and 999, got 1000',
    ],
    [
      { retry: { budget: { ratio: -1 } } },
      RangeError,
      'expected ratio to be a finite number between 0 and 100, got -1',
    ],
    [{ breaker: [] }, TypeError, 'expected breaker to be an object, got an array'],
    [
      { breaker: { breakDurationMs: 0 } },
      RangeError,
      'expected breakDurationMs to be an integer >= 1, got 0',
    ],
    [{ bulkhead: 5 }, TypeError, 'expected bulkhead to be an object, got 5'],
    [{ bulkhead: { limit: 0 } }, RangeError, 'expected limit to be an integer >= 1, got 0'],
    [{ baseUrl: 'ftp://x' }, TypeError, 'expected an http: or https: URL, got "ftp://x"'],
    [
      { dispatcher: {} },
      TypeError,
      'expected dispatcher to be an undici Dispatcher, got an object',
    ],
    [
      { clock: {} },
      TypeError,
      'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got an object',
    ],
  ])('refuses %j', (options, Kind, message) => {
    expect(bad(options)).toThrow(Kind);
    expect(bad(options)).toThrow(message);
  });

  it.each([
    [
      { timeout: 100 },
      'unknown option "timeout" for createHttpClient(); did you mean "timeoutMs"?',
    ],
    [{ Retry: false }, 'unknown option "Retry" for createHttpClient(); did you mean "retry"?'],
    [
      { retry: { maxAttemps: 5 } },
      'unknown option "retry.maxAttemps" for createHttpClient(); did you mean "maxAttempts"? expected one of maxAttempts, statuses, backoff, maxDelayMs, maxHintMs, delayHint, budget, random',
    ],
    [
      { retry: { budget: { ratioo: 0.1 } } },
      'unknown option "retry.budget.ratioo" for createHttpClient(); did you mean "ratio"? expected one of ratio, minRetriesPerSecond, windowMs',
    ],
    [
      { retry: { budget: { clock: systemClock } } },
      'unknown option "retry.budget.clock" for createHttpClient(); expected one of ratio, minRetriesPerSecond, windowMs',
    ],
    [
      { breaker: { breakDuration: 1_000 } },
      'unknown option "breaker.breakDuration" for createHttpClient(); did you mean "breakDurationMs"?',
    ],
    [
      { breaker: { breakBackoff: { max: 60_000 } } },
      'unknown option "breaker.breakBackoff.max" for createHttpClient(); did you mean "maxMs"? expected one of factor, maxMs',
    ],
    [
      { breaker: { classify: { errors: () => true } } },
      'unknown option "breaker.classify.errors" for createHttpClient(); did you mean "error"? expected one of error, result',
    ],
    [
      { bulkhead: { limit: 5, queueTimeout: 100 } },
      'unknown option "bulkhead.queueTimeout" for createHttpClient(); did you mean "queueTimeoutMs"? expected one of limit, queue, queueTimeoutMs',
    ],
    [
      { cache: { staleIfError: 60_000 } },
      'unknown option "cache.staleIfError" for createHttpClient(); did you mean "staleIfErrorMs"?',
    ],
    [
      { policies: { Call: { execute: () => undefined } } },
      'unknown option "policies.Call" for createHttpClient(); did you mean "call"? expected one of call, attempt',
    ],
  ])(
    'refuses the misspelt %j, naming it and the option it most likely means',
    (options, message) => {
      expect(bad(options)).toThrow(TypeError);
      expect(bad(options)).toThrow(message);
    },
  );

  it('accepts every documented name in the nested options', async () => {
    let http: HttpClient | undefined;
    const build = () =>
      (http = createHttpClient({
        retry: {
          maxAttempts: 2,
          statuses: [503],
          maxDelayMs: 10,
          maxHintMs: 10,
          random: () => 0,
          budget: { ratio: 0.5, minRetriesPerSecond: 1, windowMs: 1_000 },
        },
        breaker: {
          breakDurationMs: 1_000,
          breakBackoff: { factor: 2, maxMs: 10_000 },
          halfOpenTrials: 1,
          classify: { error: () => true, result: () => false },
          name: 'orders',
          maxOrigins: 10,
        },
        bulkhead: { limit: 1, queue: 1, queueTimeoutMs: 10 },
        cache: { staleIfErrorMs: 1_000 },
        policies: {},
      }));
    expect(build).not.toThrow();
    await http?.destroy();
  });
});

describe('request options', () => {
  it('refuses bad per-request options before sending anything', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin });
    await expect(http.request('/', { method: '' })).rejects.toThrow(
      new TypeError('expected method to be a non-empty string, got ""'),
    );
    await expect(http.request('/', { method: 'connect' })).rejects.toThrow(
      new TypeError('expected a method other than CONNECT, which opens a tunnel, got "CONNECT"'),
    );
    await expect(http.request('/', { timeoutMs: 0 })).rejects.toThrow(
      new RangeError('expected timeoutMs to be an integer between 1 and 2147483647, got 0'),
    );
    await expect(http.request('/', { deadline: 'soon' as unknown as number })).rejects.toThrow(
      new TypeError('expected deadline to be a number, got "soon"'),
    );
    await expect(http.request('/', { maxBodyBytes: -1 })).rejects.toThrow(
      new RangeError('expected maxBodyBytes to be an integer >= 0, got -1'),
    );
    await expect(http.request('/', { method: 'POST', body: 'a', json: {} })).rejects.toThrow(
      new TypeError('expected either body or json, got both'),
    );
    await expect(http.request('/', { method: 'POST', idempotencyKey: '' })).rejects.toThrow(
      TypeError,
    );
    await expect(http.request('/', { operation: '' })).rejects.toThrow(
      new TypeError('expected operation to be a non-empty string, got ""'),
    );
    await expect(http.request('/', { headers: { a: 1 as unknown as string } })).rejects.toThrow(
      new TypeError('expected headers["a"] to be a string, got 1'),
    );
    expect(s.requests).toHaveLength(0);
  });

  it('rejects a misspelt option before anything is sent, even beside retry: false (plain JavaScript)', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const http = client({ baseUrl: s.origin, retry: { backoff: constantBackoff(0) } });
    const options = { retry: false, timeout: 100, foo: 1 } as HttpRequestOptions;
    await expect(http.request('/x', options)).rejects.toThrow(
      new TypeError(
        'unknown option "timeout" for request(); did you mean "timeoutMs"? expected one of method, headers, query, body, json, idempotencyKey, signal, timeoutMs, deadline, attemptTimeoutMs, maxBodyBytes, operation, retry',
      ),
    );
    await expect(http.stream('/x', { foo: 1 } as HttpRequestOptions)).rejects.toThrow(
      'unknown option "foo" for stream(); expected one of',
    );
    // The JSON helpers set the method and the body themselves: a method or body here would be ignored.
    await expect(http.get('/x', { method: 'POST' } as JsonRequestOptions)).rejects.toThrow(
      'unknown option "method" for get(); expected one of headers, query,',
    );
    await expect(http.post('/x', { a: 1 }, { body: 'b' } as JsonRequestOptions)).rejects.toThrow(
      'unknown option "body" for post(); expected one of',
    );
    await expect(http.request('/x', 5 as HttpRequestOptions)).rejects.toThrow(
      new TypeError('expected the options of request() to be an object, got 5'),
    );
    await expect(
      http.request('/x', { retry: true } as unknown as HttpRequestOptions),
    ).rejects.toThrow(
      new TypeError('expected retry to be false (send the call once) or left out, got boolean'),
    );
    expect(s.requests).toHaveLength(0);
  });

  it('sends a call with retry: false once, where the client would have retried it', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const http = client({ baseUrl: s.origin, retry: { backoff: constantBackoff(0) } });
    const once = await http.request('/once', { retry: false });
    expect(once.status).toBe(503);
    expect(once.attempts).toBe(1);
    expect(s.requests).toHaveLength(1);
    await expect(
      http.post('/keyed', { a: 1 }, { retry: false, idempotencyKey: 'k-1' }),
    ).rejects.toThrow(HttpStatusError);
    expect(s.requests).toHaveLength(2);
    // The same call without it is retried up to maxAttempts (3).
    await expect(http.request('/again')).rejects.toThrow(RetriesExhaustedError);
    expect(s.requests.map((r) => r.url)).toEqual(['/once', '/keyed', '/again', '/again', '/again']);
  });

  it("reports undici's refusal of a malformed header as it is, not as a network error", async () => {
    const s = await server();
    const error: unknown = await client({ baseUrl: s.origin })
      .request('/', { headers: { 'x-bad': 'a\r\nb' } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
    expect(s.requests).toHaveLength(0);
  });
});
