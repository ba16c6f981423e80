import { isBulwarkError, TimeoutError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import {
  BodyTooLargeError,
  HttpErrorCode,
  HttpStatusError,
  NetworkError,
  RetriesExhaustedError,
  StreamBodyNotReplayableError,
  isBodyTooLargeError,
  isHttpStatusError,
  isNetworkError,
  isRetriesExhaustedError,
  isStreamBodyNotReplayableError,
} from './errors.js';
import { HttpResponse } from './response.js';

const O = 'https://api.example.com';
const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const response = new HttpResponse(
  503,
  'Service Unavailable',
  { 'retry-after': '1' },
  Buffer.from('busy'),
  2,
);

describe('the HTTP client errors', () => {
  const cases = [
    {
      error: new HttpStatusError(response, 'GET', O),
      guard: isHttpStatusError,
      code: HttpErrorCode.HttpStatus,
      name: 'HttpStatusError',
      message: `GET ${O} answered 503 Service Unavailable`,
    },
    {
      error: new RetriesExhaustedError('GET', O, 3, 503, new HttpStatusError(response, 'GET', O)),
      guard: isRetriesExhaustedError,
      code: HttpErrorCode.RetriesExhausted,
      name: 'RetriesExhaustedError',
      message: `GET ${O} gave up after 3 attempts; last: status 503`,
    },
    {
      error: new BodyTooLargeError('GET', O, 1024, undefined),
      guard: isBodyTooLargeError,
      code: HttpErrorCode.BodyTooLarge,
      name: 'BodyTooLargeError',
      message: `the response body of GET ${O} exceeds the limit of 1024 bytes`,
    },
    {
      error: new StreamBodyNotReplayableError('PUT', O, 503, response),
      guard: isStreamBodyNotReplayableError,
      code: HttpErrorCode.BodyNotReplayable,
      name: 'StreamBodyNotReplayableError',
      message: `PUT ${O} failed (status 503) and would be retried, but its body is a one-shot stream that was already sent; pass body: () => stream to allow retries`,
    },
    {
      error: new NetworkError('POST', O, false, reset),
      guard: isNetworkError,
      code: HttpErrorCode.Network,
      name: 'NetworkError',
      message: `POST ${O} failed before any response: read ECONNRESET (ECONNRESET)`,
    },
  ];

  for (const { error, guard, code, name, message } of cases) {
    it(`${name}: code ${code}, its guard, core's isBulwarkError, and what happened in the message`, () => {
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(error.message).toBe(message);
      expect(guard(error)).toBe(true);
      expect(isBulwarkError(error)).toBe(true);
      for (const other of cases) if (other.guard !== guard) expect(other.guard(error)).toBe(false);
    });
  }

  it('recognises errors from another installed copy by brand and code, not by class', () => {
    const foreign = Object.assign(new Error('x'), { code: 'BULWARK_NETWORK' });
    Object.defineProperty(foreign, Symbol.for('bulwark.error'), { value: true });
    expect(isNetworkError(foreign)).toBe(true);
    expect(isNetworkError({ code: 'BULWARK_NETWORK' })).toBe(false);
    expect(isNetworkError(null)).toBe(false);
    expect(isHttpStatusError('BULWARK_HTTP_STATUS')).toBe(false);
  });

  it('says in RetriesExhaustedError which network error or timeout came last', () => {
    const network = new RetriesExhaustedError(
      'GET',
      O,
      2,
      undefined,
      new NetworkError('GET', O, true, reset),
    );
    expect(network.message).toBe(
      `GET ${O} gave up after 2 attempts; last: network error after the response headers: read ECONNRESET (ECONNRESET)`,
    );
    const timeout = new RetriesExhaustedError('GET', O, 1, undefined, new TimeoutError(500));
    expect(timeout.message).toBe(
      `GET ${O} gave up after 1 attempt; last: operation timed out after 500 ms (BULWARK_TIMEOUT)`,
    );
    expect(new RetriesExhaustedError('GET', O, 1, undefined, 'odd').message).toContain('last: odd');
  });

  it('carries the status, headers and response of an HttpStatusError, and the causes of the others', () => {
    const status = new HttpStatusError(response, 'GET', O);
    expect(status).toMatchObject({
      status: 503,
      statusText: 'Service Unavailable',
      method: 'GET',
      origin: O,
    });
    expect(status.headers['retry-after']).toBe('1');
    expect(status.response.text()).toBe('busy');
    expect(new NetworkError('GET', O, true, reset)).toMatchObject({
      committed: true,
      cause: reset,
      malformedResponse: false,
    });
    const parse = Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), {
      name: 'HTTPParserError',
    });
    const malformed = new NetworkError('GET', O, true, parse, true);
    expect(malformed).toMatchObject({ committed: true, malformedResponse: true, cause: parse });
    expect(malformed.message).toBe(
      `GET ${O} failed on a response that breaks HTTP/1.1: Response does not match the HTTP/1.1 protocol`,
    );
    expect(new RetriesExhaustedError('GET', O, 3, 503, reset)).toMatchObject({
      attempts: 3,
      lastStatus: 503,
      cause: reset,
    });
    expect(new BodyTooLargeError('GET', O, 10, 20)).toMatchObject({
      limitBytes: 10,
      declaredBytes: 20,
    });
    expect(
      new HttpStatusError(new HttpResponse(599, '', {}, Buffer.alloc(0), 1), 'GET', O).message,
    ).toBe(`GET ${O} answered 599`);
  });
});
