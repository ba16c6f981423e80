import { type Readable, Transform, type TransformCallback, pipeline } from 'node:stream';
import { checkBoolean } from '@bulwark/core/internal';
import { type RequestContext, logFields, runWithContext } from '@bulwark/correlation';
import type { IdempotencyClaim } from '@bulwark/idempotency';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { type BulwarkOptions, httpAnswerFor } from '@bulwark/server';
import {
  type Admission,
  type Answer,
  BulwarkStack,
  CLIENT_CLOSED_REQUEST,
  type IdempotencyStep,
  MS_PER_SECOND,
  type Resumed,
  Ticket,
} from '@bulwark/server/internal';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's Bulwark context (correlation ID, trace, deadline); null when correlation is off. */
    bulwark: RequestContext | null;
  }
}

/** The options of {@link bulwarkPlugin}: Bulwark's shared options, plus one for Fastify. */
export interface FastifyBulwarkOptions extends BulwarkOptions<FastifyRequest> {
  /**
   * Install an error handler that answers the errors of Bulwark and `@bulwark/http-client` as
   * `application/problem+json` (502, 503 + Retry-After, 504, 499) and hands every other error on
   * to Fastify's. Turn it off when the application sets its own, and call `httpAnswerFor(error)`
   * from it. Default true.
   */
  errorHandler?: boolean;
}

// Options Fastify's `register()` itself reads; they are not Bulwark's.
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'];
const kTicket = Symbol('bulwark.ticket');

/** The request as Bulwark decorates it: its ticket, null for the stack's own routes. */
type Req = FastifyRequest & { [kTicket]: FastifyTicket | null };

function toArray<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

function methodsOf(route: RouteOptions): string[] {
  return (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
}

/** A request as the stack sees it: Fastify's request and reply, and the onRequest hook's `next`. */
class FastifyTicket extends Ticket<FastifyRequest> {
  /** The claimed Idempotency-Key, until its response is stored or the key is freed. */
  claim: IdempotencyClaim | null = null;
  /** When the request was admitted, on the stack's clock: its duration's start. */
  start = 0;

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly next: HookHandlerDoneFunction,
  ) {
    super();
  }

  get method(): string {
    return this.request.method;
  }
  get url(): string {
    return this.request.url;
  }
  get headers(): FastifyRequest['headers'] {
    return this.request.headers;
  }
  get originalUrl(): string {
    return this.request.url;
  }
  get rawHeaders(): readonly string[] | undefined {
    return (this.request.raw as Partial<FastifyRequest['raw']>).rawHeaders;
  }
  get body(): unknown {
    return this.request.body;
  }

  setHeader(name: string, value: string): void {
    void this.reply.header(name, value);
  }

  resume(outcome: Resumed): void {
    // A client that left while its request waited needs no answer.
    if (this.reply.raw.closed) return;
    carryOn(this, outcome);
  }
}

/**
 * Collects a streamed payload and stores it before the stream ends. Past the claim's
 * `maxBodyBytes` it stops buffering: the response is sent in full, and the key freed.
 */
class CaptureStream extends Transform {
  private chunks: Buffer[] | undefined = [];
  private size = 0;
  constructor(
    private readonly claim: IdempotencyClaim,
    private readonly reply: FastifyReply,
  ) {
    super();
  }
  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.chunks !== undefined) {
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk as Uint8Array);
      this.size += bytes.byteLength;
      if (this.size > this.claim.maxBodyBytes) this.chunks = undefined;
      else this.chunks.push(bytes);
    }
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const settled =
      this.chunks === undefined
        ? this.claim.release('too-large')
        : this.claim.complete({
            status: this.reply.statusCode,
            headers: this.reply.getHeaders(),
            body: Buffer.concat(this.chunks),
          });
    void settled.then(() => callback());
  }
}

function plugin(
  fastify: FastifyInstance,
  options: FastifyBulwarkOptions,
  done: (error?: Error) => void,
): void {
  let built: { stack: BulwarkStack<FastifyRequest>; errorHandler: boolean };
  try {
    built = build(options);
  } catch (error: unknown) {
    // Bad options fail `register()` (and `ready()`), as Fastify reports any plugin's failure.
    done(error as Error);
    return;
  }
  install(fastify, built.stack, built.errorHandler);
  done();
}

/** Installs the hooks, routes and error handler of a stack built elsewhere. */
export function install(
  fastify: FastifyInstance,
  stack: BulwarkStack<FastifyRequest>,
  errorHandler: boolean,
): void {
  fastify.decorateRequest('bulwark', null);
  fastify.decorateRequest(kTicket, null);
  const madeForLogs = bindLogsEarly(fastify, stack);
  addAdmissionHook(fastify, stack, madeForLogs);
  addIdempotencyHooks(fastify, stack);
  addOwnRoutes(fastify, stack);
  if (errorHandler) addErrorHandler(fastify);
  fastify.addHook('onClose', function bulwarkOnClose(_instance, next) {
    stack.close();
    next();
  });
  stack.start();
}

/**
 * Fastify logs "incoming request" with the child logger it makes before any hook runs: when
 * something is logged, the context is made there, so that line carries the correlation ID as
 * every later one does. Returns the contexts made, waiting for their request's onRequest hook.
 * Binding costs a child logger's fields per request: nothing is done when nothing is logged.
 */
function bindLogsEarly(
  fastify: FastifyInstance,
  stack: BulwarkStack<FastifyRequest>,
): WeakMap<object, RequestContext> | undefined {
  const level = (fastify.log as { level?: unknown }).level;
  if (stack.propagator === undefined || typeof level !== 'string' || level === 'silent') {
    return undefined;
  }
  const madeForLogs = new WeakMap<object, RequestContext>();
  const makeChild = fastify.childLoggerFactory;
  fastify.setChildLoggerFactory(function bulwarkChildLogger(logger, bindings, options, raw) {
    if (stack.ownRoute(raw.method ?? '', raw.url ?? '') !== undefined) {
      return makeChild.call(this, logger, bindings, options, raw);
    }
    const context = stack.context(raw.headers);
    madeForLogs.set(raw, context);
    const fields = { ...bindings, ...logFields({ context }) };
    return makeChild.call(this, logger, fields, options, raw);
  });
  // Fastify's default 404 handler took the factory there was when the app was made. Armed
  // again, as Fastify arms it, it takes this one. A 404 handler of the application's, set
  // before, stays as it is.
  if (fastify.prefix === '') {
    try {
      // Without arguments, as Fastify calls it: the types insist on a handler.
      (fastify.setNotFoundHandler as unknown as () => void).call(fastify);
    } catch {
      // The application set its own 404 handler first: its request lines are bound in onRequest.
    }
  }
  return madeForLogs;
}

/** Admission, in onRequest: everything the stack decides before the body is read. */
function addAdmissionHook(
  fastify: FastifyInstance,
  stack: BulwarkStack<FastifyRequest>,
  madeForLogs: WeakMap<object, RequestContext> | undefined,
): void {
  const watchClose = stack.metrics !== undefined || stack.holdsSlots;
  fastify.addHook('onRequest', function bulwarkOnRequest(req, reply, next) {
    const request = req as Req;
    const ticket = new FastifyTicket(request, reply, next);
    if (stack.metrics !== undefined) ticket.start = stack.clock.now();
    const premade = madeForLogs?.get(request.raw);
    ticket.context = premade;
    const outcome = stack.admit(ticket);
    if (outcome.kind === 'own-route') {
      next();
      return;
    }
    request[kTicket] = ticket;
    const context = ticket.context;
    if (context !== undefined) {
      request.bulwark = context;
      // A route whose logger was not made by Bulwark's factory (registered before the plugin,
      // or a 404 handler of the application's): its lines from here on carry the ID.
      if (madeForLogs !== undefined && premade === undefined) {
        reply.log = request.log = request.log.child(logFields({ context }));
      }
    }
    // One listener on the response, not Fastify's onResponse and onRequestAbort hooks: those
    // cost three listeners and two closures per request, and 'close' comes both when the
    // response has finished and when its client left first.
    if (watchClose) reply.raw.on('close', () => closed(stack, ticket));
    carryOn(ticket, outcome);
  });
}

/** Goes on with what admission decided, now or after a wait. */
function carryOn(ticket: FastifyTicket, outcome: Admission): void {
  switch (outcome.kind) {
    case 'admitted': {
      // The rest of the request runs inside its context.
      const context = ticket.context;
      if (context === undefined) ticket.next();
      else runWithContext(context, ticket.next);
      return;
    }
    case 'rejected':
      ticket.next(outcome.error as FastifyError);
      return;
    case 'answer':
      sendAnswer(ticket.reply, outcome.answer);
      return;
    case 'own-route':
    case 'pending':
    case 'gone':
      return;
  }
}

/**
 * The response closed: finished, or its client left first, which is counted as 499, the status
 * proxies log for a client that closed the request. Gives back the request's slot.
 */
function closed(stack: BulwarkStack<FastifyRequest>, ticket: FastifyTicket): void {
  stack.release(ticket);
  if (stack.metrics !== undefined) {
    const raw = ticket.reply.raw;
    const status = raw.writableFinished ? raw.statusCode : CLIENT_CLOSED_REQUEST;
    const route = ticket.request.routeOptions.url ?? '';
    stack.observe(ticket, route, status, (stack.clock.now() - ticket.start) / MS_PER_SECOND);
  }
}

/**
 * Idempotency-Key handling as route-level hooks, only on routes with a method it applies to: a
 * GET route pays for none of them. It runs in preHandler, once the body has been parsed.
 */
function addIdempotencyHooks(fastify: FastifyInstance, stack: BulwarkStack<FastifyRequest>): void {
  const gate = stack.idempotency;
  if (gate === undefined) return;
  const preHandler = (req: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction) => {
    const ticket = (req as Req)[kTicket];
    if (ticket === null) {
      next();
      return;
    }
    const step = stack.idempotencyStep(ticket);
    if (step instanceof Promise) {
      step.then(
        (decided) => keyed(ticket, decided, next),
        (error: unknown) => next(error as FastifyError),
      );
    } else {
      keyed(ticket, step, next);
    }
  };
  fastify.addHook('onRoute', (route) => {
    if (!methodsOf(route).some((m) => gate.handles(m))) return;
    route.preHandler = [preHandler, ...toArray(route.preHandler)];
    route.onSend = [idempotencyOnSend, ...toArray(route.onSend)];
  });
}

function keyed(ticket: FastifyTicket, step: IdempotencyStep, next: HookHandlerDoneFunction): void {
  switch (step.kind) {
    case 'bypass':
      next();
      return;
    case 'proceed':
      hold(ticket, step);
      next();
      return;
    case 'answer':
      sendAnswer(ticket.reply, step.answer);
      return;
  }
}

/**
 * Keeps the claim until its response is stored. Fastify's onRequestAbort never fires once a
 * POST's body has been read: the response is watched instead. A claim still held when it closes
 * got no answer through onSend (the client left, or the reply was hijacked), so the key is freed
 * for a retry.
 */
function hold(ticket: FastifyTicket, claim: IdempotencyClaim): void {
  ticket.claim = claim;
  ticket.reply.raw.once('close', () => {
    const held = ticket.claim;
    if (held === null) return;
    ticket.claim = null;
    void held.release('client-closed');
  });
}

function idempotencyOnSend(
  req: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  next: (error: FastifyError | null, payload?: unknown) => void,
): void {
  const ticket = (req as Req)[kTicket];
  const claim = ticket?.claim ?? null;
  if (ticket === null || claim === null) {
    next(null, payload);
    return;
  }
  ticket.claim = null;
  if (
    payload !== null &&
    typeof payload === 'object' &&
    typeof (payload as { pipe?: unknown }).pipe === 'function'
  ) {
    const capture = new CaptureStream(claim, reply);
    pipeline(payload as Readable, capture, (error) => {
      // A stream that broke off sent a partial answer: nothing to store, and the key is freed.
      if (error) void claim.release('failed');
    });
    next(null, capture);
    return;
  }
  const body = typeof payload === 'string' || payload instanceof Uint8Array ? payload : undefined;
  // Stored before the answer leaves, so a client retrying at once finds it complete.
  void claim
    .complete({ status: reply.statusCode, headers: reply.getHeaders(), body })
    .then(() => next(null, payload));
}

/** The health views and the metrics page, as GET routes (Fastify answers HEAD for them). */
function addOwnRoutes(fastify: FastifyInstance, stack: BulwarkStack<FastifyRequest>): void {
  for (const [path, route] of stack.ownRoutes) {
    fastify.route({
      method: 'GET',
      url: path,
      handler: async (_request, reply) => {
        sendAnswer(reply, await stack.answer(route));
        return reply;
      },
    });
  }
}

/**
 * Writes one of the stack's answers as it is. A string goes as bytes, so Fastify adds no charset
 * to its content type: the same bytes as Express.
 */
function sendAnswer(reply: FastifyReply, answer: Answer): void {
  const body = answer.body;
  void reply
    .code(answer.statusCode)
    .headers(answer.headers as Record<string, string | string[]>)
    .send(typeof body === 'string' ? Buffer.from(body) : body);
}

function addErrorHandler(fastify: FastifyInstance): void {
  fastify.setErrorHandler(function bulwarkErrorHandler(error, _request, reply) {
    const answer = httpAnswerFor(error);
    // Thrown on, an error reaches the error handler Fastify had before this one.
    if (answer === undefined) throw error;
    sendAnswer(reply, { ...answer, body: JSON.stringify(answer.body) });
  });
}

function build(options: FastifyBulwarkOptions): {
  stack: BulwarkStack<FastifyRequest>;
  errorHandler: boolean;
} {
  const own: Record<string, unknown> = { ...options };
  for (const name of REGISTER_OPTIONS) delete own[name];
  const { errorHandler = true, ...shared } = own as FastifyBulwarkOptions;
  checkBoolean('errorHandler', errorHandler);
  return { stack: new BulwarkStack<FastifyRequest>(shared), errorHandler };
}

/**
 * A Fastify 5 plugin: a correlation context per request (ID echoed, deadline from the caller's
 * budget), health routes, a `/metrics` route, load shedding and Idempotency-Key handling.
 * Register it before the routes it protects.
 *
 * @example
 * const app = Fastify();
 * await app.register(bulwarkPlugin, {
 *   shedding: { limit: 200 },
 *   idempotency: { identity: ({ request }) => request.user?.id },
 * });
 * app.post('/orders', createOrder);
 */
export const bulwarkPlugin: FastifyPluginCallback<FastifyBulwarkOptions> = fp(plugin, {
  fastify: '5.x',
  name: '@bulwark/fastify',
});
