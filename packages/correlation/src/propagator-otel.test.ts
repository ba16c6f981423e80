import {
  ROOT_CONTEXT,
  type Span,
  TraceFlags,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logFields } from './logger.js';
import {
  contextFromHeaders,
  correlationPropagator,
  injectHeaders,
  outboundHeaders,
} from './propagator.js';
import { createRequestContext, runWithContext } from './request-context.js';

// An in-memory OpenTelemetry SDK, registered globally as an application would.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('correlation-test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await provider.shutdown();
});

beforeEach(() => exporter.reset());

function inSpan<T>(fn: (span: Span) => T, parent = context.active()): T {
  const span = tracer.startSpan('client', {}, parent);
  try {
    return context.with(trace.setSpan(parent, span), () => fn(span));
  } finally {
    span.end();
  }
}

const REMOTE_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('with an OpenTelemetry SDK registered', () => {
  it('lets the OTel propagator write the active span, so the headers name the span OTel records', () => {
    const request = createRequestContext({ correlationId: 'req-otel' });
    const { headers, spanId, traceId } = inSpan((span) => ({
      headers: injectHeaders<Record<string, string>>({}, request),
      ...span.spanContext(),
    }));
    expect(headers).toEqual({
      traceparent: `00-${traceId}-${spanId}-01`,
      'x-request-id': 'req-otel',
    });
    const [recorded] = exporter.getFinishedSpans();
    expect(recorded!.spanContext().spanId).toBe(spanId);
  });

  it('carries the span’s tracestate', () => {
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: REMOTE_TRACE,
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: new TraceState('congo=t61rcWkgMzE'),
    });
    const headers = inSpan(() => outboundHeaders(createRequestContext()), remote);
    expect(headers.tracestate).toBe('congo=t61rcWkgMzE');
    expect(headers.traceparent).toMatch(new RegExp(`^00-${REMOTE_TRACE}-[0-9a-f]{16}-01$`));
    expect(headers.traceparent).not.toContain('00f067aa0ba902b7');
  });

  it('writes the active span itself when the SDK registered no W3C propagator', () => {
    propagation.disable();
    try {
      const { headers, spanId, traceId } = inSpan((span) => ({
        headers: outboundHeaders(createRequestContext({ correlationId: 'no-prop' })),
        ...span.spanContext(),
      }));
      expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      expect(headers['x-request-id']).toBe('no-prop');
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });

  it('takes the sampled and random flags of the active span, and no other bit', () => {
    const withFlags = (traceFlags: number) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: REMOTE_TRACE,
        spanId: '00f067aa0ba902b7',
        traceFlags,
        isRemote: true,
      });
    const flagsIn = (traceFlags: number) =>
      context.with(withFlags(traceFlags), () => createRequestContext().trace.flags);
    expect(flagsIn(0x03)).toBe(0x03);
    expect(flagsIn(0x01)).toBe(0x01);
    expect(flagsIn(0xff)).toBe(0x03);
    propagation.disable();
    try {
      const headers = context.with(withFlags(0x03), () =>
        outboundHeaders(createRequestContext({ correlationId: 'random' })),
      );
      expect(headers.traceparent).toBe(`00-${REMOTE_TRACE}-00f067aa0ba902b7-03`);
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });

  it('propagates its own trace, a new span ID per call, when no span is active', () => {
    const request = contextFromHeaders({ traceparent: `00-${REMOTE_TRACE}-00f067aa0ba902b7-01` });
    const first = outboundHeaders(request);
    const second = outboundHeaders(request);
    expect(first.traceparent).toContain(REMOTE_TRACE);
    expect(first.traceparent).not.toBe(second.traceparent);
  });

  it('ignores the active span when openTelemetry is off', () => {
    const propagator = correlationPropagator({ openTelemetry: false });
    const request = createRequestContext({ correlationId: 'plain' });
    const { headers, spanId } = inSpan((span) => ({
      headers: propagator.headers(request),
      spanId: span.spanContext().spanId,
    }));
    expect(headers.traceparent).toContain(request.trace.traceId);
    expect(headers.traceparent).not.toContain(spanId);
  });

  it('takes the trace of an active server span when a request comes in', () => {
    const { request, traceId } = inSpan((span) => ({
      request: contextFromHeaders({ 'x-request-id': 'in-1' }),
      traceId: span.spanContext().traceId,
    }));
    expect(request.trace.traceId).toBe(traceId);
    expect(request.correlationId).toBe('in-1');
    const made = inSpan((span) => [
      createRequestContext().trace.traceId,
      span.spanContext().traceId,
    ]);
    expect(made[0]).toBe(made[1]);
  });

  it('keeps the trace of a server span and the headers of the next hop in one trace', () => {
    // Service A handles a request in a span and calls service B, which extracts what A sent.
    const sent = inSpan(() =>
      runWithContext(contextFromHeaders({ 'x-request-id': 'hop' }), () => outboundHeaders()),
    );
    const atB = correlationPropagator({ openTelemetry: false }).extract(sent);
    const [spanOfA] = exporter.getFinishedSpans();
    expect(atB.trace.traceId).toBe(spanOfA!.spanContext().traceId);
    expect(atB.trace.parentId).toBe(spanOfA!.spanContext().spanId);
    expect(atB.correlationId).toBe('hop');
  });

  it('logs the active span’s IDs', () => {
    const fields = inSpan((span) => ({
      fields: runWithContext(createRequestContext({ correlationId: 'log-1' }), () => logFields()),
      ...span.spanContext(),
    }));
    expect(fields.fields).toEqual({
      correlation_id: 'log-1',
      trace_id: fields.traceId,
      span_id: fields.spanId,
    });
  });
});
