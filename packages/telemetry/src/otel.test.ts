import {
  BrokenCircuitError,
  type PolicyEvent,
  type TelemetryListener,
  combineListeners,
  pipeline,
} from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  emit,
  httpAttemptSource,
} from '@bulwark/core/internal';
import { httpCache } from '@bulwark/cache';
import { rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { constantBackoff, retry } from '@bulwark/retry';
import { FakeClock } from '@bulwark/testing';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpAttemptInfo } from '@bulwark/core';
import type { ChaosEventShape } from './events.js';
import { openTelemetryListener } from './otel-listener.js';
import { tracedAttempt } from './traced-attempt.js';
import { tracedOperation } from './traced-operation.js';

// Built before the SDK is registered, as a module-level pipeline in an application would be.
const earlyClock = new FakeClock();
const builtEarly = pipeline(
  { operation: 'early', clock: earlyClock },
  tracedOperation({ clock: earlyClock }),
);

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});

beforeEach(() => exporter.reset());

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const sleep = (clock: FakeClock, ms: number) =>
  new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
const ms = (span: ReadableSpan) => span.duration[0] * 1000 + span.duration[1] / 1e6;
const spanNamed = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

/** A stand-in for an open circuit breaker: reports a rejection, as the real one does, and fails. */
class RejectingBreaker extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly listener: TelemetryListener,
    private readonly rejections: number,
  ) {
    super(clock);
  }
  private calls = 0;
  protected run(ctx: Context, next: Next): Promise<unknown> {
    if (this.calls++ < this.rejections) {
      emit(this.listener, {
        type: 'breaker-rejected',
        policy: 'circuit-breaker',
        name: undefined,
        operation: ctx.operation,
        key: 'https://api.example.com',
        state: 'open',
      });
      return Promise.reject(
        new BrokenCircuitError('circuit is open', 'https://api.example.com', 100),
      );
    }
    return Promise.resolve(next.call(ctx));
  }
}

/** Calls `inject` with the call's operation before the call, as a chaos policy reports. */
class Injecting extends BulwarkPolicy {
  constructor(
    clock: FakeClock,
    private readonly inject: (operation: string | undefined) => void,
  ) {
    super(clock);
  }
  protected run(ctx: Context, next: Next): Promise<unknown> {
    this.inject(ctx.operation);
    return Promise.resolve(next.call(ctx));
  }
}

/** Replaces a 503 response with a cached answer, as a fallback policy would. */
class Fallback extends BulwarkPolicy {
  constructor(clock: FakeClock) {
    super(clock);
  }
  protected async run(ctx: Context, next: Next): Promise<unknown> {
    const value = await next.call(ctx);
    return value instanceof Response && value.status === 503 ? 'cached' : value;
  }
}

describe('openTelemetryListener with tracedOperation', () => {
  it('records one operation span and one child span per attempt for a call that retried twice and succeeded', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'get-user', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, backoff: constantBackoff(100) }),
    );
    let n = 0;
    const call = policy.execute(async () => {
      await sleep(clock, 20);
      if (++n < 3) throw reset();
      return 'user';
    });
    await clock.runAll();
    await expect(call).resolves.toBe('user');

    const [operation] = spanNamed('get-user');
    const attempts = spanNamed('get-user attempt');
    expect(exporter.getFinishedSpans()).toHaveLength(4);
    expect(operation!.parentSpanContext).toBeUndefined();
    expect(operation!.attributes).toEqual({
      'bulwark.operation': 'get-user',
      'bulwark.attempts': 3,
      'bulwark.outcome': 'success',
    });
    expect(operation!.status.code).toBe(SpanStatusCode.UNSET);
    expect(operation!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'retry-scheduled',
        {
          'bulwark.policy': 'retry',
          'bulwark.attempt': 1,
          'bulwark.retry.delay_ms': 100,
          'bulwark.retry.delay_source': 'backoff',
          'bulwark.retry.reason': 'ECONNRESET',
        },
      ],
      [
        'retry-scheduled',
        {
          'bulwark.policy': 'retry',
          'bulwark.attempt': 2,
          'bulwark.retry.delay_ms': 100,
          'bulwark.retry.delay_source': 'backoff',
          'bulwark.retry.reason': 'ECONNRESET',
        },
      ],
    ]);

    expect(attempts.map((s) => s.attributes)).toEqual([
      { 'bulwark.attempt': 1, 'bulwark.outcome': 'failure', 'error.type': 'ECONNRESET' },
      {
        'bulwark.attempt': 2,
        'bulwark.retry.reason': 'ECONNRESET',
        'bulwark.retry.delay_ms': 100,
        'bulwark.retry.delay_source': 'backoff',
        'bulwark.outcome': 'failure',
        'error.type': 'ECONNRESET',
      },
      {
        'bulwark.attempt': 3,
        'bulwark.retry.reason': 'ECONNRESET',
        'bulwark.retry.delay_ms': 100,
        'bulwark.retry.delay_source': 'backoff',
        'bulwark.outcome': 'success',
      },
    ]);
    for (const attempt of attempts) {
      expect(parentOf(attempt)).toBe(idOf(operation!));
      expect(attempt.spanContext().traceId).toBe(operation!.spanContext().traceId);
      // Made after the fact, from the retry's measurement on its clock: 20 ms each.
      expect(ms(attempt)).toBeCloseTo(20, 3);
    }
    expect(attempts.map((s) => s.status)).toEqual([
      { code: SpanStatusCode.ERROR, message: 'socket hang up' },
      { code: SpanStatusCode.ERROR, message: 'socket hang up' },
      { code: SpanStatusCode.UNSET },
    ]);
    expect(attempts[0]!.events.map((e) => e.name)).toEqual(['exception']);
    expect(operation!.instrumentationScope.name).toBe('@bulwark/telemetry');
  });

  it('marks the operation span failed, with the error and why the retry gave up', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'pay', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, maxAttempts: 2, backoff: constantBackoff(10) }),
    );
    const call = policy.execute(() => Promise.reject(reset()));
    const failed = expect(call).rejects.toThrow('socket hang up');
    await clock.runAll();
    await failed;
    const [operation] = spanNamed('pay');
    expect(operation!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'socket hang up' });
    expect(operation!.attributes).toMatchObject({
      'bulwark.attempts': 2,
      'bulwark.retry.gave_up_reason': 'max-attempts',
      'bulwark.outcome': 'failure',
      'error.type': 'ECONNRESET',
    });
    expect(operation!.events.map((e) => e.name)).toEqual([
      'retry-scheduled',
      'retry-gave-up',
      'exception',
    ]);
  });

  it('counts a failed result the retry returned after giving up as a failure', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'status', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, maxAttempts: 2, backoff: constantBackoff(10) }),
    );
    const call = policy.execute(() => new Response(null, { status: 503 }));
    await clock.runAll();
    expect((await call).status).toBe(503);
    const [operation] = spanNamed('status');
    expect(operation!.status.code).toBe(SpanStatusCode.ERROR);
    expect(operation!.attributes).toMatchObject({
      'bulwark.outcome': 'failure',
      'error.type': '503',
    });
    expect(spanNamed('status attempt').map((s) => s.attributes['error.type'])).toEqual([
      '503',
      '503',
    ]);
  });

  it('leaves the operation successful when a fallback replaced the failed result the retry gave up on', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'with-fallback', listener, clock },
      tracedOperation({ clock }),
      new Fallback(clock),
      retry({ listener, clock, maxAttempts: 2, backoff: constantBackoff(10) }),
    );
    const call = policy.execute(() => new Response(null, { status: 503 }));
    await clock.runAll();
    await expect(call).resolves.toBe('cached');
    const [operation] = spanNamed('with-fallback');
    expect(operation!.status.code).toBe(SpanStatusCode.UNSET);
    expect(operation!.attributes).toMatchObject({
      'bulwark.outcome': 'success',
      'bulwark.retry.gave_up_reason': 'max-attempts',
    });
  });

  it('puts the breaker state on the attempt it rejected, with the rejection as an event', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'search', listener, clock },
      tracedOperation({ clock }),
      retry({
        listener,
        clock,
        backoff: constantBackoff(10),
        classify: { error: (e) => e instanceof BrokenCircuitError },
        delayHint: () => undefined,
      }),
      new RejectingBreaker(clock, listener, 1),
    );
    const call = policy.execute(() => 'found');
    await clock.runAll();
    await expect(call).resolves.toBe('found');
    const [first, second] = spanNamed('search attempt');
    expect(first!.attributes).toMatchObject({
      'bulwark.breaker.state': 'open',
      'error.type': 'BULWARK_BROKEN_CIRCUIT',
      'bulwark.outcome': 'circuit-open',
    });
    expect(second!.attributes['bulwark.breaker.state']).toBeUndefined();
    expect(spanNamed('search')[0]!.events.map((e) => e.name)).toEqual([
      'breaker-rejected',
      'retry-scheduled',
    ]);
  });

  it('names the span after the options when the pipeline names no operation', async () => {
    await pipeline(tracedOperation()).execute(() => 1);
    await pipeline(tracedOperation({ name: 'nightly-sync' })).execute(() => 1);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
      'bulwark.operation',
      'nightly-sync',
    ]);
  });

  it('records with an SDK registered after the pipeline was built', async () => {
    await builtEarly.execute(() => 'late');
    expect(spanNamed('early')).toHaveLength(1);
  });

  it('uses the tracer it is given', async () => {
    const own = new InMemorySpanExporter();
    const ownProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(own)] });
    await pipeline(
      { operation: 'own' },
      tracedOperation({ tracer: ownProvider.getTracer('mine') }),
    ).execute(() => 1);
    expect(own.getFinishedSpans().map((s) => [s.name, s.instrumentationScope.name])).toEqual([
      ['own', 'mine'],
    ]);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('parents the operation span to the span active when the call starts', async () => {
    const tracer = provider.getTracer('app');
    await tracer.startActiveSpan('GET /users/:id', async (server) => {
      await pipeline({ operation: 'inner' }, tracedOperation()).execute(() => 1);
      server.end();
    });
    const [inner] = spanNamed('inner');
    expect(parentOf(inner!)).toBe(idOf(spanNamed('GET /users/:id')[0]!));
  });
});

describe('tracedAttempt', () => {
  it('makes live attempt spans that parent what the attempt traces', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const tracer = provider.getTracer('http');
    const policy = pipeline(
      { operation: 'get-user', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, backoff: constantBackoff(100) }),
      tracedAttempt({ clock }),
    );
    let n = 0;
    const call = policy.execute(() =>
      // What an HTTP client instrumentation would do inside the attempt.
      tracer.startActiveSpan('GET', async (http) => {
        await sleep(clock, 5);
        http.end();
        if (++n < 3) throw reset();
        return 'user';
      }),
    );
    await clock.runAll();
    await expect(call).resolves.toBe('user');

    const [operation] = spanNamed('get-user');
    const attempts = spanNamed('get-user attempt');
    const requests = spanNamed('GET');
    expect(attempts).toHaveLength(3);
    expect(requests).toHaveLength(3);
    attempts.forEach((attempt, i) => {
      expect(parentOf(attempt)).toBe(idOf(operation!));
      expect(parentOf(requests[i]!)).toBe(idOf(attempt));
    });
    expect(
      attempts.map((s) => [s.attributes['bulwark.attempt'], s.attributes['bulwark.outcome']]),
    ).toEqual([
      [1, 'failure'],
      [2, 'failure'],
      [3, 'success'],
    ]);
    expect(attempts[1]!.attributes).toMatchObject({
      'bulwark.retry.reason': 'ECONNRESET',
      'bulwark.retry.delay_ms': 100,
    });
    expect(operation!.attributes['bulwark.attempts']).toBe(3);
  });

  it('ends a live attempt as failed when the retry counts its result as a failure', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'poll', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, maxAttempts: 2, backoff: constantBackoff(10) }),
      tracedAttempt({ clock }),
    );
    let n = 0;
    const call = policy.execute(() => new Response(null, { status: ++n === 1 ? 503 : 200 }));
    await clock.runAll();
    expect((await call).status).toBe(200);
    const attempts = spanNamed('poll attempt');
    expect(attempts.map((s) => [s.attributes['bulwark.outcome'], s.status.code])).toEqual([
      ['failure', SpanStatusCode.ERROR],
      ['success', SpanStatusCode.UNSET],
    ]);
    expect(attempts[0]!.attributes['error.type']).toBe('503');
  });

  it('puts a breaker rejection on the live attempt span', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'q', listener, clock },
      tracedOperation({ clock }),
      retry({
        listener,
        clock,
        backoff: constantBackoff(10),
        classify: { error: (e) => e instanceof BrokenCircuitError },
        delayHint: () => undefined,
      }),
      tracedAttempt({ clock }),
      new RejectingBreaker(clock, listener, 1),
    );
    const call = policy.execute(() => 'ok');
    await clock.runAll();
    await expect(call).resolves.toBe('ok');
    const [first] = spanNamed('q attempt');
    expect(first!.attributes['bulwark.breaker.state']).toBe('open');
    expect(first!.events.map((e) => e.name)).toEqual(['breaker-rejected', 'exception']);
  });

  it('works without tracedOperation, under whatever span is active', async () => {
    const tracer = provider.getTracer('app');
    await tracer.startActiveSpan('job', async (job) => {
      await pipeline({ operation: 'step' }, tracedAttempt()).execute(() => 1);
      job.end();
    });
    const [attempt] = spanNamed('step attempt');
    expect(attempt!.attributes).toEqual({ 'bulwark.attempt': 1, 'bulwark.outcome': 'success' });
    expect(parentOf(attempt!)).toBe(idOf(spanNamed('job')[0]!));
  });
});

describe('openTelemetryListener without tracedOperation', () => {
  it('adds policy decisions as events on the active span, and makes no attempt spans', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const policy = pipeline(
      { operation: 'plain', listener, clock },
      retry({ listener, clock, backoff: constantBackoff(10) }),
    );
    const tracer = provider.getTracer('app');
    let n = 0;
    const done = tracer.startActiveSpan('handler', async (handler) => {
      const value = await policy.execute(() => (++n < 2 ? Promise.reject(reset()) : 'ok'));
      handler.end();
      return value;
    });
    await clock.runAll();
    await expect(done).resolves.toBe('ok');
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['handler']);
    expect(
      spanNamed('handler')[0]!.events.map((e) => [e.name, e.attributes?.['bulwark.attempt']]),
    ).toEqual([
      ['attempt', 1],
      ['retry-scheduled', 1],
      ['attempt', 2],
    ]);
  });

  it('records every kind of decision with its attributes', async () => {
    const listener = combineListeners(openTelemetryListener())!;
    const events: PolicyEvent[] = [
      {
        type: 'breaker-state',
        policy: 'circuit-breaker',
        name: 'edge',
        operation: 'x',
        key: 'https://a',
        from: 'closed',
        to: 'open',
      },
      {
        type: 'bulkhead-queued',
        policy: 'bulkhead',
        name: undefined,
        operation: 'x',
        active: 2,
        queued: 1,
      },
      {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: undefined,
        operation: 'x',
        reason: 'queue-timeout',
        active: 2,
        queued: 3,
        limit: 2,
      },
      {
        type: 'bulkhead-limit',
        policy: 'bulkhead',
        name: undefined,
        operation: undefined,
        from: 2,
        to: 3,
      },
      { type: 'timeout', policy: 'timeout', name: undefined, operation: 'x', timeoutMs: 250 },
      {
        type: 'deadline-exceeded',
        policy: 'timeout',
        name: undefined,
        operation: 'x',
        budgetMs: undefined,
      },
      {
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: 'x',
        outcome: 'success',
        durationMs: 1,
        error: undefined,
      },
    ];
    provider.getTracer('app').startActiveSpan('s', (span) => {
      events.forEach(listener);
      span.end();
    });
    const [span] = spanNamed('s');
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'breaker-state',
        {
          'bulwark.policy': 'edge',
          'bulwark.breaker.from': 'closed',
          'bulwark.breaker.state': 'open',
          'bulwark.breaker.key': 'https://a',
        },
      ],
      [
        'bulkhead-queued',
        {
          'bulwark.policy': 'bulkhead',
          'bulwark.bulkhead.active': 2,
          'bulwark.bulkhead.queued': 1,
        },
      ],
      [
        'bulkhead-rejected',
        {
          'bulwark.policy': 'bulkhead',
          'bulwark.bulkhead.reason': 'queue-timeout',
          'bulwark.bulkhead.active': 2,
          'bulwark.bulkhead.queued': 3,
          'bulwark.bulkhead.limit': 2,
        },
      ],
      [
        'bulkhead-limit',
        { 'bulwark.policy': 'bulkhead', 'bulwark.bulkhead.from': 2, 'bulwark.bulkhead.limit': 3 },
      ],
      ['timeout', { 'bulwark.policy': 'timeout', 'bulwark.timeout_ms': 250 }],
      ['deadline-exceeded', { 'bulwark.policy': 'timeout' }],
    ]);
    expect(span!.attributes['bulwark.breaker.state']).toBe('open');
  });

  it('adds hedging and fallback decisions as span events', async () => {
    const listener = combineListeners(openTelemetryListener())!;
    const common = { name: undefined, operation: 'x' };
    const events: PolicyEvent[] = [
      {
        type: 'hedge-started',
        policy: 'hedging',
        ...common,
        attempt: 2,
        delayMs: 12.5,
        trigger: 'delay',
      },
      { type: 'hedge-won', policy: 'hedging', ...common, attempt: 2, attempts: 2 },
      { type: 'hedge-cancelled', policy: 'hedging', ...common, count: 1 },
      {
        type: 'fallback',
        policy: 'fallback',
        ...common,
        reason: 'BULWARK_BROKEN_CIRCUIT',
        outcome: 'success',
        durationMs: 0,
        error: new Error('open'),
        fallbackError: undefined,
      },
    ];
    provider.getTracer('app').startActiveSpan('s', (span) => {
      events.forEach(listener);
      span.end();
    });
    const [span] = spanNamed('s');
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'hedge-started',
        {
          'bulwark.policy': 'hedging',
          'bulwark.attempt': 2,
          'bulwark.hedge.delay_ms': 12.5,
          'bulwark.hedge.trigger': 'delay',
        },
      ],
      ['hedge-won', { 'bulwark.policy': 'hedging', 'bulwark.attempt': 2, 'bulwark.attempts': 2 }],
      ['hedge-cancelled', { 'bulwark.policy': 'hedging', 'bulwark.hedge.cancelled': 1 }],
      [
        'fallback',
        {
          'bulwark.policy': 'fallback',
          'bulwark.outcome': 'success',
          'error.type': 'BULWARK_BROKEN_CIRCUIT',
        },
      ],
    ]);
  });

  it('adds the HTTP cache’s decisions as span events, with no URL in them', async () => {
    const clock = new FakeClock();
    const cache = httpCache({ name: 'users', listener: openTelemetryListener(), clock });
    const url = 'http://api.test/users/1?token=secret';
    const down = (): never => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    await provider.getTracer('app').startActiveSpan('handler', async (span) => {
      await cache.handle({ method: 'GET', url }, () => ({
        status: 200,
        headers: { 'cache-control': 'max-age=1, stale-if-error=60' },
        body: 'x',
      }));
      await cache.handle({ method: 'GET', url }, down);
      await clock.advance(2_000);
      await cache.handle({ method: 'GET', url }, down);
      span.end();
    });
    const [span] = spanNamed('handler');
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'cache-miss',
        {
          'bulwark.policy': 'users',
          'http.request.method': 'GET',
          'bulwark.cache.reason': 'uri-miss',
        },
      ],
      [
        'cache-stored',
        {
          'bulwark.policy': 'users',
          'http.request.method': 'GET',
          'bulwark.cache.response_status': 200,
          'bulwark.cache.bytes': expect.any(Number) as number,
          'bulwark.cache.ttl_ms': expect.any(Number) as number,
        },
      ],
      [
        'cache-hit',
        {
          'bulwark.policy': 'users',
          'http.request.method': 'GET',
          'bulwark.cache.age_seconds': 0,
        },
      ],
      [
        'cache-miss',
        {
          'bulwark.policy': 'users',
          'http.request.method': 'GET',
          'bulwark.cache.reason': 'stale',
        },
      ],
      [
        'cache-stale-served',
        {
          'bulwark.policy': 'users',
          'http.request.method': 'GET',
          'bulwark.cache.reason': 'stale-if-error',
          'bulwark.cache.age_seconds': 2,
          'error.type': 'ECONNREFUSED',
        },
      ],
    ]);
    expect(JSON.stringify(span!.events)).not.toContain('api.test');
  });

  it('does nothing outside any span', () => {
    const listener = openTelemetryListener();
    expect(() =>
      listener({
        type: 'timeout',
        policy: 'timeout',
        name: undefined,
        operation: 'x',
        timeoutMs: 1,
      }),
    ).not.toThrow();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('openTelemetryListener: rate limiters and chaos', () => {
  it('puts a rate limiter’s refusals and waits on the operation span, and no immediate grant', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    const limiter = tokenBucket({
      name: 'partner',
      limit: 1,
      windowMs: 1_000,
      queue: 1,
      listener,
      clock,
    });
    const partner = pipeline(
      { operation: 'partner.get', clock },
      tracedOperation({ clock }),
      rateLimit({ limiter }),
    );
    await partner.execute(() => 'granted at once');
    const waiting = partner.execute(() => 'waited');
    await expect(partner.execute(() => 'refused')).rejects.toThrow('rate limit "partner"');
    await clock.advance(1_000);
    await waiting;

    // The refused call's span also records its exception, as every failed operation's does.
    const events = spanNamed('partner.get').map((span) =>
      span.events.filter((e) => e.name !== 'exception').map((e) => [e.name, e.attributes]),
    );
    expect(events).toEqual([
      [],
      [
        [
          'rate-limit-rejected',
          {
            'bulwark.policy': 'partner',
            'bulwark.rate_limit.reason': 'queue-full',
            'bulwark.rate_limit.permits': 1,
            'bulwark.rate_limit.retry_after_ms': 1_000,
          },
        ],
      ],
      [
        [
          'rate-limit-queued',
          {
            'bulwark.policy': 'partner',
            'bulwark.rate_limit.permits': 1,
            'bulwark.rate_limit.queued': 1,
          },
        ],
      ],
    ]);
  });

  it('records a grant after a wait and a store failure with their fields', () => {
    const listener = openTelemetryListener();
    const common = { policy: 'rate-limit', name: 'partner', operation: 'x' } as const;
    provider.getTracer('app').startActiveSpan('s', (span) => {
      listener({ ...common, type: 'rate-limit-granted', permits: 2, remaining: 3, waitedMs: 250 });
      listener({
        ...common,
        type: 'rate-limit-store-error',
        mode: 'allow',
        error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
      span.end();
    });
    expect(spanNamed('s')[0]!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'rate-limit-granted',
        {
          'bulwark.policy': 'partner',
          'bulwark.rate_limit.permits': 2,
          'bulwark.rate_limit.remaining': 3,
          'bulwark.rate_limit.waited_ms': 250,
        },
      ],
      [
        'rate-limit-store-error',
        {
          'bulwark.policy': 'partner',
          'bulwark.rate_limit.store_error_mode': 'allow',
          'error.type': 'ECONNREFUSED',
        },
      ],
    ]);
  });

  it('puts chaos injections on the operation span with what was injected, never the origin', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener();
    // Reports as @bulwark/chaos's policies do (that package cannot be a dependency of this one).
    const common = { type: 'chaos-injected', policy: 'chaos', name: 'rehearsal' } as const;
    const injecting = new Injecting(clock, (operation) => {
      listener({ ...common, operation, kind: 'latency', latencyMs: 200, cutByDeadline: true });
      listener({ ...common, operation, kind: 'fault', error: reset() });
      listener({
        ...common,
        operation,
        kind: 'http-status',
        method: 'GET',
        origin: 'https://api.example.com',
        status: 503,
      } as ChaosEventShape);
      listener({ ...common, operation, kind: 'truncated-body', method: 'GET', afterBytes: 10 });
    });
    const users = pipeline(
      { operation: 'users.get', clock },
      tracedOperation({ clock }),
      injecting,
    );
    await users.execute(() => 'ok');

    const [span] = spanNamed('users.get');
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'chaos-injected',
        {
          'bulwark.policy': 'rehearsal',
          'bulwark.chaos.kind': 'latency',
          'bulwark.chaos.latency_ms': 200,
          'bulwark.chaos.cut_by_deadline': true,
        },
      ],
      [
        'chaos-injected',
        {
          'bulwark.policy': 'rehearsal',
          'bulwark.chaos.kind': 'fault',
          'error.type': 'ECONNRESET',
        },
      ],
      [
        'chaos-injected',
        {
          'bulwark.policy': 'rehearsal',
          'bulwark.chaos.kind': 'http-status',
          'http.request.method': 'GET',
          'bulwark.chaos.status': 503,
        },
      ],
      [
        'chaos-injected',
        {
          'bulwark.policy': 'rehearsal',
          'bulwark.chaos.kind': 'truncated-body',
          'http.request.method': 'GET',
          'bulwark.chaos.after_bytes': 10,
        },
      ],
    ]);
  });
});

describe('openTelemetryListener: a service client', () => {
  it("records an endpoint's ejection and readmission on the active span, and the service's endpoints", () => {
    const listener = openTelemetryListener();
    // Reports as @bulwark/service-client does (that package cannot be a dependency of this one).
    const common = { policy: 'service-client', name: 'inventory', operation: 'x' } as const;
    provider.getTracer('app').startActiveSpan('s', (span) => {
      listener({
        ...common,
        type: 'endpoint-ejected',
        endpoint: 'http://10.0.0.5:8080',
        reason: 'consecutive-failures',
        ejections: 2,
        durationMs: 60_000,
        ejected: 1,
        endpoints: 3,
      });
      listener({
        ...common,
        type: 'endpoint-readmitted',
        endpoint: 'http://10.0.0.5:8080',
        ejected: 0,
        endpoints: 3,
      });
      listener({
        ...common,
        type: 'endpoints-updated',
        added: ['http://10.0.0.7:8080'],
        removed: [],
        endpoints: 4,
      });
      listener({
        ...common,
        type: 'endpoints-refresh-failed',
        error: Object.assign(new Error('queryA ESERVFAIL'), { code: 'ESERVFAIL' }),
        endpoints: 4,
      });
      span.end();
    });
    expect(spanNamed('s')[0]!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'endpoint-ejected',
        {
          'bulwark.policy': 'inventory',
          'bulwark.endpoint': 'http://10.0.0.5:8080',
          'bulwark.ejection.reason': 'consecutive-failures',
          'bulwark.ejection.duration_ms': 60_000,
          'bulwark.ejection.count': 2,
          'bulwark.endpoints.ejected': 1,
          'bulwark.endpoints': 3,
        },
      ],
      [
        'endpoint-readmitted',
        {
          'bulwark.policy': 'inventory',
          'bulwark.endpoint': 'http://10.0.0.5:8080',
          'bulwark.endpoints.ejected': 0,
          'bulwark.endpoints': 3,
        },
      ],
      [
        'endpoints-updated',
        {
          'bulwark.policy': 'inventory',
          'bulwark.endpoints.added': 1,
          'bulwark.endpoints.removed': 0,
          'bulwark.endpoints': 4,
        },
      ],
      [
        'endpoints-refresh-failed',
        { 'bulwark.policy': 'inventory', 'error.type': 'ESERVFAIL', 'bulwark.endpoints': 4 },
      ],
    ]);
  });
});

/**
 * A function that describes the HTTP request each attempt sent, as @bulwark/http-client's
 * does, and answers with the statuses given, one per attempt.
 */
function httpCall(request: Omit<HttpAttemptInfo, 'statusCode'>, statuses: number[]) {
  let n = 0;
  const fn = () => new Response(null, { status: statuses[n++]! });
  return Object.assign(fn, {
    [httpAttemptSource]: {
      httpAttempt: (attempt: number): HttpAttemptInfo => ({
        ...request,
        statusCode: statuses[attempt - 1],
      }),
    },
  });
}

describe('attempt spans of HTTP requests', () => {
  const traced = (operation: string, live: boolean, clock: FakeClock) => {
    const listener = openTelemetryListener();
    return pipeline(
      { operation, listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock, maxAttempts: 2, backoff: constantBackoff(10) }),
      ...(live ? [tracedAttempt({ clock })] : []),
    );
  };

  it.each([
    ['live', true],
    ['made from the events', false],
  ])(
    'are CLIENT spans with the HTTP conventions’ attributes, and no exception for a status (%s)',
    async (_, live) => {
      const clock = new FakeClock();
      const call = traced('orders', live, clock).execute(
        httpCall(
          { method: 'PURGE', url: 'https://user:pass@[::1]/orders?sig=abc#top' },
          [503, 200],
        ),
      );
      await clock.runAll();
      expect((await call).status).toBe(200);

      const [failed, succeeded] = spanNamed('orders attempt');
      const request = {
        'http.request.method': '_OTHER',
        'http.request.method_original': 'PURGE',
        'server.address': '::1',
        'server.port': 443,
        'url.full': 'https://REDACTED:REDACTED@[::1]/orders?REDACTED#top',
      };
      expect(failed!.attributes).toEqual({
        ...request,
        'bulwark.attempt': 1,
        'bulwark.outcome': 'failure',
        'http.response.status_code': 503,
        'error.type': '503',
      });
      expect(succeeded!.attributes).toEqual({
        ...request,
        'bulwark.attempt': 2,
        'bulwark.outcome': 'success',
        'bulwark.retry.reason': '503',
        'bulwark.retry.delay_ms': 10,
        'bulwark.retry.delay_source': 'backoff',
        'http.request.resend_count': 1,
        'http.response.status_code': 200,
      });
      expect([failed!.kind, succeeded!.kind]).toEqual([SpanKind.CLIENT, SpanKind.CLIENT]);
      expect([failed!.status.code, succeeded!.status.code]).toEqual([
        SpanStatusCode.ERROR,
        SpanStatusCode.UNSET,
      ]);
      // A status is an answer, not an exception: no exception event (OpenTelemetry's conventions).
      expect(failed!.events.map((e) => e.name)).toEqual([]);
      expect(spanNamed('orders')[0]!.kind).toBe(SpanKind.INTERNAL);
    },
  );

  it('records an exception event for a thrown error, and keeps a known method as it is', async () => {
    const clock = new FakeClock();
    const fn = Object.assign(() => Promise.reject(reset()), {
      [httpAttemptSource]: {
        httpAttempt: (): HttpAttemptInfo => ({
          method: 'DELETE',
          url: 'http://api.example:8080/items/1',
          statusCode: undefined,
        }),
      },
    });
    const call = traced('remove', true, clock).execute(fn);
    const failed = expect(call).rejects.toThrow('socket hang up');
    await clock.runAll();
    await failed;
    const [first] = spanNamed('remove attempt');
    expect(first!.attributes).toMatchObject({
      'http.request.method': 'DELETE',
      'server.address': 'api.example',
      'server.port': 8080,
      'url.full': 'http://api.example:8080/items/1',
      'error.type': 'ECONNRESET',
    });
    expect(first!.attributes).not.toHaveProperty('http.request.method_original');
    expect(first!.attributes).not.toHaveProperty('http.response.status_code');
    expect(first!.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('keeps the query when told to', async () => {
    const clock = new FakeClock();
    const listener = openTelemetryListener({ urlQuery: 'keep' });
    const policy = pipeline(
      { operation: 'search', listener, clock },
      tracedOperation({ clock }),
      retry({ listener, clock }),
    );
    await policy.execute(httpCall({ method: 'GET', url: 'https://api.example/s?q=shoes' }, [200]));
    expect(spanNamed('search attempt')[0]!.attributes['url.full']).toBe(
      'https://api.example/s?q=shoes',
    );
  });
});

describe('tracedOperation and tracedAttempt options', () => {
  it.each([
    [{ tracer: {} }, new TypeError('expected tracer to be an OpenTelemetry Tracer, got an object')],
    [{ name: '' }, new TypeError('expected name to be a non-empty string, got ""')],
    [
      { clock: Date },
      new TypeError(
        'expected clock to be a Clock with now(), dateNow(), setTimeout() and clearTimeout(), got a function',
      ),
    ],
  ])('refuse %o', (options, error) => {
    expect(() => tracedOperation(options as never)).toThrow(error);
    expect(() => tracedAttempt(options as never)).toThrow(error);
  });

  it('refuse a urlQuery other than redact or keep, and options they do not know', () => {
    const error = new TypeError('expected urlQuery to be one of "redact", "keep", got "drop"');
    expect(() => tracedAttempt({ urlQuery: 'drop' as never })).toThrow(error);
    expect(() => openTelemetryListener({ urlQuery: 'drop' as never })).toThrow(error);
    expect(() => tracedAttempt({ kind: 'client' } as never)).toThrow(
      'unknown option "kind" for tracedAttempt(); expected one of tracer, name, clock, urlQuery',
    );
    expect(() => openTelemetryListener({ query: 'keep' } as never)).toThrow(
      'unknown option "query" for openTelemetryListener(); expected one of urlQuery',
    );
  });

  it('refuse options that are not an object', () => {
    expect(() => tracedOperation(1 as never)).toThrow(
      new TypeError('expected the options of tracedOperation() to be an object, got 1'),
    );
    expect(() => tracedAttempt(1 as never)).toThrow(
      new TypeError('expected the options of tracedAttempt() to be an object, got 1'),
    );
  });
});
