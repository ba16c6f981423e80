import { describe, expect, it, vi } from 'vitest';
import type { InvalidIdArgs } from './propagator.js';
import {
  contextFromHeaders,
  correlationPropagator,
  injectHeaders,
  outboundHeaders,
} from './propagator.js';
import { createRequestContext, runWithContext } from './request-context.js';
import { RANDOM_FLAG, SAMPLED_FLAG } from './traceparent.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function hostile(): Array<[string, string]> {
  return [
    ['a 10 KB ID', 'A'.repeat(10 * 1024)],
    ['a newline (log forging)', 'abc\n{"level":"error","msg":"forged"}'],
    ['an ANSI escape sequence', 'abc\u001b[2J\u001b[31mred'],
    ['non-ASCII', 'ид-запроса'],
    ['an empty value', ''],
  ];
}

describe('contextFromHeaders: the correlation ID', () => {
  it('takes a valid x-request-id', () => {
    expect(contextFromHeaders({ 'x-request-id': 'req-42' }).correlationId).toBe('req-42');
  });

  it('falls back to x-correlation-id', () => {
    expect(contextFromHeaders({ 'x-correlation-id': 'corr-7' }).correlationId).toBe('corr-7');
  });

  it('prefers the first header in the configured order', () => {
    const headers = { 'x-request-id': 'first', 'x-correlation-id': 'second' };
    expect(contextFromHeaders(headers).correlationId).toBe('first');
  });

  it('generates a UUID v7 when no header carries an ID', () => {
    const a = contextFromHeaders({});
    const b = contextFromHeaders({});
    expect(a.correlationId).toMatch(UUID_V7);
    expect(b.correlationId).not.toBe(a.correlationId);
  });

  it.each(hostile())(
    'replaces %s with a generated ID and keeps it out of the context',
    (_l, value) => {
      const onInvalidId = vi.fn<(args: InvalidIdArgs) => void>();
      const context = correlationPropagator({ onInvalidId }).extract({ 'x-request-id': value });
      expect(context.correlationId).toMatch(UUID_V7);
      expect(onInvalidId).toHaveBeenCalledOnce();
      const args = onInvalidId.mock.calls[0]![0];
      expect(Object.keys(args).sort()).toEqual(['header', 'reason']);
      expect(args.header).toBe('x-request-id');
      if (value !== '') {
        expect(JSON.stringify(context)).not.toContain(value.slice(0, 20));
        expect(JSON.stringify(args)).not.toContain(value.slice(0, 20));
      }
    },
  );

  it('reports why an ID was refused', () => {
    const reasons: string[] = [];
    const propagator = correlationPropagator({ onInvalidId: ({ reason }) => reasons.push(reason) });
    for (const [, value] of hostile()) propagator.extract({ 'x-request-id': value });
    propagator.extract({ 'x-request-id': ['a', 'b'] });
    expect(reasons).toEqual([
      'too-long',
      'invalid-characters',
      'invalid-characters',
      'invalid-characters',
      'empty',
      'multiple-values',
    ]);
  });

  it('uses a valid x-correlation-id when x-request-id is refused', () => {
    const context = contextFromHeaders({ 'x-request-id': 'bad id', 'x-correlation-id': 'good-id' });
    expect(context.correlationId).toBe('good-id');
  });

  it('accepts a single-element array, as some servers hand headers over', () => {
    expect(contextFromHeaders({ 'x-request-id': ['only-one'] }).correlationId).toBe('only-one');
  });

  it('reads header names in any case, and fetch Headers', () => {
    expect(contextFromHeaders({ 'X-Request-ID': 'mixed' }).correlationId).toBe('mixed');
    const headers = new Headers({ 'X-Request-Id': 'from-headers', traceparent: TRACEPARENT });
    const context = contextFromHeaders(headers);
    expect(context.correlationId).toBe('from-headers');
    expect(context.trace.traceId).toBe(TRACE_ID);
  });

  it('reads the ID from configured headers only', () => {
    const propagator = correlationPropagator({ headers: ['x-amzn-trace-id', 'x-request-id'] });
    expect(propagator.extract({ 'x-amzn-trace-id': 'Root:1-abc' }).correlationId).toBe(
      'Root:1-abc',
    );
    expect(propagator.extract({ 'x-correlation-id': 'ignored' }).correlationId).toMatch(UUID_V7);
  });

  it('uses a custom generator', () => {
    let n = 0;
    const propagator = correlationPropagator({ generateId: () => `job-${++n}` });
    expect(propagator.extract({}).correlationId).toBe('job-1');
    expect(propagator.extract({ 'x-request-id': 'bad\n' }).correlationId).toBe('job-2');
  });

  it('refuses an invalid generated ID without echoing it', () => {
    const propagator = correlationPropagator({ generateId: () => 'has spaces' });
    expect(() => propagator.extract({})).toThrow(
      new RangeError(
        'expected the ID from generateId to be 1 to 128 characters of [A-Za-z0-9._:-], got a string with other characters',
      ),
    );
  });
});

describe('contextFromHeaders: the trace', () => {
  it('continues the trace of a valid traceparent, with its tracestate', () => {
    const context = contextFromHeaders({
      traceparent: TRACEPARENT,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    expect(context.trace).toEqual({
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      flags: 1,
      tracestate: [
        { key: 'rojo', value: '00f067aa0ba902b7' },
        { key: 'congo', value: 't61rcWkgMzE' },
      ],
    });
  });

  it('starts a new unsampled trace without a traceparent, and ignores a lone tracestate', () => {
    const context = contextFromHeaders({ tracestate: 'foo=1' });
    expect(context.trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    // The trace ID it makes is random in every byte, and the random flag says so.
    expect(context.trace).toMatchObject({
      parentId: undefined,
      flags: RANDOM_FLAG,
      tracestate: undefined,
    });
  });

  it('marks new traces sampled when asked to', () => {
    expect(correlationPropagator({ sampled: true }).extract({}).trace.flags).toBe(
      SAMPLED_FLAG | RANDOM_FLAG,
    );
  });

  it('keeps the random flag of a continued trace, and leaves it unset when the caller did', () => {
    const random = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-03` });
    expect(random.trace.flags).toBe(SAMPLED_FLAG | RANDOM_FLAG);
    expect(outboundHeaders(random).traceparent).toMatch(
      new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`),
    );
    const notRandom = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    expect(outboundHeaders(notRandom).traceparent).toMatch(
      new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`),
    );
  });

  it('sends the flag bits the spec does not define as zero, keeping sampled and random', () => {
    const context = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-ff` });
    expect(context.trace.flags).toBe(0xff);
    expect(outboundHeaders(context).traceparent).toMatch(
      new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`),
    );
  });

  it('ignores an invalid traceparent and then does not parse tracestate', () => {
    const context = contextFromHeaders({
      traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01`,
      tracestate: 'foo=1',
    });
    expect(context.trace.traceId).not.toBe('0'.repeat(32));
    expect(context.trace.parentId).toBeUndefined();
    expect(context.trace.tracestate).toBeUndefined();
  });

  it('starts a new trace when traceparent comes twice', () => {
    expect(contextFromHeaders({ traceparent: [TRACEPARENT, TRACEPARENT] }).trace.traceId).not.toBe(
      TRACE_ID,
    );
    // Node joins repeated unknown headers with a comma.
    expect(
      contextFromHeaders({ traceparent: `${TRACEPARENT}, ${TRACEPARENT}` }).trace.traceId,
    ).not.toBe(TRACE_ID);
  });

  it('keeps the trace and every vendor’s state when one tracestate member repeats a key', () => {
    const context = contextFromHeaders({
      traceparent: TRACEPARENT,
      tracestate: 'congo=new,rojo=00f067aa0ba902b7,congo=old',
    });
    expect(context.trace.traceId).toBe(TRACE_ID);
    expect(context.trace.tracestate).toEqual([
      { key: 'congo', value: 'new' },
      { key: 'rojo', value: '00f067aa0ba902b7' },
    ]);
    expect(outboundHeaders(context).tracestate).toBe('congo=new,rojo=00f067aa0ba902b7');
  });

  it('keeps the multi-tenant keys of the current grammar and drops only a malformed member', () => {
    const context = contextFromHeaders({
      traceparent: TRACEPARENT,
      tracestate: 'acme@dt=1,FOO=2,fw529a3039@dt=3,@bad=4,rojo=5',
    });
    expect(outboundHeaders(context).tracestate).toBe('acme@dt=1,fw529a3039@dt=3,rojo=5');
  });

  it('keeps the trace but sends no tracestate when no member is valid', () => {
    const context = contextFromHeaders({ traceparent: TRACEPARENT, tracestate: 'FOO=1,bar' });
    expect(context.trace.traceId).toBe(TRACE_ID);
    expect(context.trace.tracestate).toBeUndefined();
    expect(outboundHeaders(context).tracestate).toBeUndefined();
  });

  it('carries the deadline and baggage given with the headers', () => {
    const context = contextFromHeaders({}, { deadline: 1234, baggage: { tenant: 'acme' } });
    expect(context.deadline).toBe(1234);
    expect(context.baggage).toEqual({ tenant: 'acme' });
    expect(contextFromHeaders({}).deadline).toBe(Infinity);
  });

  it('refuses a deadline or baggage of the wrong type', () => {
    expect(() => contextFromHeaders({}, { deadline: Number.NaN })).toThrow(
      new TypeError('expected deadline to be a number (Infinity for none), got NaN'),
    );
    expect(() => contextFromHeaders({}, { baggage: { n: 1 as unknown as string } })).toThrow(
      new TypeError('expected baggage.n to be a string, got 1'),
    );
  });
});

describe('injectHeaders (no OpenTelemetry SDK)', () => {
  const inbound = () =>
    contextFromHeaders({
      'x-request-id': 'req-1',
      traceparent: TRACEPARENT,
      tracestate: 'congo=t61rcWkgMzE',
    });

  it('writes the correlation ID and the trace with a new span ID per call', () => {
    const context = inbound();
    const first = outboundHeaders(context);
    const second = outboundHeaders(context);
    expect(first['x-request-id']).toBe('req-1');
    expect(first.tracestate).toBe('congo=t61rcWkgMzE');
    const [v1, t1, s1, f1] = String(first.traceparent).split('-');
    const [, t2, s2] = String(second.traceparent).split('-');
    expect([v1, t1, f1]).toEqual(['00', TRACE_ID, '01']);
    expect(t2).toBe(TRACE_ID);
    expect(s1).toMatch(/^[0-9a-f]{16}$/);
    expect(s1).not.toBe(PARENT_ID);
    expect(s2).not.toBe(s1);
  });

  it('uses the current context by default', () => {
    const context = inbound();
    const headers = runWithContext(context, () => outboundHeaders());
    expect(headers['x-request-id']).toBe('req-1');
    expect(headers.traceparent).toContain(TRACE_ID);
  });

  it('writes nothing outside a request context', () => {
    expect(outboundHeaders()).toEqual({});
  });

  it('replaces the same headers on a retried request, whatever their case', () => {
    const headers: Record<string, unknown> = {
      'X-Request-Id': 'stale',
      Traceparent: 'stale',
      accept: 'application/json',
    };
    injectHeaders(headers, inbound());
    expect(Object.keys(headers).sort()).toEqual([
      'accept',
      'traceparent',
      'tracestate',
      'x-request-id',
    ]);
    expect(headers['x-request-id']).toBe('req-1');
  });

  it('writes into fetch Headers', () => {
    const headers = injectHeaders(new Headers(), inbound());
    expect(headers.get('x-request-id')).toBe('req-1');
    expect(headers.get('traceparent')).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  });

  it('sends no tracestate for a context without one', () => {
    const headers = outboundHeaders(createRequestContext({ correlationId: 'job-1' }));
    expect(Object.keys(headers).sort()).toEqual(['traceparent', 'x-request-id']);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-02$/);
  });

  it('truncates an inbound tracestate to the configured length by whole entries', () => {
    const propagator = correlationPropagator({ maxTracestateLength: 10 });
    const context = propagator.extract({
      traceparent: TRACEPARENT,
      tracestate: 'a=1,bb=22,ccc=333',
    });
    expect(propagator.headers(context).tracestate).toBe('a=1,bb=22');
  });

  it('carries the ID in the configured outbound header', () => {
    const propagator = correlationPropagator({ headers: ['x-correlation-id', 'x-request-id'] });
    const context = propagator.extract({ 'x-request-id': 'abc' });
    expect(propagator.headers(context)['x-correlation-id']).toBe('abc');
    const custom = correlationPropagator({ outboundHeader: 'x-trace-ref' });
    expect(custom.headers(context)['x-trace-ref']).toBe('abc');
  });
});

describe('correlationPropagator options', () => {
  it.each([
    [
      { headers: [] },
      new TypeError('expected headers to be a non-empty array of header names, got an array'),
    ],
    [
      { headers: 'x-request-id' },
      new TypeError('expected headers to be a non-empty array of header names, got "x-request-id"'),
    ],
    [
      { headers: ['X-Request-Id'] },
      new TypeError('expected headers[0] to be a lowercase header name, got "X-Request-Id"'),
    ],
    [
      { headers: ['x request'] },
      new TypeError('expected headers[0] to be a lowercase header name, got "x request"'),
    ],
    [
      { outboundHeader: '' },
      new TypeError('expected outboundHeader to be a lowercase header name, got ""'),
    ],
    [{ generateId: 'uuid' }, new TypeError('expected generateId to be a function, got "uuid"')],
    [{ onInvalidId: 1 }, new TypeError('expected onInvalidId to be a function, got 1')],
    [{ sampled: 'yes' }, new TypeError('expected sampled to be a boolean, got "yes"')],
    [{ openTelemetry: 1 }, new TypeError('expected openTelemetry to be a boolean, got 1')],
    [
      { maxTracestateLength: -1 },
      new RangeError('expected maxTracestateLength to be an integer between 0 and 8192, got -1'),
    ],
    [
      { maxTracestateLength: 1.5 },
      new RangeError('expected maxTracestateLength to be an integer between 0 and 8192, got 1.5'),
    ],
    [
      { outboundHeaders: 'x-trace-ref' },
      new TypeError(
        'unknown option "outboundHeaders" for correlationPropagator(); did you mean "outboundHeader"? expected one of headers, outboundHeader, generateId, onInvalidId, sampled, maxTracestateLength, openTelemetry',
      ),
    ],
  ])('refuses %o', (options, error) => {
    expect(() => correlationPropagator(options as never)).toThrow(error);
  });

  it('refuses options that are not an object', () => {
    expect(() => correlationPropagator(null as never)).toThrow(
      new TypeError('expected the options of correlationPropagator() to be an object, got null'),
    );
  });
});
