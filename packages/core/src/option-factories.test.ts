import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';

/**
 * Every factory of the policy packages that takes an options object refuses a misspelt option
 * name (core's checkKnownOptions), instead of falling back to a default without a word.
 *
 * Each package's exported functions are listed here: a factory with a valid sample of its
 * options and one option to misspell, or a function that takes no options object, with why. A
 * factory whose check is removed fails, and so does an export listed in neither table, so a new
 * factory cannot skip the check unnoticed.
 *
 * The packages are imported by name at run time, from their built dist/ (`npm test` builds every
 * package first): @bulwark/core depends on none of them, and its type graph stays that way.
 */

type Options = Record<string, unknown>;

interface Factory {
  /** Calls the factory with these options (and whatever else it needs). */
  readonly call: (options: Options) => unknown;
  /** Options the factory accepts as they are. */
  readonly sample: Options;
  /** A name it takes: misspelt by dropping its last letter, which only this name begins with. */
  readonly option: string;
}

/** The exports of one package: factories, and functions that take no options object. */
interface PackageExports {
  readonly factories: Readonly<Record<string, (exports: Record<string, unknown>) => Factory>>;
  readonly takesNoOptions: Readonly<Record<string, string>>;
}

type Fn = (...args: unknown[]) => unknown;

/** `name` from a package's exports, as a function of one options object. */
function unary(exports: Record<string, unknown>, name: string): (options: Options) => unknown {
  const fn = exports[name] as Fn;
  return (options) => fn(options);
}

const fakeServer = { close: () => undefined, on: () => undefined, off: () => undefined };
const never = () => new Promise<never>(() => undefined);
const ERROR_CLASS = 'an error class: its constructor takes a message, not options';
const GUARD = 'a type guard: takes the value to test';
const POLICY_CLASS = 'the policy class, exported for instanceof: build it with its factory';

const PACKAGES: Readonly<Record<string, PackageExports>> = {
  '@bulwark/core': {
    factories: {
      pipeline: (x) => ({ call: unary(x, 'pipeline'), sample: {}, option: 'operation' }),
    },
    takesNoOptions: {
      BrokenCircuitError: ERROR_CLASS,
      BulkheadRejectedError: ERROR_CLASS,
      CancelledError: ERROR_CLASS,
      DeadlineExceededError: ERROR_CLASS,
      IsolatedCircuitError: ERROR_CLASS,
      TimeoutError: ERROR_CLASS,
      combineListeners: 'takes listeners',
      fromCockatielError: 'takes an error',
      isBrokenCircuitError: GUARD,
      isBulkheadRejectedError: GUARD,
      isBulwarkError: GUARD,
      isBulwarkPolicy: GUARD,
      isCancelledError: GUARD,
      isDeadlineExceededError: GUARD,
      isIsolatedCircuitError: GUARD,
      isTimeoutError: GUARD,
    },
  },
  '@bulwark/retry': {
    factories: {
      retry: (x) => ({ call: unary(x, 'retry'), sample: {}, option: 'maxAttempts' }),
      exponentialBackoff: (x) => ({
        call: unary(x, 'exponentialBackoff'),
        sample: {},
        option: 'jitter',
      }),
      linearBackoff: (x) => ({ call: unary(x, 'linearBackoff'), sample: {}, option: 'stepMs' }),
      retryBudget: (x) => ({ call: unary(x, 'retryBudget'), sample: {}, option: 'windowMs' }),
    },
    takesNoOptions: {
      anyOf: 'takes predicates',
      constantBackoff: 'takes a delay in milliseconds',
      defaultDelayHint: "a delayHint: takes the policy's arguments, not options",
      delayFromHeaders: 'takes headers and a time',
      errorCodeIn: 'takes error codes',
      isRetryableError: GUARD,
      isRetryableNetworkError: GUARD,
      retryableStatus: 'takes status codes',
      statusOf: 'takes a result or an error',
    },
  },
  '@bulwark/timeout': {
    factories: {
      timeout: (x) => ({
        call: (options) => (x.timeout as Fn)(100, options),
        sample: {},
        option: 'strategy',
      }),
      deadline: (x) => ({
        call: (options) => (x.deadline as Fn)(100, options),
        sample: {},
        option: 'strategy',
      }),
    },
    takesNoOptions: {
      DeadlineExceededError: ERROR_CLASS,
      TimeoutError: ERROR_CLASS,
      DeadlinePolicy: POLICY_CLASS,
      TimeoutPolicy: POLICY_CLASS,
      formatGrpcTimeout: 'takes milliseconds',
      parseGrpcTimeout: 'takes a header value',
      isDeadlineExceededError: GUARD,
      isTimeoutError: GUARD,
      readBudget: 'runs per inbound request, not once: takes headers and options read per call',
      writeBudget: 'runs per outbound attempt, not once: takes headers and options read per call',
    },
  },
  '@bulwark/circuit-breaker': {
    factories: {
      circuitBreaker: (x) => ({
        call: unary(x, 'circuitBreaker'),
        sample: {},
        option: 'halfOpenTrials',
      }),
      breakerRegistry: (x) => ({
        call: unary(x, 'breakerRegistry'),
        sample: {},
        option: 'maxKeys',
      }),
      consecutive: (x) => ({ call: unary(x, 'consecutive'), sample: {}, option: 'threshold' }),
      countWindow: (x) => ({ call: unary(x, 'countWindow'), sample: {}, option: 'minimumCalls' }),
      timeWindow: (x) => ({ call: unary(x, 'timeWindow'), sample: {}, option: 'buckets' }),
    },
    takesNoOptions: {},
  },
  '@bulwark/bulkhead': {
    factories: {
      bulkhead: (x) => ({
        call: unary(x, 'bulkhead'),
        sample: { limit: 2 },
        option: 'retryAfterMs',
      }),
      adaptiveLimit: (x) => ({
        call: unary(x, 'adaptiveLimit'),
        sample: { algorithm: 'gradient2' },
        option: 'tolerance',
      }),
    },
    takesNoOptions: { BulkheadRejectedError: ERROR_CLASS, isBulkheadRejectedError: GUARD },
  },
  '@bulwark/correlation': {
    factories: {
      correlationPropagator: (x) => ({
        call: unary(x, 'correlationPropagator'),
        sample: {},
        option: 'openTelemetry',
      }),
      createRequestContext: (x) => ({
        call: unary(x, 'createRequestContext'),
        sample: {},
        option: 'baggage',
      }),
    },
    takesNoOptions: {
      bindLogger: 'runs per request, not once: takes a logger and the options logFields reads',
      logFields: 'runs per request, not once: takes the request context and field names per call',
      contextFromHeaders: 'runs per request: takes headers and per-request extras',
      currentContext: 'takes nothing',
      formatTraceparent: 'takes trace fields',
      formatTracestate: 'takes entries',
      generateSpanId: 'takes nothing',
      generateTraceId: 'takes nothing',
      injectHeaders: 'takes headers and a context',
      isValidCorrelationId: GUARD,
      outboundHeaders: 'takes a context',
      parseTraceparent: 'takes a header value',
      parseTracestate: 'takes a header value',
      remainingMs: 'takes a context and a clock',
      runWithContext: 'takes a context and a function',
      uuidv7: 'takes nothing',
      withBaggage: 'takes baggage values and a function',
    },
  },
  '@bulwark/health': {
    factories: {
      healthRegistry: (x) => ({ call: unary(x, 'healthRegistry'), sample: {}, option: 'cacheMs' }),
      breakerCheck: (x) => ({
        call: unary(x, 'breakerCheck'),
        sample: { name: 'db', breaker: { view: () => ({ state: 'closed' }) } },
        option: 'whenOpen',
      }),
      eventLoopCheck: (x) => ({
        call: unary(x, 'eventLoopCheck'),
        sample: {},
        option: 'maxUtilization',
      }),
      httpCheck: (x) => ({
        call: unary(x, 'httpCheck'),
        sample: { url: 'http://127.0.0.1:1/health' },
        option: 'expectStatus',
      }),
      memoryCheck: (x) => ({ call: unary(x, 'memoryCheck'), sample: {}, option: 'maxRssBytes' }),
      redisCheck: (x) => ({
        call: unary(x, 'redisCheck'),
        sample: { client: { ping: () => Promise.resolve('PONG') } },
        option: 'client',
      }),
      gracefulShutdown: (x) => ({
        call: unary(x, 'gracefulShutdown'),
        sample: { server: fakeServer, signalSource: new EventEmitter() },
        option: 'drainTimeoutMs',
      }),
    },
    takesNoOptions: {},
  },
  '@bulwark/idempotency': {
    factories: {
      idempotency: (x) => ({ call: unary(x, 'idempotency'), sample: {}, option: 'lockTimeoutMs' }),
      memoryStore: (x) => ({ call: unary(x, 'memoryStore'), sample: {}, option: 'maxEntries' }),
      redisStore: (x) => ({
        call: unary(x, 'redisStore'),
        sample: { client: { set: never, get: never, eval: never } },
        option: 'prefix',
      }),
    },
    takesNoOptions: {
      MemoryStoreFullError: ERROR_CLASS,
      defaultShouldStore: "a shouldStore: takes the response's status, not options",
    },
  },
  '@bulwark/rate-limit': {
    factories: {
      tokenBucket: (x) => ({
        call: unary(x, 'tokenBucket'),
        sample: { limit: 10, windowMs: 1000 },
        option: 'burst',
      }),
      slidingWindow: (x) => ({
        call: unary(x, 'slidingWindow'),
        sample: { limit: 10, windowMs: 1000 },
        option: 'maxWaitMs',
      }),
      rateLimit: (x) => ({
        call: unary(x, 'rateLimit'),
        sample: { limiter: (x.tokenBucket as Fn)({ limit: 10, windowMs: 1000 }) },
        option: 'permits',
      }),
      memoryStore: (x) => ({ call: unary(x, 'memoryStore'), sample: {}, option: 'maxKeys' }),
      redisStore: (x) => ({
        call: unary(x, 'redisStore'),
        sample: { client: { evalsha: never, eval: never } },
        option: 'timeoutMs',
      }),
    },
    takesNoOptions: {
      RateLimitedError: ERROR_CLASS,
      isRateLimitedError: GUARD,
      formatRateLimit: 'takes decisions',
      formatRateLimitPolicy: 'takes decisions',
      formatRetryAfter: 'takes decisions',
      rateLimitHeaders: 'takes decisions',
      retryAfterSeconds: 'takes decisions',
    },
  },
  '@bulwark/hedging': {
    factories: {
      hedging: (x) => ({
        call: unary(x, 'hedging'),
        sample: { idempotent: true },
        option: 'maxHedgedAttempts',
      }),
      adaptiveDelay: (x) => ({
        call: unary(x, 'adaptiveDelay'),
        sample: {},
        option: 'halfLifeMs',
      }),
    },
    takesNoOptions: {
      HedgingPolicy: POLICY_CLASS,
      NotIdempotentError: ERROR_CLASS,
      idempotent: 'takes a function to mark',
      isIdempotent: GUARD,
      isNotIdempotentError: GUARD,
    },
  },
  '@bulwark/fallback': {
    factories: {
      fallback: (x) => ({ call: unary(x, 'fallback'), sample: { value: 0 }, option: 'timeoutMs' }),
    },
    takesNoOptions: {
      FallbackFailedError: ERROR_CLASS,
      FallbackPolicy: POLICY_CLASS,
      isFallbackFailedError: GUARD,
    },
  },
  '@bulwark/chaos': {
    factories: {
      chaosBehavior: (x) => ({
        call: unary(x, 'chaosBehavior'),
        sample: { behavior: () => undefined },
        option: 'listener',
      }),
      chaosFault: (x) => ({ call: unary(x, 'chaosFault'), sample: {}, option: 'error' }),
      chaosLatency: (x) => ({ call: unary(x, 'chaosLatency'), sample: {}, option: 'latencyMs' }),
      chaosOutcome: (x) => ({
        call: unary(x, 'chaosOutcome'),
        sample: { outcome: () => 1 },
        option: 'outcome',
      }),
    },
    takesNoOptions: {
      ChaosFaultError: ERROR_CLASS,
      chaosSwitch: 'takes whether it starts enabled',
      isChaosFaultError: GUARD,
    },
  },
  '@bulwark/chaos/http': {
    factories: {
      chaosHttp: (x) => ({ call: unary(x, 'chaosHttp'), sample: {}, option: 'statuses' }),
    },
    takesNoOptions: { chaosSwitch: 'takes whether it starts enabled' },
  },
};

/** Whatever a factory made that runs until stopped: a sampler, signal listeners. */
function dispose(made: unknown): void {
  const stop = (made as { dispose?: unknown } | undefined)?.dispose;
  if (typeof stop === 'function') (stop as () => void).call(made);
}

async function load(name: string): Promise<Record<string, unknown>> {
  return (await import(name)) as Record<string, unknown>;
}

describe.each(Object.entries(PACKAGES))('%s', (name, listed) => {
  it('lists every exported function as a factory or as taking no options object', async () => {
    const exports = await load(name);
    const functions = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
    const known = [...Object.keys(listed.factories), ...Object.keys(listed.takesNoOptions)];
    expect(functions.filter((key) => !known.includes(key))).toEqual([]);
    expect(known.filter((key) => !functions.includes(key))).toEqual([]);
  });

  it.each(Object.keys(listed.factories))(
    '%s() accepts its sample and refuses a misspelt option, naming the one it misspells',
    async (factory) => {
      const { call, sample, option } = listed.factories[factory]!(await load(name));
      dispose(call(sample));
      const typo = option.slice(0, -1);
      const misspelt = () => dispose(call({ ...sample, [typo]: sample[option] ?? 1 }));
      expect(misspelt).toThrow(TypeError);
      expect(misspelt).toThrow(
        `unknown option ${JSON.stringify(typo)} for ${factory}(); did you mean ${JSON.stringify(option)}?`,
      );
    },
  );
});
