import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type ConsoleLike, bindLogger, logFields } from './logger.js';
import { contextFromHeaders } from './propagator.js';
import { createRequestContext, runWithContext } from './request-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** pino's child-logger shape, without pino: bindings accumulate down the chain. */
class FakePino<Levels extends string = never> {
  readonly lines: Array<Record<string, unknown>>;
  constructor(
    readonly bindings: Record<string, unknown> = {},
    lines?: Array<Record<string, unknown>>,
  ) {
    this.lines = lines ?? [];
  }
  child<ChildLevels extends string = never>(
    bindings: Record<string, unknown>,
  ): FakePino<Levels | ChildLevels> {
    return new FakePino({ ...this.bindings, ...bindings }, this.lines);
  }
  info(msg: string): void {
    this.lines.push({ ...this.bindings, msg });
  }
}

function recordingConsole(): ConsoleLike & { lines: unknown[][] } {
  const lines: unknown[][] = [];
  const record =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push([level, ...args]);
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    log: record('log'),
    warn: record('warn'),
    error: record('error'),
  };
}

const request = () =>
  contextFromHeaders({
    'x-request-id': 'req-42',
    traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
  });

describe('logFields', () => {
  it('names the correlation ID and the trace', () => {
    expect(logFields({ context: request() })).toEqual({
      correlation_id: 'req-42',
      trace_id: TRACE_ID,
    });
  });

  it('reads the current context by default and is empty outside one', () => {
    expect(runWithContext(request(), () => logFields())).toEqual({
      correlation_id: 'req-42',
      trace_id: TRACE_ID,
    });
    expect(logFields()).toEqual({});
  });

  it('uses the field names it is given', () => {
    expect(
      logFields({
        context: request(),
        fieldNames: { correlationId: 'reqId', traceId: 'trace.id' },
      }),
    ).toEqual({ reqId: 'req-42', 'trace.id': TRACE_ID });
  });

  it('refuses an empty field name', () => {
    expect(() => logFields({ fieldNames: { traceId: '' } })).toThrow(
      new TypeError('expected fieldNames.traceId to be a non-empty string, got ""'),
    );
  });
});

describe('bindLogger', () => {
  it('binds a pino-style logger with child(), so every line carries the fields', () => {
    const root = new FakePino({ service: 'orders' });
    const log = runWithContext(request(), () => bindLogger(root));
    log.info('charged');
    expect(root.lines).toEqual([
      { service: 'orders', correlation_id: 'req-42', trace_id: TRACE_ID, msg: 'charged' },
    ]);
  });

  it('binds a real pino logger: every JSON line carries the ID and the trace', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const root = pino({ base: { service: 'orders' }, timestamp: false }, sink);
    const log = runWithContext(request(), () => bindLogger(root));
    log.info('charged');
    log.child({ step: 'receipt' }).warn('sent late');
    root.info('outside');
    expect(lines).toEqual([
      {
        level: 30,
        service: 'orders',
        correlation_id: 'req-42',
        trace_id: TRACE_ID,
        msg: 'charged',
      },
      {
        level: 40,
        service: 'orders',
        correlation_id: 'req-42',
        trace_id: TRACE_ID,
        step: 'receipt',
        msg: 'sent late',
      },
      { level: 30, service: 'orders', msg: 'outside' },
    ]);
  });

  it('wraps a console so each message starts with the fields', () => {
    const out = recordingConsole();
    const log = bindLogger(out, { context: request() });
    log.info('charged %d', 5);
    log.error(new Error('boom'));
    log.warn('careful');
    expect(out.lines[0]).toEqual([
      'info',
      `[correlation_id=req-42 trace_id=${TRACE_ID}] charged %d`,
      5,
    ]);
    expect(out.lines[1]![1]).toBe(`[correlation_id=req-42 trace_id=${TRACE_ID}]`);
    expect(out.lines[1]![2]).toBeInstanceOf(Error);
    expect(out.lines[2]).toEqual(['warn', `[correlation_id=req-42 trace_id=${TRACE_ID}] careful`]);
  });

  it('returns the logger as it is outside any request', () => {
    const root = new FakePino();
    expect(bindLogger(root)).toBe(root);
    const out = recordingConsole();
    expect(bindLogger(out)).toBe(out);
  });

  it('never lets a refused inbound ID reach a log line', () => {
    const hostile = 'x\n{"level":"error","msg":"forged"}\u001b[2J';
    const out = recordingConsole();
    const context = contextFromHeaders({ 'x-request-id': hostile });
    bindLogger(out, { context }).info('handled');
    const printed = JSON.stringify(out.lines);
    expect(printed).not.toContain('forged');
    expect(printed).toContain(context.correlationId);
  });

  it('refuses something that is not a logger', () => {
    expect(() => bindLogger(42 as never, { context: request() })).toThrow(
      new TypeError('expected logger to have child() or console methods, got 42'),
    );
  });

  it('works with the real console', () => {
    const log = bindLogger(console, { context: createRequestContext({ correlationId: 'c-1' }) });
    expect(Object.keys(log).sort()).toEqual(['debug', 'error', 'info', 'log', 'warn']);
  });
});
