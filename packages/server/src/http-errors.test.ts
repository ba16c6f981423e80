import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  IsolatedCircuitError,
  TimeoutError,
} from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  expiredBudgetError,
  httpAnswerFor,
  retryAfterSeconds,
  shedError,
  withHttpFields,
} from './http-errors.js';

describe('httpAnswerFor', () => {
  it('answers a rejected bulkhead with 503 and its hint as Retry-After, rounded up to seconds', () => {
    const answer = httpAnswerFor(new BulkheadRejectedError('full', 10, 0, 1500));
    expect(answer?.statusCode).toBe(503);
    expect(answer?.headers).toEqual({ 'retry-after': '2' });
    expect(answer?.body).toMatchObject({
      statusCode: 503,
      code: 'BULWARK_BULKHEAD_REJECTED',
      error: 'Service Unavailable',
    });
  });

  it('answers an open or isolated circuit with 503 and Retry-After', () => {
    expect(httpAnswerFor(new BrokenCircuitError('open', 'db', 30_000))).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': '30' },
    });
    expect(httpAnswerFor(new IsolatedCircuitError('db'))).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) },
      body: { code: 'BULWARK_ISOLATED_CIRCUIT' },
    });
  });

  it('answers an exceeded deadline or a timeout with 504', () => {
    expect(httpAnswerFor(new DeadlineExceededError(100))).toMatchObject({
      statusCode: 504,
      headers: {},
      body: {
        error: 'Gateway Timeout',
        code: 'BULWARK_DEADLINE_EXCEEDED',
        message: 'deadline of 100 ms exceeded',
      },
    });
    expect(httpAnswerFor(new TimeoutError(50))?.statusCode).toBe(504);
  });

  it('answers a cancelled call with 499, the status for a client that went away', () => {
    expect(httpAnswerFor(new CancelledError())?.statusCode).toBe(499);
  });

  it('leaves every other error to the application', () => {
    expect(httpAnswerFor(new Error('boom'))).toBeUndefined();
    expect(httpAnswerFor({ code: 'BULWARK_TIMEOUT' })).toBeUndefined();
    expect(httpAnswerFor(undefined)).toBeUndefined();
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
  it('carry the status and headers that framework default handlers read', () => {
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
