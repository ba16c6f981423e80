import { openTelemetryListener, tracedAttempt, tracedOperation } from '@bulwark/telemetry';
import { fault } from '@bulwark/testing';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { consecutive } from '@bulwark/circuit-breaker';
import { constantBackoff } from '@bulwark/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { client, server } from './test-helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});

beforeEach(() => exporter.reset());

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('tracing through the policies option', () => {
  it('makes an operation span per request and a live span per attempt, the traceparent its child', async () => {
    const s = await server();
    s.script(fault.respond(503), fault.respond(200, { body: 'ok' }));
    const http = client({
      baseUrl: s.origin,
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      listener: openTelemetryListener(),
      policies: { call: tracedOperation(), attempt: tracedAttempt() },
    });

    expect((await http.request('/items/1')).text()).toBe('ok');

    const spans = exporter.getFinishedSpans();
    const operation = spans.find((span) => span.name === `GET ${s.origin}`)!;
    expect(operation).toBeDefined();
    expect(operation.attributes).toMatchObject({
      'bulwark.outcome': 'success',
      'bulwark.attempts': 2,
    });
    const attempts = spans.filter((span) => span.name === `GET ${s.origin} attempt`);
    expect(attempts.map((span) => span.attributes['bulwark.attempt'])).toEqual([1, 2]);
    expect(attempts.every((span) => parentOf(span) === idOf(operation))).toBe(true);
    expect(operation.events.map((event) => event.name)).toEqual(['retry-scheduled']);
    // Each attempt's traceparent names that attempt's trace, so the server's span nests under it.
    for (const [i, request] of s.requests.entries()) {
      const [, traceId, parentId] = String(request.headers.traceparent).split('-');
      expect(traceId).toBe(operation.spanContext().traceId);
      expect(parentId).toBe(idOf(attempts[i]!));
    }
  });

  it('refuses policies that are not policies', () => {
    expect(() => client({ policies: { call: {} as never } })).toThrow(
      new TypeError(
        'expected policies.call to be a policy with an execute() method, got an object',
      ),
    );
    expect(() => client({ policies: { around: tracedOperation() } as never })).toThrow(
      'unknown option "policies.around" for createHttpClient(); expected one of call, attempt',
    );
  });
});

describe('attempt spans follow the OpenTelemetry HTTP client conventions', () => {
  const attemptsOf = (origin: string) =>
    exporter.getFinishedSpans().filter((span) => span.name === `GET ${origin} attempt`);
  const exceptions = (span: ReadableSpan) =>
    span.events.filter((event) => event.name === 'exception');

  it.each([
    ['live, from tracedAttempt()', true],
    ['made from the attempt events', false],
  ])(
    'puts method, status, server, redacted url and resend count on each attempt span (%s)',
    async (_, live) => {
      const s = await server();
      s.script(fault.respond(503), fault.respond(503), fault.respond(200, { body: 'ok' }));
      const http = client({
        baseUrl: s.origin,
        retry: { maxAttempts: 3, backoff: constantBackoff(0) },
        listener: openTelemetryListener(),
        policies: live
          ? { call: tracedOperation(), attempt: tracedAttempt() }
          : { call: tracedOperation() },
      });

      await http.request('/items/1', { query: { token: 'secret', page: 2 } });

      const attempts = attemptsOf(s.origin);
      expect(attempts).toHaveLength(3);
      const common = {
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': s.port,
        'url.full': `${s.origin}/items/1?REDACTED`,
      };
      expect(attempts.map((span) => span.attributes)).toEqual([
        expect.objectContaining({
          ...common,
          'http.response.status_code': 503,
          'error.type': '503',
          'bulwark.outcome': 'failure',
        }),
        expect.objectContaining({
          ...common,
          'http.response.status_code': 503,
          'http.request.resend_count': 1,
          'error.type': '503',
        }),
        expect.objectContaining({
          ...common,
          'http.response.status_code': 200,
          'http.request.resend_count': 2,
          'bulwark.outcome': 'success',
        }),
      ]);
      expect(attempts[0]!.attributes).not.toHaveProperty('http.request.resend_count');
      expect(attempts[2]!.attributes).not.toHaveProperty('error.type');
      expect(attempts.map((span) => span.kind)).toEqual([
        SpanKind.CLIENT,
        SpanKind.CLIENT,
        SpanKind.CLIENT,
      ]);
      expect(attempts.map((span) => span.status.code)).toEqual([
        SpanStatusCode.ERROR,
        SpanStatusCode.ERROR,
        SpanStatusCode.UNSET,
      ]);
      // A status is not an exception: no exception event for a 503 answer.
      expect(attempts.flatMap(exceptions)).toEqual([]);
      expect(JSON.stringify(attempts.map((span) => span.attributes))).not.toContain('secret');
      const operation = exporter.getFinishedSpans().find((span) => span.name === `GET ${s.origin}`);
      expect(operation!.kind).toBe(SpanKind.INTERNAL);
    },
  );

  it('records the exception, and no status, for an attempt the network failed', async () => {
    const s = await server();
    s.script(fault.resetBeforeHeaders(), fault.respond(200));
    const http = client({
      baseUrl: s.origin,
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      listener: openTelemetryListener(),
      policies: { call: tracedOperation(), attempt: tracedAttempt() },
    });

    await http.request('/');

    const [failed, succeeded] = attemptsOf(s.origin);
    expect(failed!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'error.type': 'BULWARK_NETWORK',
    });
    expect(failed!.attributes).not.toHaveProperty('http.response.status_code');
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(exceptions(failed!)).toHaveLength(1);
    expect(succeeded!.attributes).toMatchObject({
      'http.response.status_code': 200,
      'http.request.resend_count': 1,
    });
  });

  it('marks a 404 the retry let through as an error of the attempt span, as the conventions say for clients', async () => {
    const s = await server({ fallback: fault.respond(404) });
    const http = client({
      baseUrl: s.origin,
      listener: openTelemetryListener(),
      policies: { call: tracedOperation(), attempt: tracedAttempt() },
    });

    expect((await http.request('/missing')).status).toBe(404);

    const [attempt] = attemptsOf(s.origin);
    expect(attempt!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt!.attributes).toMatchObject({
      'http.response.status_code': 404,
      'error.type': '404',
      'bulwark.outcome': 'success',
    });
    expect(exceptions(attempt!)).toEqual([]);
  });

  it('keeps the query in url.full when told to', async () => {
    const s = await server();
    const http = client({
      baseUrl: s.origin,
      listener: openTelemetryListener({ urlQuery: 'keep' }),
      policies: { call: tracedOperation(), attempt: tracedAttempt({ urlQuery: 'keep' }) },
    });
    const withoutLive = client({
      baseUrl: s.origin,
      listener: openTelemetryListener({ urlQuery: 'keep' }),
      policies: { call: tracedOperation() },
    });

    await http.request('/search', { query: { q: 'shoes' } });
    await withoutLive.request('/search', { query: { q: 'boots' } });

    expect(attemptsOf(s.origin).map((span) => span.attributes['url.full'])).toEqual([
      `${s.origin}/search?q=shoes`,
      `${s.origin}/search?q=boots`,
    ]);
  });

  it('describes the one attempt of a call made with retries off', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const http = client({
      baseUrl: s.origin,
      retry: false,
      listener: openTelemetryListener(),
      policies: { call: tracedOperation() },
    });

    expect((await http.request('/a')).status).toBe(503);

    const [attempt] = attemptsOf(s.origin);
    expect(attempt!.kind).toBe(SpanKind.CLIENT);
    expect(attempt!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 503,
      'url.full': `${s.origin}/a`,
      'error.type': '503',
    });
  });

  it('puts no HTTP attributes on an attempt the breaker rejected, which sent nothing', async () => {
    const s = await server({ fallback: fault.respond(503) });
    const http = client({
      baseUrl: s.origin,
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      breaker: { strategy: consecutive({ threshold: 1 }) },
      listener: openTelemetryListener(),
      policies: { call: tracedOperation(), attempt: tracedAttempt() },
    });

    await expect(http.request('/')).rejects.toMatchObject({ code: 'BULWARK_BROKEN_CIRCUIT' });

    const [sent, rejected] = attemptsOf(s.origin);
    expect(sent!.attributes).toMatchObject({ 'http.response.status_code': 503 });
    expect(rejected!.attributes).toMatchObject({ 'error.type': 'BULWARK_BROKEN_CIRCUIT' });
    expect(Object.keys(rejected!.attributes).filter((key) => key.startsWith('http.'))).toEqual([]);
    expect(s.requests).toHaveLength(1);
  });
});
