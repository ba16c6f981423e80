import { describeValue } from '@bulwark/core/internal';
import type { Tracer } from '@opentelemetry/api';

export function checkTracer(value: unknown): asserts value is Tracer {
  const tracer = value as Partial<Tracer> | null;
  if (typeof tracer !== 'object' || tracer === null || typeof tracer.startSpan !== 'function') {
    throw new TypeError(
      `expected tracer to be an OpenTelemetry Tracer, got ${describeValue(value)}`,
    );
  }
}
