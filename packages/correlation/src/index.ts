export {
  MAX_CORRELATION_ID_LENGTH,
  isValidCorrelationId,
  type InvalidIdReason,
} from './correlation-id.js';
export type { InboundHeaders, OutboundHeaders } from './headers.js';
export {
  bindLogger,
  logFields,
  type ChildLogger,
  type ConsoleLike,
  type LogFieldNames,
  type LogFieldsOptions,
} from './logger.js';
export {
  DEFAULT_CORRELATION_HEADERS,
  contextFromHeaders,
  correlationPropagator,
  injectHeaders,
  outboundHeaders,
  type CorrelationPropagator,
  type CorrelationPropagatorOptions,
  type ExtractExtras,
  type InvalidIdArgs,
} from './propagator.js';
export {
  createRequestContext,
  currentContext,
  remainingMs,
  runWithContext,
  withBaggage,
  type RequestContext,
  type RequestContextOptions,
  type TraceContext,
} from './request-context.js';
export {
  RANDOM_FLAG,
  SAMPLED_FLAG,
  formatTraceparent,
  generateSpanId,
  generateTraceId,
  parseTraceparent,
  type TraceParent,
} from './traceparent.js';
export {
  MAX_TRACESTATE_LENGTH,
  MAX_TRACESTATE_MEMBERS,
  formatTracestate,
  parseTracestate,
  type TraceStateEntry,
} from './tracestate.js';
export { uuidv7 } from './uuid-v7.js';
