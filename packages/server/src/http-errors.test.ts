import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  IsolatedCircuitError,
  TimeoutError,
} from '@bulwark/core';
import {
  BodyTooLargeError,
  HttpResponse,
  HttpStatusError,
  NetworkError,
  RetriesExhaustedError,
  StreamBodyNotReplayableError,
} from '@bulwark/http-client';
import { rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  MAX_FORWARDED_RETRY_AFTER_SECONDS,
  expiredBudgetError,
  httpAnswerFor,
  retryAfterSeconds,
  shedError,
  withHttpFields,
} from './http-errors.js';

const ORIGIN = 'http://payments.internal:8080';
const PROBLEM = { 'content-type': 'application/problem+json' };

function refused(): NetworkError {
  const cause = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:8080'), {
    code: 'ECONNREFUSED',
  });
  return new NetworkError('GET', ORIGIN, false, cause);
}

function statusError(status: number, headers: Record<string, string> = {}): HttpStatusError {
  const body = Buffer.from('{"secret":"upstream body"}');
  return new HttpStatusError(new HttpResponse(status, '', headers, body, 1), 'GET', ORIGIN);
}

function exhausted(cause: unknown, lastStatus?: number): RetriesExhaustedError {
  return new RetriesExhaustedError('GET', ORIGIN, 3, lastStatus, cause);
}

/** Everything an answer sends, as text: nothing of the error's inside may be in it. */
function sent(error: unknown): string {
  const answer = httpAnswerFor(error);
  return JSON.stringify(answer);
}

describe('httpAnswerFor: a dependency that failed', () => {
  it.each([
    ['a network error', refused()],
    ['a body larger than the limit', new BodyTooLargeError('GET', ORIGIN, 1024, 4096)],
    ['an answer with an error status', statusError(500)],
    ['a 404 from the dependency, not the caller’s 404', statusError(404)],
    ['retries exhausted on network errors', exhausted(refused())],
    ['retries exhausted on 503s', exhausted(statusError(503), 503)],
    ['retries exhausted with an unknown last failure', exhausted(new Error('odd'))],
  ])('answers %s with 502', (_name, error) => {
    expect(httpAnswerFor(error)).toEqual({
      statusCode: 502,
      headers: PROBLEM,
      body: {
        type: 'urn:bulwark:dependency-failed',
        title: 'Dependency failed',
        status: 502,
        detail: 'A service this request depends on failed or could not be reached.',
      },
    });
  });

  it('says nothing of the dependency: no origin, no message, no upstream body', () => {
    for (const error of [
      refused(),
      statusError(500),
      exhausted(refused()),
      exhausted(statusError(503), 503),
    ]) {
      const text = sent(error);
      expect(text).not.toContain('payments.internal');
      expect(text).not.toContain('10.1.2.3');
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('upstream body');
      expect(text).not.toContain('BULWARK_');
    }
  });
});

describe('httpAnswerFor: time ran out', () => {
  it('answers an attempt timeout with 504 dependency-timeout', () => {
    expect(httpAnswerFor(new TimeoutError(50))).toEqual({
      statusCode: 504,
      headers: PROBLEM,
      body: {
        type: 'urn:bulwark:dependency-timeout',
        title: 'Dependency timed out',
        status: 504,
        detail: 'A service this request depends on did not answer in time.',
      },
    });
  });

  it('answers an exceeded deadline with 504 deadline-exceeded, without the budget', () => {
    const answer = httpAnswerFor(new DeadlineExceededError(100));
    expect(answer).toMatchObject({
      statusCode: 504,
      headers: PROBLEM,
      body: { type: 'urn:bulwark:deadline-exceeded', title: 'Deadline exceeded', status: 504 },
    });
    expect(JSON.stringify(answer)).not.toContain('100');
  });

  it('answers retries that ran out on timeouts with 504, as the caller waited for them', () => {
    expect(httpAnswerFor(exhausted(new TimeoutError(50)))?.body.type).toBe(
      'urn:bulwark:dependency-timeout',
    );
    const oneShot = new StreamBodyNotReplayableError(
      'POST',
      ORIGIN,
      undefined,
      new TimeoutError(50),
    );
    expect(httpAnswerFor(oneShot)?.statusCode).toBe(504);
  });
});

describe('httpAnswerFor: try again later', () => {
  it('answers a full bulkhead or shedding with 503 overloaded and its hint as Retry-After, rounded up', () => {
    expect(httpAnswerFor(new BulkheadRejectedError('full', 10, 0, 1500))).toEqual({
      statusCode: 503,
      headers: { ...PROBLEM, 'retry-after': '2' },
      body: {
        type: 'urn:bulwark:overloaded',
        title: 'Service overloaded',
        status: 503,
        detail: 'The service is at capacity. Retry after the time in Retry-After.',
      },
    });
    expect(httpAnswerFor(new BulkheadRejectedError('queue-timeout', 1, 1))?.headers).toEqual({
      ...PROBLEM,
      'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS),
    });
  });

  it('answers an open circuit with 503 and the time until its trial call as Retry-After', () => {
    expect(httpAnswerFor(new BrokenCircuitError('open', 'db', 30_000))).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': '30' },
      body: { type: 'urn:bulwark:dependency-unavailable', status: 503 },
    });
  });

  it('answers an isolated circuit, which has no trial time, with the default Retry-After', () => {
    expect(httpAnswerFor(new IsolatedCircuitError('db'))).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) },
      body: { type: 'urn:bulwark:dependency-unavailable' },
    });
  });

  it('answers a service with no endpoint available (@bulwark/service-client) with 503 and the time until one is back', () => {
    // Shaped as @bulwark/service-client's NoEndpointsAvailableError, which depends on this
    // package's neighbours and cannot be a dependency of it: recognised by brand and code.
    const noEndpoints = (retryAfterMs: number | undefined) =>
      Object.defineProperties(new Error('no endpoint of service inventory is available'), {
        [Symbol.for('bulwark.error')]: { value: true },
        code: { value: 'BULWARK_NO_ENDPOINTS' },
        retryAfterMs: { value: retryAfterMs },
      });
    expect(httpAnswerFor(noEndpoints(4_200))).toEqual({
      statusCode: 503,
      headers: { ...PROBLEM, 'retry-after': '5' },
      body: {
        type: 'urn:bulwark:dependency-unavailable',
        title: 'Dependency unavailable',
        status: 503,
        detail:
          'A service this request depends on is failing, so calls to it are paused. Retry after the time in Retry-After.',
      },
    });
    expect(httpAnswerFor(noEndpoints(undefined))?.headers['retry-after']).toBe(
      String(DEFAULT_RETRY_AFTER_SECONDS),
    );
  });

  it('answers a dependency’s 429 with 503 and its delta-seconds Retry-After, direct or after retries', () => {
    const limited = statusError(429, { 'retry-after': '7' });
    for (const error of [limited, exhausted(limited, 429)]) {
      expect(httpAnswerFor(error)).toMatchObject({
        statusCode: 503,
        headers: { ...PROBLEM, 'retry-after': '7' },
        body: { type: 'urn:bulwark:dependency-rate-limited', status: 503 },
      });
    }
  });

  it('answers an exhausted outbound quota (@bulwark/rate-limit) with 503 and its wait, rounded up', async () => {
    const quota = rateLimit({
      limiter: tokenBucket({ name: 'partner', limit: 1, windowMs: 10_000 }),
    });
    await quota.execute(() => 'first call takes the only permit');
    const refusal: unknown = await quota.execute(() => 'refused').catch((error: unknown) => error);
    const answer = httpAnswerFor(refusal);
    expect(answer).toMatchObject({
      statusCode: 503,
      headers: { ...PROBLEM, 'retry-after': expect.any(String) as string },
      body: { type: 'urn:bulwark:dependency-rate-limited', status: 503 },
    });
    expect(Number(answer?.headers['retry-after'])).toBeGreaterThanOrEqual(9);
    expect(Number(answer?.headers['retry-after'])).toBeLessThanOrEqual(10);
    expect(JSON.stringify(answer)).not.toContain('partner');
  });

  it.each([
    ['absent', undefined, DEFAULT_RETRY_AFTER_SECONDS],
    ['an HTTP-date', 'Wed, 21 Oct 2015 07:28:00 GMT', DEFAULT_RETRY_AFTER_SECONDS],
    ['garbage', '7; drop table', DEFAULT_RETRY_AFTER_SECONDS],
    ['negative', '-5', DEFAULT_RETRY_AFTER_SECONDS],
    ['too long', '1'.repeat(40), DEFAULT_RETRY_AFTER_SECONDS],
    ['zero', '0', 1],
    ['a day', '86400', MAX_FORWARDED_RETRY_AFTER_SECONDS],
  ])('checks a dependency’s Retry-After before passing it on: %s', (_name, value, seconds) => {
    const headers: Record<string, string> = value === undefined ? {} : { 'retry-after': value };
    expect(httpAnswerFor(statusError(429, headers))?.headers['retry-after']).toBe(String(seconds));
  });
});

describe('httpAnswerFor: what it recognises', () => {
  it('answers a cancelled call with 499, the status for a client that went away', () => {
    expect(httpAnswerFor(new CancelledError())).toMatchObject({
      statusCode: 499,
      body: { type: 'urn:bulwark:client-closed-request', status: 499 },
    });
  });

  it('recognises errors of another installed copy by brand and code, not by class', () => {
    const foreign = Object.defineProperties(new Error('GET http://x failed'), {
      [Symbol.for('bulwark.error')]: { value: true },
      code: { value: 'BULWARK_NETWORK' },
    });
    expect(foreign).not.toBeInstanceOf(NetworkError);
    expect(httpAnswerFor(foreign)?.statusCode).toBe(502);
  });

  it('leaves every other error to the application', () => {
    expect(httpAnswerFor(new Error('boom'))).toBeUndefined();
    // A code alone is not a brand.
    expect(httpAnswerFor({ code: 'BULWARK_TIMEOUT' })).toBeUndefined();
    // A branded error whose code this version does not know.
    const future = Object.defineProperties(new Error('?'), {
      [Symbol.for('bulwark.error')]: { value: true },
      code: { value: 'BULWARK_SOMETHING_NEW' },
    });
    expect(httpAnswerFor(future)).toBeUndefined();
    expect(httpAnswerFor(undefined)).toBeUndefined();
    // An application's error wrapping one of Bulwark's is the application's to answer.
    expect(httpAnswerFor(new Error('load failed', { cause: refused() }))).toBeUndefined();
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least 1, defaulting when no hint is known', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(0)).toBe(DEFAULT_RETRY_AFTER_SECONDS);
    expect(retryAfterSeconds(undefined)).toBe(DEFAULT_RETRY_AFTER_SECONDS);
    expect(retryAfterSeconds(Number.NaN)).toBe(DEFAULT_RETRY_AFTER_SECONDS);
  });
});

describe('errors Bulwark raises itself', () => {
  it('carry the status and Retry-After that framework default handlers read, and no content type', () => {
    const error = shedError('event-loop-delay', 10, 5, 2500);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error.reason).toBe('shed');
    expect(error.message).toBe(
      'load shed (event-loop-delay): request refused to protect the service',
    );
    expect((error as unknown as { statusCode: unknown }).statusCode).toBe(503);
    expect((error as unknown as { status: unknown }).status).toBe(503);
    expect((error as unknown as { headers: unknown }).headers).toEqual({ 'retry-after': '3' });
    expect((error as unknown as { expose: unknown }).expose).toBe(true);
  });

  it('answer a spent budget with 504 and no headers', () => {
    const error = expiredBudgetError();
    expect((error as unknown as { statusCode: unknown }).statusCode).toBe(504);
    expect((error as unknown as { headers?: unknown }).headers).toBeUndefined();
  });

  it('keep their fields when given them twice', () => {
    const error = withHttpFields(new Error('x'), httpAnswerFor(new TimeoutError(1))!);
    expect(() => withHttpFields(error, httpAnswerFor(new TimeoutError(1))!)).not.toThrow();
  });
});
