import { type SpanContext, context, isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * The span context of the active OpenTelemetry span, when an SDK is registered and a span is
 * active. Without an SDK the API's context is always the empty root, so this is one lookup.
 */
export function activeSpanContext(): SpanContext | undefined {
  const span = trace.getSpanContext(context.active());
  return span !== undefined && isSpanContextValid(span) ? span : undefined;
}
