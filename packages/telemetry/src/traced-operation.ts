import { type Clock, type Policy, systemClock } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  checkClock,
  checkOptionsObject,
  checkString,
} from '@bulwark/core/internal';
import type { Tracer } from '@opentelemetry/api';
import {
  Attr,
  DEFAULT_SPAN_NAME,
  OPERATION_KEY,
  OperationState,
  TRACER_NAME,
  callNext,
} from './operation-state.js';
import { type OpenTelemetryApi, openTelemetryApi } from './peers.js';
import { checkTracer } from './validate.js';

export interface TracedOperationOptions {
  /** The tracer spans come from. Default: the global tracer provider's `@bulwark/telemetry` tracer. */
  tracer?: Tracer;
  /** The span name when the pipeline names no operation. Default `bulwark.operation`. */
  name?: string;
  /**
   * The clock of the pipeline this sits in. A pipeline takes its clock from its first policy,
   * so pass the one the other policies use (a FakeClock in tests). Default: the system clock.
   */
  clock?: Clock;
}

/** Starts the operation span and keeps it active while everything inside runs. */
class TracedOperation extends BulwarkPolicy {
  private readonly api: OpenTelemetryApi;

  private readonly tracer: Tracer;

  constructor(
    tracer: Tracer | undefined,
    private readonly spanName: string,
    clock: Clock,
  ) {
    super(clock);
    this.api = openTelemetryApi('tracedOperation');
    // The global tracer is a proxy: an SDK registered after the pipeline was built still records.
    this.tracer = tracer ?? this.api.trace.getTracer(TRACER_NAME);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const api = this.api;
    const tracer = this.tracer;
    const parent = api.context.active();
    const name = context.operation ?? this.spanName;
    const span = tracer.startSpan(name, undefined, parent);
    // No SDK, or not sampled: nothing is recorded, so nothing more is done.
    if (!span.isRecording()) {
      span.end();
      return callNext(next, context);
    }
    if (context.operation !== undefined) span.setAttribute(Attr.operation, context.operation);
    const state = new OperationState(api, tracer, span, name);
    const active = api.trace.setSpan(parent, span).setValue(OPERATION_KEY, state);
    return api.context.with(active, runTraced, undefined, context, next, state);
  }
}

/** The call, inside the operation span's context. */
async function runTraced(context: Context, next: Next, state: OperationState): Promise<unknown> {
  let value: unknown;
  try {
    value = await next.call(context);
  } catch (error: unknown) {
    state.finish(true, error);
    throw error;
  }
  state.finish(false, value);
  return value;
}

/**
 * A policy that makes one OpenTelemetry span per operation, named after the pipeline's
 * `operation`, and keeps it active while the call runs: attempt spans, the policies' span
 * events and whatever the called code traces (HTTP client spans) become its children. Place it
 * first (outermost) in the pipeline, and give `openTelemetryListener()` to the policies.
 * Uses only `@opentelemetry/api`; without a registered SDK it costs one non-recording span.
 */
export function tracedOperation(options: TracedOperationOptions = {}): Policy {
  checkOptionsObject('tracedOperation', options);
  if (options.tracer !== undefined) checkTracer(options.tracer);
  if (options.name !== undefined) checkString('name', options.name);
  if (options.clock !== undefined) checkClock(options.clock);
  return new TracedOperation(
    options.tracer,
    options.name ?? DEFAULT_SPAN_NAME,
    options.clock ?? systemClock,
  );
}
