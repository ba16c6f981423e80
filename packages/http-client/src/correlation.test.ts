import { isCancelledError, isDeadlineExceededError } from '@bulwark/core';
import {
  correlationPropagator,
  createRequestContext,
  parseTraceparent,
  runWithContext,
} from '@bulwark/correlation';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, type RecordedRequest, fault } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { client, server } from './test-helpers.js';

const header = (request: RecordedRequest, name: string) => request.headers[name];

describe('correlation: inside runWithContext, by default', () => {
  it('sends the request ID and a traceparent of the same trace on every attempt, with a new span ID each time', async () => {
    const s = await server();
    s.script(fault.burst(2, 503));
    const http = client({ baseUrl: s.origin, retry: { backoff: constantBackoff(0) } });
    const context = createRequestContext({ correlationId: 'req-42' });

    const response = await runWithContext(context, () => http.request('/items/1'));

    expect(response.status).toBe(200);
    expect(s.requests).toHaveLength(3);
    const parents = s.requests.map((request) => {
      expect(header(request, 'x-request-id')).toBe('req-42');
      const parsed = parseTraceparent(header(request, 'traceparent') as string);
      expect(parsed).toBeDefined();
      expect(parsed!.traceId).toBe(context.trace.traceId);
      return parsed!.parentId;
    });
    expect(new Set(parents).size).toBe(3);
    expect(s.requests.map((r) => header(r, 'x-bulwark-attempt'))).toEqual(['1', '2', '3']);
  });

  it('passes the inbound tracestate on', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin });
    const context = createRequestContext({
      trace: {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        parentId: '00f067aa0ba902b7',
        flags: 1,
        tracestate: [{ key: 'vendor', value: 'opaque' }],
      },
    });
    await runWithContext(context, () => http.request('/'));
    expect(header(s.requests[0]!, 'tracestate')).toBe('vendor=opaque');
    expect(header(s.requests[0]!, 'traceparent')).toMatch(
      /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/,
    );
  });

  it('shows the context’s deadline in the budget header, and ends the call at it', async () => {
    const clock = new FakeClock();
    const s = await server({ clock, fallback: fault.hang() });
    const http = client({
      clock,
      baseUrl: s.origin,
      timeoutMs: false,
      deadlineMs: false,
      breaker: false,
    });
    // The context's deadline is on the system clock; the client converts what is left of it.
    const context = createRequestContext({ deadline: performance.now() + 800 });
    const settled = runWithContext(context, () => http.request('/slow')).catch((e: unknown) => e);

    await s.waitForRequests(1);
    const budget = Number(header(s.requests[0]!, 'x-bulwark-timeout-ms'));
    expect(budget).toBeGreaterThan(700);
    expect(budget).toBeLessThanOrEqual(800);
    await clock.advance(800);
    expect(isDeadlineExceededError(await settled)).toBe(true);
    expect(s.requests).toHaveLength(1);
    await s.waitForIdle();
    expect(clock.referencedTimers).toBe(0);
  });

  it('takes the shorter of the context’s deadline and the client’s', async () => {
    const clock = new FakeClock();
    const s = await server({ clock });
    const http = client({ clock, baseUrl: s.origin, timeoutMs: false, deadlineMs: 300 });
    const context = createRequestContext({ deadline: performance.now() + 60_000 });
    await runWithContext(context, () => http.request('/'));
    expect(header(s.requests[0]!, 'x-bulwark-timeout-ms')).toBe('300');
  });

  it('ends the call when the context’s signal aborts', async () => {
    const s = await server({ fallback: fault.hang() });
    const http = client({ baseUrl: s.origin });
    const controller = new AbortController();
    const context = createRequestContext({ signal: controller.signal });
    const settled = runWithContext(context, () => http.request('/')).catch((e: unknown) => e);
    await s.waitForRequests(1);
    controller.abort();
    expect(isCancelledError(await settled)).toBe(true);
    await s.waitForIdle();
  });

  it('never lets two concurrent contexts see each other’s IDs', async () => {
    const s = await server({ fallback: () => fault.respond(200, { delayMs: 5 }) });
    const http = client({ baseUrl: s.origin });
    const contexts = ['alpha', 'beta'].map((id) => createRequestContext({ correlationId: id }));
    await Promise.all(
      contexts.map((context) =>
        runWithContext(context, async () => {
          for (let i = 0; i < 5; i++) {
            await Promise.all([
              http.request(`/${context.correlationId}`),
              http.request(`/${context.correlationId}`),
            ]);
          }
        }),
      ),
    );
    expect(s.requests).toHaveLength(20);
    for (const request of s.requests) {
      const context = contexts.find((c) => `/${c.correlationId}` === request.url)!;
      expect(header(request, 'x-request-id')).toBe(context.correlationId);
      expect(parseTraceparent(header(request, 'traceparent') as string)!.traceId).toBe(
        context.trace.traceId,
      );
    }
  });

  it('lets the caller’s own headers win: a request header, and attemptHeaders', async () => {
    const s = await server();
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const http = client({
      baseUrl: s.origin,
      attemptHeaders: () => ({ TraceParent: mine }),
    });
    const context = createRequestContext({
      trace: {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        parentId: undefined,
        flags: 0,
        tracestate: [{ key: 'vendor', value: 'opaque' }],
      },
    });
    await runWithContext(context, () =>
      http.request('/', { headers: { 'X-Request-Id': 'chosen-by-caller' } }),
    );
    const [request] = s.requests;
    expect(header(request!, 'x-request-id')).toBe('chosen-by-caller');
    expect(header(request!, 'traceparent')).toBe(mine);
    // Our tracestate belongs to our traceparent: it does not ride along with the caller's.
    expect(header(request!, 'tracestate')).toBeUndefined();
  });

  it('uses a custom propagator’s header names', async () => {
    const s = await server();
    const http = client({
      baseUrl: s.origin,
      correlation: correlationPropagator({ headers: ['x-correlation-id'] }),
    });
    await runWithContext(createRequestContext({ correlationId: 'c-1' }), () => http.request('/'));
    expect(header(s.requests[0]!, 'x-correlation-id')).toBe('c-1');
    expect(header(s.requests[0]!, 'x-request-id')).toBeUndefined();
  });

  it('lets a context option replace the correlation context’s deadline', async () => {
    const s = await server();
    const http = client({
      baseUrl: s.origin,
      timeoutMs: false,
      deadlineMs: false,
      context: () => undefined,
    });
    const context = createRequestContext({
      correlationId: 'req-1',
      deadline: performance.now() + 500,
    });
    await runWithContext(context, () => http.request('/'));
    // The headers still come from the correlation context; the deadline does not.
    expect(header(s.requests[0]!, 'x-request-id')).toBe('req-1');
    expect(header(s.requests[0]!, 'x-bulwark-timeout-ms')).toBeUndefined();
  });
});

describe('correlation: when nothing is to be added', () => {
  it('adds nothing outside any context', async () => {
    const s = await server();
    const http = client({ baseUrl: s.origin });
    await http.request('/');
    const names = Object.keys(s.requests[0]!.headers);
    expect(names).not.toContain('x-request-id');
    expect(names).not.toContain('traceparent');
    expect(names).not.toContain('tracestate');
  });

  it('adds nothing, and takes no deadline, with correlation: false', async () => {
    const s = await server();
    const http = client({
      baseUrl: s.origin,
      correlation: false,
      timeoutMs: false,
      deadlineMs: false,
    });
    const context = createRequestContext({ deadline: performance.now() + 500 });
    await runWithContext(context, () => http.request('/'));
    const names = Object.keys(s.requests[0]!.headers);
    expect(names).not.toContain('x-request-id');
    expect(names).not.toContain('traceparent');
    expect(names).not.toContain('x-bulwark-timeout-ms');
  });

  it('refuses a correlation option that is neither a boolean nor a propagator', () => {
    expect(() => client({ correlation: 'yes' as never })).toThrow(
      new TypeError('expected correlation to be a boolean or a correlationPropagator(), got "yes"'),
    );
    expect(() => client({ correlation: {} as never })).toThrow(
      new TypeError(
        'expected correlation to be a boolean or a correlationPropagator(), got an object',
      ),
    );
  });
});
