import {
  type BulkheadRejectedError,
  type Clock,
  isBulkheadRejectedError,
  systemClock,
} from '@bulwark/core';
import { checkClock, checkKnownOptions, checkOptionsObject } from '@bulwark/core/internal';
import { type Bulkhead, bulkhead } from '@bulwark/bulkhead';
import type { CorrelationPropagator, RequestContext } from '@bulwark/correlation';
import { type HealthRegistry, type HealthReport, healthRegistry } from '@bulwark/health';
import { type PrometheusRegistry, prometheusListener } from '@bulwark/telemetry';
import { type ReadBudgetOptions, readBudget } from '@bulwark/timeout';
import type { RateLimitDecision } from '@bulwark/rate-limit';
import { expiredBudgetError, httpAnswerFor, shedError, withHttpFields } from './http-errors.js';
import {
  type IdempotencyGate,
  type IdempotencyStep,
  resolveIdempotency,
} from './idempotency-gate.js';
import { InboundRateLimit, parseRateLimit } from './inbound-rate-limit.js';
import type { BulwarkOptions } from './options.js';
import { DEFAULT_SAMPLE_INTERVAL_MS, PressureMonitor, type PressureProbe } from './pressure.js';
import { RequestMetrics } from './request-metrics.js';
import { FixedSlots } from './slots.js';
import {
  BULWARK_OPTIONS,
  DEFAULT_LIMIT_RETRY_AFTER_MS,
  FACTORY,
  type MetricsSettings,
  type SheddingSettings,
  parseCorrelation,
  parseDeadline,
  parseHealth,
  parseMetrics,
  parseShedding,
} from './stack-options.js';
import {
  ADMITTED,
  type Admission,
  type Answer,
  GONE,
  type InboundHeaders,
  type OwnRoute,
  type OwnRouteAdmission,
  PENDING,
  type Ticket,
  answered,
  pathOf,
  rejected,
} from './ticket.js';

export {
  DEFAULT_LIVENESS_PATH,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PREFIX,
  DEFAULT_READINESS_PATH,
  DEFAULT_STARTUP_PATH,
} from './stack-options.js';

/** The `policy` label of the shedding bulkhead in Bulwark's policy metrics. */
export const SHEDDING_BULKHEAD_NAME = 'http-server';

/** What a health or metrics route answers. */
export interface OwnAnswer extends Answer {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const BYPASS: IdempotencyStep = Object.freeze({ kind: 'bypass' });

type Listener = ReturnType<typeof prometheusListener>;

/** The concurrency limit and pressure checks that shedding builds. */
interface Shedding {
  readonly slots: FixedSlots | undefined;
  readonly limiter: Bulkhead | undefined;
  readonly pressure: PressureMonitor | undefined;
}

/**
 * Everything the Express middleware and the Fastify plugin share: the validated options, the
 * parts built from them, and the decisions made for each request. The adapters only translate
 * between it and their framework.
 */
export class BulwarkStack<Req = unknown> {
  /** GET/HEAD routes answered by the stack itself, by path. Never shed, never correlated. */
  readonly ownRoutes: ReadonlyMap<string, OwnRoute>;
  readonly propagator: CorrelationPropagator | undefined;
  /** The response header the correlation ID is echoed in. */
  readonly responseHeader: string | undefined;
  /** A fixed limit without a queue: a counter. */
  readonly slots: FixedSlots | undefined;
  /** A queue or an adaptive limit: `@bulwark/bulkhead`'s policy. */
  readonly limiter: Bulkhead | undefined;
  readonly pressure: PressureMonitor | undefined;
  readonly metrics: RequestMetrics | undefined;
  readonly idempotency: IdempotencyGate<Req> | undefined;
  /** The rate limit per caller. */
  readonly rateLimit: InboundRateLimit<Req> | undefined;
  readonly clock: Clock;
  /** The registry behind the health routes. */
  readonly healthRegistry: HealthRegistry | undefined;
  /** The outcome of each own route, made once. */
  private readonly ownAdmissions: ReadonlyMap<string, OwnRouteAdmission>;
  private readonly budgetOptions: ReadBudgetOptions | undefined;
  private readonly budgetHeaders: readonly string[];
  private readonly ownHealth: boolean;
  private readonly detailed: boolean;
  private readonly pressureRetryAfterMs: number;
  private readonly registry: PrometheusRegistry | undefined;
  private readonly stops: Array<() => void> = [];
  private readonly headerView = new NodeHeaders();

  constructor(options: BulwarkOptions<Req> = {}, probe?: PressureProbe) {
    checkOptionsObject(FACTORY, options);
    checkKnownOptions(FACTORY, options, BULWARK_OPTIONS);
    if (options.clock !== undefined) checkClock(options.clock);
    this.clock = options.clock ?? systemClock;
    // Every option is checked before anything is registered or started.
    const routes = new Map<string, OwnRoute>();
    const correlation = parseCorrelation(options.correlation);
    const deadline = parseDeadline(options.deadline, correlation !== undefined);
    const health = parseHealth(options.health, routes);
    const metrics = parseMetrics(options.metrics, routes);
    const shedding = parseShedding(options.shedding);
    this.idempotency = resolveIdempotency(options.idempotency, this.clock);
    const rateLimit = parseRateLimit<Req>(options.rateLimit, this.clock);
    this.rateLimit = rateLimit === undefined ? undefined : new InboundRateLimit(rateLimit);

    this.ownRoutes = routes;
    this.ownAdmissions = new Map(
      [...routes].map(([path, route]) => [
        path,
        Object.freeze({ kind: 'own-route' as const, route }),
      ]),
    );
    this.propagator = correlation?.propagator;
    this.responseHeader = correlation?.responseHeader;
    this.budgetOptions = deadline?.read;
    this.budgetHeaders = deadline?.headers ?? [];
    this.registry = metrics?.registry;
    const listener = metrics === undefined ? undefined : this.measure(metrics);
    this.metrics = metrics === undefined ? undefined : this.requestMetrics(metrics);
    const parts = shedding === undefined ? undefined : this.shed(shedding, listener, probe);
    this.slots = parts?.slots;
    this.limiter = parts?.limiter;
    this.pressure = parts?.pressure;
    this.pressureRetryAfterMs = shedding?.pressureRetryAfterMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.ownHealth = health !== undefined && health.registry === undefined;
    this.healthRegistry =
      health === undefined ? undefined : (health.registry ?? healthRegistry({ clock: this.clock }));
    this.detailed = health?.detailed ?? false;
  }

  /** Starts the pressure sampler (idempotent). */
  start(): void {
    this.pressure?.start();
  }

  /** Stops the sampler, takes the metrics out of the registry, closes a health registry it made. */
  close(): void {
    this.pressure?.stop();
    for (const stop of this.stops.splice(0)) stop();
    if (this.ownHealth) this.healthRegistry?.close();
  }

  /** Whether a request's slot must be given back when its response closes. */
  get holdsSlots(): boolean {
    return this.slots !== undefined || this.limiter !== undefined;
  }

  /** The stack's own route a GET or HEAD of this URL asks for, if it is one. */
  ownRoute(method: string, url: string): OwnRouteAdmission | undefined {
    if (this.ownAdmissions.size === 0 || (method !== 'GET' && method !== 'HEAD')) return undefined;
    return this.ownAdmissions.get(pathOf(url));
  }

  /**
   * Decides whether a request may go on to the routes, in this order: the stack's own routes;
   * the correlation context, its ID echoed on the response; a caller's budget already spent;
   * pressure; the caller's rate limit; a concurrency slot, taken at once or waited for in the
   * bulkhead's queue. Each refusal is counted. A request that waits (for a slot, or for a
   * remote limiter's decision) gets `PENDING` now and its outcome through `ticket.resume()`;
   * every other outcome but a refusal is a shared constant.
   */
  admit(ticket: Ticket<Req>): Admission {
    const own = this.ownRoute(ticket.method, ticket.url);
    if (own !== undefined) return own;
    if (this.propagator !== undefined) {
      const context = (ticket.context ??= this.context(ticket.headers));
      const header = this.responseHeader;
      if (header !== undefined) ticket.setHeader(header, context.correlationId);
      if (context.deadline !== Infinity && context.deadline <= this.clock.now()) {
        return rejected(expiredBudgetError());
      }
    }
    const pressure = this.pressureRejection();
    if (pressure !== undefined) return rejected(pressure);
    // Before a slot is taken, so a slot is never held while a decision is on the wire.
    const limit = this.rateLimit;
    if (limit !== undefined && limit.applies(ticket.url)) return this.limitCaller(ticket, limit);
    return this.takeSlot(ticket);
  }

  /**
   * The response closed, finished or abandoned by its client: gives back the slot the ticket
   * holds, whichever kind, once, and takes a request still queued out of the queue at once.
   */
  release(ticket: Ticket<Req>): void {
    ticket.closed = true;
    if (ticket.held) {
      ticket.held = false;
      this.slots!.release();
    }
    const release = ticket.release;
    if (release !== undefined) {
      ticket.release = undefined;
      release();
    }
    const abort = ticket.abort;
    if (abort !== undefined) {
      ticket.abort = undefined;
      abort.abort();
    }
  }

  /**
   * Records a request's duration, once: a request whose client left is counted when it left,
   * as `statusCode` 499, and not again if its handler answers later.
   */
  observe(ticket: Ticket<Req>, route: string, statusCode: number, seconds: number): void {
    const metrics = this.metrics;
    if (metrics === undefined || ticket.observed) return;
    ticket.observed = true;
    metrics.observe(ticket.method, route, statusCode, seconds);
  }

  /**
   * The Idempotency-Key step of an admitted request: `bypass` at once (no promise) when the gate
   * is off or does not handle the method, else what the gate decided.
   */
  idempotencyStep(ticket: Ticket<Req>): IdempotencyStep | Promise<IdempotencyStep> {
    const gate = this.idempotency;
    return gate === undefined ? BYPASS : gate.step(ticket);
  }

  /** The request context for inbound headers: correlation ID, trace, and deadline from the caller's budget. */
  context(headers: InboundHeaders): RequestContext {
    const budget = this.budget(headers);
    const view = this.headerView;
    view.headers = headers;
    try {
      return this.propagator!.extract(
        view,
        budget === undefined ? undefined : { deadline: this.clock.now() + budget },
      );
    } finally {
      view.headers = NO_HEADERS;
    }
  }

  /** The caller's remaining budget in ms, or undefined when none (or none valid) was sent. */
  budget(headers: InboundHeaders): number | undefined {
    const names = this.budgetHeaders;
    // Most requests carry no budget: look before paying for the parse.
    for (let i = 0; i < names.length; i++) {
      if (headers[names[i]!] !== undefined) return readBudget(headers, this.budgetOptions);
    }
    return undefined;
  }

  /** A refusal when the process is under pressure, else undefined. Counted in the metrics. */
  pressureRejection(): BulkheadRejectedError | undefined {
    const reason = this.pressure?.reason;
    if (reason === undefined) return undefined;
    this.metrics?.shed(reason);
    const limit = this.limiter ?? this.slots;
    return shedError(reason, limit?.limit ?? 0, limit?.queueLimit ?? 0, this.pressureRetryAfterMs);
  }

  /** Gives the limiter's rejection its HTTP fields and counts it. */
  limitRejection(error: BulkheadRejectedError): BulkheadRejectedError {
    this.metrics?.shed(error.reason === 'queue-timeout' ? 'queue-timeout' : 'limit');
    return withHttpFields(error, httpAnswerFor(error)!);
  }

  /** The answer of a health view or the metrics page. */
  async answer(route: OwnRoute): Promise<OwnAnswer> {
    if (route === 'metrics') {
      const registry = this.registry!;
      return {
        statusCode: 200,
        headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' },
        body: await registry.metrics(),
      };
    }
    const report: HealthReport = await this.healthRegistry!.report(route, {
      detailed: this.detailed,
    });
    return {
      statusCode: report.httpStatus,
      headers: report.headers,
      body: JSON.stringify(report.body),
    };
  }

  /** Takes a permit of the caller's rate limit, then a slot; a remote decision is waited for. */
  private limitCaller(ticket: Ticket<Req>, limit: InboundRateLimit<Req>): Admission {
    let decision: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decision = limit.take(ticket);
    } catch (error: unknown) {
      // An identity callback that throws, or a key no limiter takes: the application's error.
      return rejected(asError(error));
    }
    if (!(decision instanceof Promise)) return this.afterLimit(ticket, limit, decision);
    decision.then(
      (decided) => {
        if (ticket.closed) {
          ticket.resume(GONE);
          return;
        }
        const outcome = this.afterLimit(ticket, limit, decided);
        // A request that now queues for a slot is resumed by the queue.
        if (outcome.kind !== 'pending') ticket.resume(outcome);
      },
      (error: unknown) => ticket.resume(rejected(asError(error))),
    );
    return PENDING;
  }

  private afterLimit(
    ticket: Ticket<Req>,
    limit: InboundRateLimit<Req>,
    decision: RateLimitDecision,
  ): Admission {
    if (!decision.allowed) {
      this.metrics?.rateLimited(decision.storeFailed ? 'store-error' : 'limit');
      return answered(limit.refusal(decision));
    }
    limit.allowed(ticket, decision);
    return this.takeSlot(ticket);
  }

  /** A slot of the concurrency limit: a fixed slot at once, or the bulkhead's, maybe after a wait. */
  private takeSlot(ticket: Ticket<Req>): Admission {
    const slots = this.slots;
    if (slots !== undefined) {
      if (!slots.tryAcquire()) return rejected(this.limitRejection(slots.rejection()));
      ticket.held = true;
      return ADMITTED;
    }
    return this.limiter === undefined ? ADMITTED : this.queue(ticket, this.limiter);
  }

  /**
   * Runs the request inside a bulkhead call that lasts until `release()`. The bulkhead calls back
   * at once when a slot is free (ADMITTED), or later from its queue (PENDING, then `resume()`).
   */
  private queue(ticket: Ticket<Req>, limiter: Bulkhead): Admission {
    let waited = false;
    let admittedAtOnce = false;
    const run = () =>
      new Promise<void>((release) => {
        ticket.abort = undefined;
        // The response may have closed while the request waited: give the slot back at once.
        if (ticket.closed) {
          release();
          return;
        }
        ticket.release = release;
        if (waited) ticket.resume(ADMITTED);
        else admittedAtOnce = true;
      });
    let running: Promise<void>;
    if (limiter.queueLimit > 0) {
      const controller = new AbortController();
      ticket.abort = controller;
      running = limiter.execute(run, controller.signal);
    } else {
      // No signal argument at all: with one, the policy builds a spreadable context per call.
      running = limiter.execute(run);
    }
    waited = true;
    running.then(undefined, (error: unknown) => {
      // A client that left while queued needs no answer.
      if (ticket.closed) ticket.resume(GONE);
      else ticket.resume(rejected(this.limitError(error)));
    });
    return admittedAtOnce ? ADMITTED : PENDING;
  }

  private limitError(error: unknown): Error {
    return isBulkheadRejectedError(error) ? this.limitRejection(error) : asError(error);
  }

  /** The listener that names Bulwark's policy metrics, and validates the registry. */
  private measure(settings: MetricsSettings): Listener {
    return prometheusListener({ registry: settings.registry, prefix: settings.prefix });
  }

  private requestMetrics(settings: MetricsSettings): RequestMetrics {
    const metrics = new RequestMetrics(
      settings.registry,
      settings.prefix,
      [...settings.buckets],
      settings.maxSeries,
    );
    this.stops.push(() => metrics.unregister());
    return metrics;
  }

  private shed(
    settings: SheddingSettings,
    listener: Listener | undefined,
    probe: PressureProbe | undefined,
  ): Shedding {
    const pressure =
      settings.pressure === undefined
        ? undefined
        : new PressureMonitor(settings.pressure, settings.sampleIntervalMs, this.clock, probe);
    if (settings.limit === undefined) return { slots: undefined, limiter: undefined, pressure };
    if (settings.fixed) {
      const slots = new FixedSlots(
        settings.limit as number,
        settings.retryAfterMs ?? DEFAULT_LIMIT_RETRY_AFTER_MS,
        SHEDDING_BULKHEAD_NAME,
        listener,
      );
      this.observeLimit(slots, listener);
      return { slots, limiter: undefined, pressure };
    }
    const limiter = bulkhead({
      limit: settings.limit,
      queue: settings.queue,
      queueTimeoutMs: settings.queueTimeoutMs,
      retryAfterMs: settings.retryAfterMs,
      name: SHEDDING_BULKHEAD_NAME,
      listener,
      clock: this.clock,
    });
    this.observeLimit(limiter, listener);
    return { slots: undefined, limiter, pressure };
  }

  /** The limit's gauges (in flight, queued, limit) in Bulwark's policy metrics. */
  private observeLimit(limit: FixedSlots | Bulkhead, listener: Listener | undefined): void {
    if (listener !== undefined) {
      this.stops.push(listener.observeBulkhead(limit, { name: SHEDDING_BULKHEAD_NAME }));
    }
  }
}

/** What the frameworks' error handling takes: anything thrown, as an Error. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

const NO_HEADERS: InboundHeaders = Object.freeze({});

/**
 * Node's request headers as a `get()` source. Node names every header in lowercase, so a miss
 * is a miss: handed the record itself, the propagator would scan every header for other
 * casings of each one that is absent. One view is reused, as `extract()` is synchronous.
 */
class NodeHeaders {
  headers: InboundHeaders = NO_HEADERS;
  get(name: string): string | undefined {
    const value = this.headers[name];
    if (typeof value === 'string') return value;
    // Node joins repeated headers, set-cookie aside; an array only comes from other sources.
    return value === undefined ? undefined : value.join(', ');
  }
}
