import type { PGlite } from '@electric-sql/pglite';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  pgliteDatabase,
  startPglite,
  uniqueTable,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

it('records a span per saga with a child per step attempt, errors marked', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  let failures = 1;
  const saga = defineSaga({ name: 'order' })
    .step({ name: 'reserve', action: () => 'r', compensate: () => undefined })
    .step({
      name: 'charge',
      action: () => {
        if (failures-- > 0) throw new Error('503');
        return 'c';
      },
      compensate: () => undefined,
      retry: { backoff: () => 0 },
    });
  const orchestrator = createOrchestrator({
    database: pgliteDatabase(db),
    sagas: [saga],
    table: uniqueTable(),
    tracer,
  });
  await orchestrator.migrate();
  await orchestrator.run(saga, null, { id: 'o-1' });
  const spans = exporter.getFinishedSpans();
  const root = spans.find((span) => span.name === 'saga order')!;
  expect(root.attributes).toEqual({
    'bulwark.saga.name': 'order',
    'bulwark.saga.id': 'o-1',
    'bulwark.saga.resumed': false,
    'bulwark.saga.outcome': 'completed',
  });
  const steps = spans.filter((span) => span.name.startsWith('saga step'));
  expect(
    steps.map((span) => [span.name, span.attributes['bulwark.saga.attempt'], span.status.code]),
  ).toEqual([
    ['saga step reserve', 1, 0],
    ['saga step charge', 1, 2],
    ['saga step charge', 2, 0],
  ]);
  for (const span of steps) {
    expect(span.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(span.spanContext().traceId).toBe(root.spanContext().traceId);
  }
  expect(steps[1]!.events.map((event) => event.name)).toEqual(['exception']);
});

it('refuses a tracer that is not one', () => {
  const saga = defineSaga({
    name: 'o',
    steps: [{ name: 'a', action: () => 1, compensate: () => undefined }],
  });
  expect(() =>
    createOrchestrator({ database: pgliteDatabase(db), sagas: [saga], tracer: {} as never }),
  ).toThrow('expected tracer to be an OpenTelemetry Tracer, got an object');
});
