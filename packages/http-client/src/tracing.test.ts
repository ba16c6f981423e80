import { openTelemetryListener, tracedAttempt, tracedOperation } from '@bulwark/telemetry';
import { fault } from '@bulwark/testing';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
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
