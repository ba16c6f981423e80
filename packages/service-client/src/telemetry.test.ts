import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault } from '@bulwark/testing';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Events, client, replicas, seeded } from './test-helpers.js';

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

/** The sample lines of a scrape whose name starts with `prefix`. */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('metrics through @bulwark/telemetry', () => {
  it('counts each call once by operation, each attempt by the retry, and the endpoints, ejections and breakers by service', async () => {
    const clock = new FakeClock();
    const [sick, healthy] = await replicas(2, { clock });
    sick!.script(...fault.burst(5, 503));
    const registry = new Registry();
    const inventory = client({
      name: 'inventory',
      endpoints: [sick!.origin, healthy!.origin],
      clock,
      random: seeded(5),
      retry: { backoff: constantBackoff(0) },
      metrics: { registry },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    let calls = 0;
    while (sick!.requests.length < 5) {
      await getItem();
      calls++;
    }

    expect(await lines(registry, 'bulwark_calls_total')).toEqual([
      `bulwark_calls_total{operation="inventory.getItem",outcome="success"} ${calls}`,
    ]);
    expect(await lines(registry, 'bulwark_attempts_total')).toEqual([
      `bulwark_attempts_total{policy="inventory",operation="inventory.getItem",outcome="success"} ${calls}`,
      'bulwark_attempts_total{policy="inventory",operation="inventory.getItem",outcome="failure"} 5',
    ]);
    expect(await lines(registry, 'bulwark_endpoint')).toEqual([
      `bulwark_endpoint_ejections_total{service="inventory",endpoint="${sick!.origin}",reason="consecutive-failures"} 1`,
      'bulwark_endpoints_ejected{service="inventory"} 1',
      'bulwark_endpoints{service="inventory"} 2',
      `bulwark_endpoint_in_flight{service="inventory",endpoint="${sick!.origin}"} 0`,
      `bulwark_endpoint_in_flight{service="inventory",endpoint="${healthy!.origin}"} 0`,
    ]);
    expect(
      await lines(registry, 'bulwark_breaker_state{policy="inventory",origin="' + healthy!.origin),
    ).toEqual([
      `bulwark_breaker_state{policy="inventory",origin="${healthy!.origin}",state="closed"} 1`,
      `bulwark_breaker_state{policy="inventory",origin="${healthy!.origin}",state="open"} 0`,
      `bulwark_breaker_state{policy="inventory",origin="${healthy!.origin}",state="half-open"} 0`,
      `bulwark_breaker_state{policy="inventory",origin="${healthy!.origin}",state="isolated"} 0`,
    ]);

    // The ejection ends by itself: the scrape reads it so.
    await clock.advance(30_000);
    expect(await lines(registry, 'bulwark_endpoints_ejected')).toEqual([
      'bulwark_endpoints_ejected{service="inventory"} 0',
    ]);
    await inventory.close();
    expect(await lines(registry, 'bulwark_endpoint_in_flight')).toEqual([]);
  });
});

describe('traces through @bulwark/telemetry', () => {
  it('makes a span per call named after the operation, with a client span per attempt to the endpoint it went to, each on its own replica', async () => {
    const servers = await replicas(2);
    for (const server of servers) server.script(fault.respond(503));
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      tracing: true,
      listener: events.listener,
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/:id' });
    await expect(getItem({ params: { id: '42' } })).rejects.toMatchObject({ lastStatus: 503 });

    const spans = exporter.getFinishedSpans();
    const operation = spans.find((s) => s.name === 'inventory.getItem')!;
    const attempts = spans.filter((s) => s.name === 'inventory.getItem attempt');
    expect(operation.attributes).toMatchObject({
      'bulwark.attempts': 2,
      'bulwark.outcome': 'failure',
    });
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CLIENT);
      expect(attempt.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    }
    const urls = attempts.map((a) => a.attributes['url.full']).sort();
    expect(urls).toEqual(servers.map((s) => `${s.origin}/items/42`).sort());
    expect(attempts.map((a) => a.attributes['http.response.status_code'])).toEqual([503, 503]);
    // Each attempt's traceparent names its own span.
    for (const server of servers) {
      const traceparent = String(server.requests[0]!.headers.traceparent);
      expect(attempts.map((a) => a.spanContext().spanId)).toContain(traceparent.split('-')[2]);
    }
    // The retry's attempt events describe the request each attempt sent.
    expect(
      events
        .of('attempt')
        .map((e) => e.http?.url)
        .sort(),
    ).toEqual(urls);
  });
});
