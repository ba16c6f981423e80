import { createRequire } from 'node:module';
import type * as OpenTelemetryApiModule from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { describeValue } from '@bulwark/core/internal';

/**
 * @opentelemetry/api is an optional peer: it is loaded when an orchestrator is given a tracer,
 * not when this package is imported. In Node it resolves to the same build the application's own
 * import gets, so the context keys are shared.
 */
const require = createRequire(import.meta.url);
type OpenTelemetryApi = typeof OpenTelemetryApiModule;

/** Span attributes, named as @bulwark/telemetry names its own. */
const Attr = {
  sagaId: 'bulwark.saga.id',
  sagaName: 'bulwark.saga.name',
  outcome: 'bulwark.saga.outcome',
  step: 'bulwark.saga.step',
  phase: 'bulwark.saga.phase',
  attempt: 'bulwark.saga.attempt',
} as const;

export function checkTracer(value: unknown): asserts value is Tracer {
  const tracer = value as Partial<Tracer> | null;
  if (typeof tracer !== 'object' || tracer === null || typeof tracer.startSpan !== 'function') {
    throw new TypeError(
      `expected tracer to be an OpenTelemetry Tracer, got ${describeValue(value)}`,
    );
  }
}

/** A span per saga run on this instance, and a child per attempt of each step. */
export class SagaTracing {
  private readonly api: OpenTelemetryApi;

  constructor(private readonly tracer: Tracer) {
    try {
      this.api = require('@opentelemetry/api') as OpenTelemetryApi;
    } catch (error: unknown) {
      throw new Error(
        'createOrchestrator({ tracer }) needs the optional peer dependency @opentelemetry/api: npm install @opentelemetry/api',
        { cause: error },
      );
    }
  }

  startSaga(name: string, id: string, resumed: boolean): Span {
    return this.tracer.startSpan(`saga ${name}`, {
      attributes: { [Attr.sagaName]: name, [Attr.sagaId]: id, 'bulwark.saga.resumed': resumed },
    });
  }

  endSaga(span: Span, outcome: string | undefined, error: unknown): void {
    if (outcome !== undefined) span.setAttribute(Attr.outcome, outcome);
    if (error !== undefined || (outcome !== undefined && outcome !== 'completed')) {
      span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    }
    span.end();
  }

  startStep(parent: Span, step: string, phase: string, attempt: number): Span {
    const context = this.api.trace.setSpan(this.api.context.active(), parent);
    return this.tracer.startSpan(
      `saga step ${step}`,
      { attributes: { [Attr.step]: step, [Attr.phase]: phase, [Attr.attempt]: attempt } },
      context,
    );
  }

  endStep(span: Span, error: unknown): void {
    if (error !== undefined) {
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    }
    span.end();
  }
}
