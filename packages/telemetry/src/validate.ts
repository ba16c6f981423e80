import type { Clock } from '@bulwark/core';
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

export function checkClock(value: unknown): asserts value is Clock {
  const clock = value as Partial<Clock> | null;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function'
  ) {
    throw new TypeError(`expected clock to be a Clock, got ${describeValue(value)}`);
  }
}
