import { adaptiveLimit } from '@bulwark/bulkhead';
import { isDeadlineExceededError } from '@bulwark/core';
import { healthRegistry } from '@bulwark/health';
import { FakeClock, settle } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PressureProbe, PressureReading } from './pressure.js';
import { BulwarkStack } from './stack.js';
import { ADMITTED, GONE, PENDING, type Resumed, Ticket } from './ticket.js';

const calm: PressureReading = {
  eventLoopDelayMs: 0,
  eventLoopUtilization: 0,
  heapUsedBytes: 0,
  heapLimitBytes: 1,
  rssBytes: 0,
};

function probe(reading: () => PressureReading): PressureProbe {
  return { start: () => {}, read: reading, stop: () => {} };
}

describe('BulwarkStack options', () => {
  it('turns on correlation, deadline and health by default, and nothing else', () => {
    const stack = new BulwarkStack();
    expect(stack.propagator).toBeDefined();
    expect(stack.responseHeader).toBe('x-request-id');
    expect([...stack.ownRoutes]).toEqual([
      ['/livez', 'liveness'],
      ['/readyz', 'readiness'],
      ['/startupz', 'startup'],
    ]);
    expect(stack.limiter).toBeUndefined();
    expect(stack.pressure).toBeUndefined();
    expect(stack.metrics).toBeUndefined();
    expect(stack.idempotency).toBeUndefined();
    stack.close();
  });

  it('turns every part off with false', () => {
    const stack = new BulwarkStack({ correlation: false, deadline: false, health: false });
    expect(stack.propagator).toBeUndefined();
    expect(stack.ownRoutes.size).toBe(0);
  });

  it('echoes the ID in the first inbound header unless told otherwise', () => {
    expect(new BulwarkStack({ correlation: { headers: ['x-trace-id'] } }).responseHeader).toBe(
      'x-trace-id',
    );
    expect(new BulwarkStack({ correlation: { responseHeader: 'x-id' } }).responseHeader).toBe(
      'x-id',
    );
    expect(
      new BulwarkStack({ correlation: { responseHeader: false } }).responseHeader,
    ).toBeUndefined();
  });

  it('rejects bad options with messages that say what was expected', () => {
    const cases: Array<[unknown, string]> = [
      [42, 'expected the options of bulwark() to be an object, got 42'],
      [
        { cors: true },
        'unknown option "cors" for bulwark(); expected one of correlation, deadline, idempotency, health, shedding, metrics, rateLimit, clock',
      ],
      [
        { correlation: 'yes' },
        'expected correlation to be a boolean or an options object, got "yes"',
      ],
      [
        { correlation: { responseHeader: 'X-Id' } },
        'expected correlation.responseHeader to be a lowercase header name, got "X-Id"',
      ],
      [
        { correlation: false, deadline: {} },
        'expected deadline to be false when correlation is false: the deadline lives in the request context',
      ],
      [
        { deadline: { header: 'bad header' } },
        'expected deadline.header to be a lowercase header name, got "bad header"',
      ],
      [{ deadline: { maxMs: 0 } }, 'expected deadline.maxMs to be an integer >= 1, got 0'],
      [
        { health: { registry: {} } },
        'expected health.registry to be a healthRegistry() from @bulwark/health, got an object',
      ],
      [{ health: { detailed: 'yes' } }, 'expected health.detailed to be a boolean, got "yes"'],
      [
        { health: { paths: { liveness: 'livez' } } },
        'expected health.paths.liveness to be a path starting with "/" without query or spaces, got "livez"',
      ],
      [
        { health: { paths: { readiness: '/livez' } } },
        'expected health.paths.readiness to differ from the other health and metrics paths, got "/livez"',
      ],
      [
        { shedding: {} },
        'expected shedding to set a limit or a pressure check (maxEventLoopDelayMs, maxEventLoopUtilization, maxHeapUsedBytes, maxHeapUsedRatio, maxRssBytes)',
      ],
      [
        { shedding: { queue: 5, maxRssBytes: 1e9 } },
        'expected shedding.limit to be set when shedding.queue or queueTimeoutMs is',
      ],
      [{ shedding: { limit: 0 } }, 'expected shedding.limit to be an integer >= 1, got 0'],
      [{ shedding: { limit: 0, queue: 1 } }, 'expected limit to be an integer >= 1, got 0'],
      [
        { shedding: { limit: 2, queueTimeoutMs: 10 } },
        'expected queue to be an integer >= 1 when queueTimeoutMs is set, got 0',
      ],
      [
        { shedding: { maxEventLoopUtilization: 1.5 } },
        'expected shedding.maxEventLoopUtilization to be a finite number between 0 and 1, got 1.5',
      ],
      [
        { shedding: { limit: 1, sampleIntervalMs: 5 } },
        'expected shedding.sampleIntervalMs to be an integer between 10 and 60000, got 5',
      ],
      [
        { shedding: { limit: 1, retryAfterMs: -1 } },
        'expected shedding.retryAfterMs to be a finite number >= 0, got -1',
      ],
      [
        { metrics: { registry: new Registry(), prefix: '1x' } },
        'expected metrics.prefix to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got "1x"',
      ],
      [
        { metrics: { registry: new Registry(), buckets: [] } },
        'expected metrics.buckets to be an array of 1 to 64 numbers, got an array',
      ],
      [
        { metrics: { registry: new Registry(), buckets: [1, 0.5] } },
        'expected metrics.buckets to be finite, positive and increasing, got 0.5 at index 1',
      ],
      [
        { metrics: { registry: new Registry(), maxSeries: 0 } },
        'expected metrics.maxSeries to be an integer between 1 and 1000000, got 0',
      ],
      [
        { metrics: { registry: new Registry(), path: '/livez' } },
        'expected metrics.path to differ from the other health and metrics paths, got "/livez"',
      ],
      [
        { metrics: { registry: {} } },
        'expected registry to be a prom-client Registry, got an object',
      ],
      [
        { idempotency: { identity: 'user' } },
        'expected idempotency.identity to be a function, got "user"',
      ],
      [
        { idempotency: 'memory' },
        'expected the options of idempotency() to be an object, got "memory"',
      ],
    ];
    for (const [options, message] of cases) {
      expect(() => new BulwarkStack(options as never), message).toThrow(message);
    }
  });

  it.each<[string, unknown, string]>([
    [
      'the top level',
      { helth: false },
      'unknown option "helth" for bulwark(); did you mean "health"?',
    ],
    [
      'correlation',
      { correlation: { responseheader: 'x-id' } },
      'unknown option "correlation.responseheader" for bulwark(); did you mean "responseHeader"?',
    ],
    [
      'deadline',
      { deadline: { max: 10 } },
      'unknown option "deadline.max" for bulwark(); did you mean "maxMs"?',
    ],
    [
      'health',
      { health: { detail: true } },
      'unknown option "health.detail" for bulwark(); did you mean "detailed"?',
    ],
    [
      'health.paths',
      { health: { paths: { live: '/live' } } },
      'unknown option "health.paths.live" for bulwark(); did you mean "liveness"? expected one of liveness, readiness, startup',
    ],
    [
      'metrics',
      { metrics: { registry: new Registry(), bucket: [1] } },
      'unknown option "metrics.bucket" for bulwark(); did you mean "buckets"?',
    ],
    [
      'shedding',
      { shedding: { limit: 1, queueTimeout: 5 } },
      'unknown option "shedding.queueTimeout" for bulwark(); did you mean "queueTimeoutMs"?',
    ],
    [
      'idempotency, where the stack’s clock is the only clock',
      { idempotency: { identity: 'shared', clock: new FakeClock() } },
      'unknown option "idempotency.clock" for bulwark();',
    ],
  ])(
    'refuses a misspelt option in %s, naming the nearest valid one',
    (_level, options, message) => {
      expect(() => new BulwarkStack(options as never)).toThrow(message);
    },
  );

  it('registers nothing in the metrics registry when a later option is bad', () => {
    const registry = new Registry();
    expect(() => new BulwarkStack({ metrics: { registry }, shedding: { limit: 0 } })).toThrow(
      'expected shedding.limit to be an integer >= 1, got 0',
    );
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it('throws TypeError for a wrong type and RangeError for a value out of range', () => {
    expect(() => new BulwarkStack({ deadline: { maxMs: 0 } })).toThrow(RangeError);
    expect(() => new BulwarkStack({ correlation: 1 as never })).toThrow(TypeError);
  });

  it('counts a fixed limit without a queue, and builds a bulkhead for a queue or an adaptive limit', () => {
    const counter = new BulwarkStack({ shedding: { limit: 3 } });
    expect(counter.slots?.limit).toBe(3);
    expect(counter.limiter).toBeUndefined();
    const fixed = new BulwarkStack({ shedding: { limit: 3, queue: 2, queueTimeoutMs: 100 } });
    expect(fixed.slots).toBeUndefined();
    expect(fixed.limiter?.limit).toBe(3);
    expect(fixed.limiter?.queueLimit).toBe(2);
    const adaptive = new BulwarkStack({
      shedding: { limit: adaptiveLimit({ algorithm: 'aimd', initial: 7 }) },
    });
    expect(adaptive.limiter?.limit).toBe(7);
  });
});

describe('BulwarkStack.context', () => {
  it('makes the caller’s remaining budget the context’s deadline, on the given clock', () => {
    const clock = new FakeClock({ now: 1000 });
    const stack = new BulwarkStack({ clock });
    expect(stack.context({ 'x-bulwark-timeout-ms': '250' }).deadline).toBe(1250);
    expect(stack.context({ 'grpc-timeout': '2S' }).deadline).toBe(3000);
    expect(
      stack.context({ 'x-envoy-expected-rq-timeout-ms': '40', 'x-bulwark-timeout-ms': '90' })
        .deadline,
    ).toBe(1040);
  });

  it('ignores a missing, malformed or repeated budget', () => {
    const stack = new BulwarkStack({ clock: new FakeClock() });
    expect(stack.context({}).deadline).toBe(Infinity);
    expect(stack.context({ 'x-bulwark-timeout-ms': '-5' }).deadline).toBe(Infinity);
    expect(stack.context({ 'x-bulwark-timeout-ms': '1e3' }).deadline).toBe(Infinity);
    expect(stack.context({ 'x-bulwark-timeout-ms': ['10', '20'] }).deadline).toBe(Infinity);
  });

  it('caps an absurd budget and reads only its own header when fallbacks are off', () => {
    const clock = new FakeClock();
    const stack = new BulwarkStack({
      clock,
      deadline: { maxMs: 5000, fallbacks: false, header: 'x-budget' },
    });
    expect(stack.context({ 'x-budget': '999999999' }).deadline).toBe(5000);
    expect(stack.context({ 'grpc-timeout': '1S' }).deadline).toBe(Infinity);
  });

  it('takes a valid inbound ID and replaces an invalid or repeated one', () => {
    const stack = new BulwarkStack();
    expect(stack.context({ 'x-request-id': 'abc-123' }).correlationId).toBe('abc-123');
    expect(stack.context({ 'x-correlation-id': 'second-choice' }).correlationId).toBe(
      'second-choice',
    );
    expect(stack.context({ 'x-request-id': ['a', 'b'] }).correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const generated = stack.context({ 'x-request-id': 'bad id\r\nx: y' }).correlationId;
    expect(generated).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('BulwarkStack pressure and answers', () => {
  it('refuses under pressure with the sample interval as Retry-After, and counts the refusal', async () => {
    const clock = new FakeClock();
    let reading = calm;
    const registry = new Registry();
    const stack = new BulwarkStack(
      {
        clock,
        metrics: { registry },
        shedding: { maxEventLoopDelayMs: 100, sampleIntervalMs: 2000 },
      },
      probe(() => reading),
    );
    stack.start();
    expect(stack.pressureRejection()).toBeUndefined();
    reading = { ...calm, eventLoopDelayMs: 150 };
    await clock.advance(2000);
    const error = stack.pressureRejection();
    expect(error?.reason).toBe('shed');
    expect((error as unknown as { headers: unknown }).headers).toEqual({ 'retry-after': '2' });
    expect(await registry.metrics()).toContain(
      'bulwark_http_server_shed_total{reason="event-loop-delay"} 1',
    );
    stack.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('answers health views in application/health+json, 503 when a critical check fails', async () => {
    const health = healthRegistry();
    health.register({ name: 'db', check: () => 'fail', kind: 'readiness' });
    const stack = new BulwarkStack({ health: { registry: health } });
    const live = await stack.answer('liveness');
    expect(live).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/health+json', 'cache-control': 'no-store' },
      body: '{"status":"pass","checks":{}}',
    });
    const ready = await stack.answer('readiness');
    expect(ready.statusCode).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'fail',
      checks: { db: [{ status: 'fail' }] },
    });
    stack.close();
  });

  it('closes a health registry it made itself, never the application’s', () => {
    const health = healthRegistry();
    health.register({ name: 'db', check: () => 'pass' });
    new BulwarkStack({ health: { registry: health } }).close();
    expect(health.names()).toEqual(['db']);
  });

  it('answers the metrics page with the registry’s content type', async () => {
    const registry = new Registry();
    const stack = new BulwarkStack({ metrics: { registry } });
    stack.metrics!.observe('GET', '/', 200, 0.001);
    const answer = await stack.answer('metrics');
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe(registry.contentType);
    expect(answer.body).toContain('bulwark_http_server_request_duration_seconds_count');
    stack.close();
    expect(await registry.metrics()).not.toContain('bulwark_http_server_request_duration_seconds');
  });
});

/** A request as a test adapter would describe it: headers written and resumed outcomes kept. */
class TestTicket extends Ticket<{ id: string }> {
  readonly written: Record<string, string> = {};
  readonly resumed: Resumed[] = [];
  readonly request = { id: 'r' };
  readonly rawHeaders = undefined;
  readonly body = undefined;
  constructor(
    readonly method = 'GET',
    readonly url = '/',
    readonly headers: Record<string, string> = {},
  ) {
    super();
  }
  get originalUrl(): string {
    return this.url;
  }
  setHeader(name: string, value: string): void {
    this.written[name] = value;
  }
  resume(outcome: Resumed): void {
    this.resumed.push(outcome);
  }
}

describe('BulwarkStack.admit', () => {
  it('admits a request with the one shared outcome, its context made and its ID echoed', () => {
    const stack = new BulwarkStack();
    const a = new TestTicket('GET', '/', { 'x-request-id': 'req-1' });
    const b = new TestTicket('POST', '/orders');
    expect(stack.admit(a)).toBe(ADMITTED);
    expect(stack.admit(b)).toBe(ADMITTED);
    expect(a.context?.correlationId).toBe('req-1');
    expect(a.written).toEqual({ 'x-request-id': 'req-1' });
  });

  it('keeps a context made earlier, as an adapter that made it for its logs does', () => {
    const stack = new BulwarkStack();
    const ticket = new TestTicket('GET', '/', { 'x-request-id': 'from-header' });
    const earlier = stack.context({ 'x-request-id': 'made-earlier' });
    ticket.context = earlier;
    stack.admit(ticket);
    expect(ticket.context).toBe(earlier);
    expect(ticket.written['x-request-id']).toBe('made-earlier');
  });

  it('names own routes for GET and HEAD only, query or not, without a context', () => {
    const stack = new BulwarkStack({ metrics: { registry: new Registry() } });
    const probe = new TestTicket('GET', '/readyz?verbose=1');
    expect(stack.admit(probe)).toEqual({ kind: 'own-route', route: 'readiness' });
    expect(stack.admit(new TestTicket('HEAD', '/metrics'))).toEqual({
      kind: 'own-route',
      route: 'metrics',
    });
    expect(stack.admit(new TestTicket('POST', '/livez'))).toBe(ADMITTED);
    expect(probe.context).toBeUndefined();
    stack.close();
  });

  it('refuses a request whose caller’s budget is already spent', () => {
    const stack = new BulwarkStack({ clock: new FakeClock() });
    const outcome = stack.admit(new TestTicket('GET', '/', { 'x-bulwark-timeout-ms': '0' }));
    expect(outcome.kind).toBe('rejected');
    expect(outcome.kind === 'rejected' && isDeadlineExceededError(outcome.error)).toBe(true);
  });

  it('holds a fixed slot until release, which gives it back once however often it is called', () => {
    const stack = new BulwarkStack({ shedding: { limit: 1 } });
    const first = new TestTicket();
    expect(stack.admit(first)).toBe(ADMITTED);
    const refused = stack.admit(new TestTicket());
    expect(refused.kind === 'rejected' && refused.error.message).toMatch(/bulkhead/i);
    stack.release(first);
    stack.release(first);
    expect(stack.slots?.active).toBe(0);
    expect(stack.admit(new TestTicket())).toBe(ADMITTED);
  });

  it('queues past a bulkhead’s limit, resumes when a slot frees, and lets a closed request leave', async () => {
    const stack = new BulwarkStack({ shedding: { limit: 1, queue: 2 } });
    const first = new TestTicket();
    const second = new TestTicket();
    const third = new TestTicket();
    expect(stack.admit(first)).toBe(ADMITTED);
    expect(stack.admit(second)).toBe(PENDING);
    expect(stack.admit(third)).toBe(PENDING);
    // The second's client leaves while it waits: it leaves the queue with nothing to answer.
    stack.release(second);
    await settle();
    expect(second.resumed).toEqual([GONE]);
    stack.release(first);
    await settle();
    expect(third.resumed).toEqual([ADMITTED]);
    expect(stack.limiter?.active).toBe(1);
    stack.release(third);
    await settle();
    expect(stack.limiter?.active).toBe(0);
  });
});
