import { checkOptionsObject, checkString, describeValue } from '@bulwark/core/internal';
import { activeSpanContext } from './otel.js';
import { type RequestContext, currentContext } from './request-context.js';

/** The names of the fields {@link logFields} writes. */
export interface LogFieldNames {
  /** Default `correlation_id`. */
  correlationId?: string;
  /** Default `trace_id`, as OpenTelemetry's log instrumentations name it. */
  traceId?: string;
  /** Default `span_id`, as OpenTelemetry's log instrumentations name it. */
  spanId?: string;
}

export interface LogFieldsOptions {
  /** The request context. Default: the current one. */
  context?: RequestContext;
  /** Field names, for log schemas that want others. */
  fieldNames?: LogFieldNames;
}

/** A logger with pino's (and bunyan's, and winston's) `child(bindings)`. */
export interface ChildLogger<L> {
  child(bindings: Record<string, unknown>): L;
}

/** The part of `console` a bound console logger wraps. */
export interface ConsoleLike {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const CONSOLE_METHODS = ['debug', 'info', 'log', 'warn', 'error'] as const;

/**
 * The fields that tie a log line to its request: `correlation_id`, `trace_id` and, inside an
 * active OpenTelemetry span, `span_id`. An active span's IDs win over the context's trace, so log
 * lines point at the spans a tracing backend shows. Empty outside any request and span.
 */
export function logFields(options: LogFieldsOptions = {}): Record<string, string> {
  checkOptionsObject('logFields', options);
  const names = options.fieldNames ?? {};
  for (const key of ['correlationId', 'traceId', 'spanId'] as const) {
    if (names[key] !== undefined) checkString(`fieldNames.${key}`, names[key]);
  }
  const context = options.context ?? currentContext();
  const span = activeSpanContext();
  const fields: Record<string, string> = {};
  if (context !== undefined)
    fields[names.correlationId ?? 'correlation_id'] = context.correlationId;
  const traceId = span?.traceId ?? context?.trace.traceId;
  if (traceId !== undefined) fields[names.traceId ?? 'trace_id'] = traceId;
  if (span !== undefined) fields[names.spanId ?? 'span_id'] = span.spanId;
  return fields;
}

function hasChild<L>(logger: unknown): logger is ChildLogger<L> {
  return (
    typeof logger === 'object' &&
    logger !== null &&
    typeof (logger as { child?: unknown }).child === 'function'
  );
}

/**
 * A logger whose every line carries the request's {@link logFields}. A logger with `child()`
 * (pino, bunyan, winston) gets `logger.child(fields)`; a console-like logger gets a wrapper
 * that puts `[correlation_id=… trace_id=…]` before each message. Outside any request and span
 * the logger comes back as it is. Bind once per request, not per line.
 */
export function bindLogger<L extends ChildLogger<L>>(logger: L, options?: LogFieldsOptions): L;
export function bindLogger(logger: ConsoleLike, options?: LogFieldsOptions): ConsoleLike;
export function bindLogger(
  logger: ChildLogger<unknown> | ConsoleLike,
  options: LogFieldsOptions = {},
): unknown {
  const fields = logFields(options);
  const entries = Object.entries(fields);
  if (entries.length === 0) return logger;
  if (hasChild(logger)) return logger.child(fields);
  if (typeof logger !== 'object' || logger === null) {
    throw new TypeError(
      `expected logger to have child() or console methods, got ${describeValue(logger)}`,
    );
  }
  // IDs are validated to a safe character set, so they cannot forge or break the line.
  const prefix = `[${entries.map(([key, value]) => `${key}=${value}`).join(' ')}]`;
  const methods = logger as unknown as Record<string, ((...args: unknown[]) => void) | undefined>;
  const bound = {} as ConsoleLike;
  for (const method of CONSOLE_METHODS) {
    const target = methods[method];
    if (typeof target !== 'function') continue;
    bound[method] = (...args: unknown[]) => {
      if (typeof args[0] === 'string') args[0] = `${prefix} ${args[0]}`;
      else args.unshift(prefix);
      target.apply(logger, args);
    };
  }
  return bound;
}
