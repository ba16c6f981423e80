import { type Readable, Transform, type TransformCallback, pipeline } from 'node:stream';
import { isBulkheadRejectedError } from '@bulwark/core';
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
  BulwarkStack,
  CLIENT_CLOSED_REQUEST,
  type FixedSlots,
  expiredBudgetError,
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

const MS_PER_SECOND = 1000;
// Options Fastify's `register()` itself reads; they are not Bulwark's.
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'];
const kHeld = Symbol('bulwark.held');
const kRelease = Symbol('bulwark.release');
const kAbort = Symbol('bulwark.abort');
const kClaim = Symbol('bulwark.claim');
const kObserved = Symbol('bulwark.observed');
const kReply = Symbol('bulwark.reply');

// Each is declared as a request decorator only when its part is on; absent, it reads undefined.
interface RequestState {
  [kHeld]: boolean | undefined;
  [kRelease]: (() => void) | null | undefined;
  [kAbort]: AbortController | null;
  [kClaim]: IdempotencyClaim | null;
  [kObserved]: boolean;
  [kReply]: FastifyReply | null;
}
type Req = FastifyRequest & RequestState;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function toArray<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

function methodsOf(route: RouteOptions): string[] {
  return (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
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

/** @internal Installs the hooks, routes and error handler of a stack built elsewhere. */
export function install(
  fastify: FastifyInstance,
  stack: BulwarkStack<FastifyRequest>,
  errorHandler: boolean,
): void {
  const {
    propagator,
    responseHeader,
    slots,
    limiter,
    metrics,
    idempotency: gate,
    clock,
    ownRoutes,
  } = stack;
  // Binding the logger costs a child logger's fields per request: only when something is logged.
  const level = (fastify.log as { level?: unknown }).level;
  const bindLogs = propagator !== undefined && typeof level === 'string' && level !== 'silent';
  /** Contexts made for the request logger, waiting for their request's onRequest hook. */
  const madeForLogs = bindLogs ? new WeakMap<object, RequestContext>() : undefined;

  fastify.decorateRequest('bulwark', null);
  if (slots !== undefined) fastify.decorateRequest(kHeld, false);
  if (limiter !== undefined) {
    fastify.decorateRequest(kRelease, null);
    if (limiter.queueLimit > 0) fastify.decorateRequest(kAbort, null);
  }
  if (gate !== undefined) fastify.decorateRequest(kClaim, null);
  if (metrics !== undefined) {
    fastify.decorateRequest(kObserved, false);
    fastify.decorateRequest(kReply, null);
  }

  if (madeForLogs !== undefined) {
    // Fastify logs "incoming request" with the child logger it makes before any hook runs: the
    // context is made here, so that line carries the correlation ID as every later one does.
    const makeChild = fastify.childLoggerFactory;
    fastify.setChildLoggerFactory(function bulwarkChildLogger(logger, bindings, options, raw) {
      if (ownRoutes.size !== 0 && ownRoutes.has(pathOf(raw.url ?? ''))) {
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
  }

  /** Runs the rest of the request inside its context. */
  const proceed = (request: FastifyRequest, next: HookHandlerDoneFunction): void => {
    const context = request.bulwark;
    if (context === null) next();
    else runWithContext(context, next);
  };

  fastify.addHook('onRequest', function bulwarkOnRequest(req, reply, next) {
    const request = req as Req;
    if (ownRoutes.size !== 0 && ownRoutes.has(pathOf(request.url))) {
      next();
      return;
    }
    // onRequestAbort gets no reply: keep it, for the time Fastify measures (as onResponse reads).
    if (metrics !== undefined) request[kReply] = reply;
    if (propagator !== undefined) {
      let context = madeForLogs?.get(request.raw);
      if (context === undefined) {
        context = stack.context(request.headers);
        // A route whose logger was not made by Bulwark's factory (registered before the plugin,
        // or a 404 handler of the application's): its lines from here on carry the ID.
        if (bindLogs) reply.log = request.log = request.log.child(logFields({ context }));
      }
      request.bulwark = context;
      if (responseHeader !== undefined) reply.header(responseHeader, context.correlationId);
      if (context.deadline !== Infinity && context.deadline <= clock.now()) {
        next(expiredBudgetError());
        return;
      }
    }
    const rejection = stack.pressureRejection();
    if (rejection !== undefined) {
      next(rejection);
      return;
    }
    if (slots !== undefined) {
      if (!slots.tryAcquire()) {
        next(stack.limitRejection(slots.rejection()));
        return;
      }
      request[kHeld] = true;
    }
    if (limiter === undefined) {
      proceed(request, next);
      return;
    }
    const run = () =>
      new Promise<void>((resolve) => {
        request[kRelease] = resolve;
        proceed(request, next);
      });
    let running: Promise<void>;
    if (limiter.queueLimit > 0) {
      const controller = new AbortController();
      request[kAbort] = controller;
      running = limiter.execute(run, controller.signal);
    } else {
      // No signal argument at all: with one, the policy builds a spreadable context per call.
      running = limiter.execute(run);
    }
    running.then(undefined, (error: unknown) => {
      // A client that left while queued needs no answer.
      if (reply.raw.closed) return;
      next((isBulkheadRejectedError(error) ? stack.limitRejection(error) : error) as FastifyError);
    });
  });

  // An onResponse hook costs Fastify two listeners and a closure per request: only when needed.
  if (metrics !== undefined || slots !== undefined || limiter !== undefined) {
    fastify.addHook('onResponse', function bulwarkOnResponse(req, reply, next) {
      const request = req as Req;
      release(request, slots);
      if (metrics !== undefined) observe(request, reply.statusCode, reply.elapsedTime);
      next();
    });
  }

  /** Records one request's duration, once: a request its client left is counted when it left. */
  function observe(request: Req, status: number, elapsedMs: number): void {
    if (request[kObserved]) return;
    request[kObserved] = true;
    const route = request.routeOptions.url ?? '';
    // Probes and scrapes are not the service's traffic: Express leaves them out as well.
    if (!ownRoutes.has(route)) {
      metrics!.observe(request.method, route, status, elapsedMs / MS_PER_SECOND);
    }
  }

  if (metrics !== undefined || slots !== undefined || limiter !== undefined) {
    // onResponse never comes for a client that left before the answer: free its slot now, and
    // count it as 499, the status proxies log for a client that closed the request.
    fastify.addHook('onRequestAbort', function bulwarkOnRequestAbort(req, next) {
      const request = req as Req;
      request[kAbort]?.abort();
      release(request, slots);
      if (metrics !== undefined) {
        observe(request, CLIENT_CLOSED_REQUEST, request[kReply]?.elapsedTime ?? 0);
      }
      next();
    });
  }

  fastify.addHook('onClose', function bulwarkOnClose(_instance, next) {
    stack.close();
    next();
  });

  if (gate !== undefined) {
    // Route-level hooks, only on routes with a method Idempotency-Key applies to: a GET route
    // pays for none of them.
    fastify.addHook('onRoute', (route) => {
      if (!methodsOf(route).some((m) => gate.handles(m))) return;
      route.preHandler = [idempotencyPreHandler, ...toArray(route.preHandler)];
      route.onSend = [idempotencyOnSend, ...toArray(route.onSend)];
    });
  }

  function idempotencyPreHandler(
    req: FastifyRequest,
    reply: FastifyReply,
    next: HookHandlerDoneFunction,
  ): void {
    const request = req as Req;
    if (!gate!.handles(request.method)) {
      next();
      return;
    }
    gate!
      .begin({
        method: request.method,
        path: request.url,
        headers: request.headers,
        rawHeaders: (request.raw as Partial<typeof request.raw>).rawHeaders,
        body: request.body,
        request,
      })
      .then(
        (decision) => {
          switch (decision.kind) {
            case 'bypass':
              next();
              return;
            case 'proceed':
              request[kClaim] = decision;
              // Fastify's onRequestAbort never fires once a POST's body has been read: watch the
              // response instead. A claim still held when it closes got no answer through onSend
              // (the client left, or the reply was hijacked), so the key is freed for a retry.
              reply.raw.once('close', () => {
                const claim = request[kClaim];
                if (claim === null) return;
                request[kClaim] = null;
                void claim.release('client-closed');
              });
              next();
              return;
            case 'replay':
              void reply
                .code(decision.response.status)
                .headers(decision.response.headers)
                .send(decision.response.body);
              return;
            case 'reject':
              // A Buffer, so Fastify leaves the problem+json content type as it is.
              void reply
                .code(decision.status)
                .headers(decision.headers)
                .send(Buffer.from(decision.body));
              return;
          }
        },
        (error: unknown) => next(error as FastifyError),
      );
  }

  function idempotencyOnSend(
    req: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    next: (error: FastifyError | null, payload?: unknown) => void,
  ): void {
    const request = req as Req;
    const claim = request[kClaim];
    if (claim === null) {
      next(null, payload);
      return;
    }
    request[kClaim] = null;
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

  for (const [path, route] of ownRoutes) {
    fastify.route({
      method: 'GET',
      url: path,
      handler: async (_request, reply) => {
        const answer = await stack.answer(route);
        void reply.code(answer.statusCode).headers(answer.headers);
        // A Buffer, so Fastify adds no charset to application/health+json: the same bytes as Express.
        return Buffer.from(answer.body);
      },
    });
  }

  if (errorHandler) {
    fastify.setErrorHandler(function bulwarkErrorHandler(error, _request, reply) {
      const answer = httpAnswerFor(error);
      // Thrown on, an error reaches the error handler Fastify had before this one.
      if (answer === undefined) throw error;
      // A Buffer, so Fastify adds no charset: the same bytes as Express and the idempotency answers.
      void reply
        .code(answer.statusCode)
        .headers(answer.headers)
        .send(Buffer.from(JSON.stringify(answer.body)));
    });
  }

  stack.start();
}

function build(options: FastifyBulwarkOptions): {
  stack: BulwarkStack<FastifyRequest>;
  errorHandler: boolean;
} {
  const own: Record<string, unknown> = { ...options };
  for (const name of REGISTER_OPTIONS) delete own[name];
  const { errorHandler = true, ...shared } = own as FastifyBulwarkOptions;
  if (typeof errorHandler !== 'boolean') {
    throw new TypeError(`expected errorHandler to be a boolean, got ${typeof errorHandler}`);
  }
  return { stack: new BulwarkStack<FastifyRequest>(shared), errorHandler };
}

/** Gives back the request's slot, whichever kind it holds, once. */
function release(request: Req, slots: FixedSlots | undefined): void {
  if (request[kHeld] === true) {
    request[kHeld] = false;
    slots!.release();
  }
  const release = request[kRelease];
  if (release !== undefined && release !== null) {
    request[kRelease] = null;
    release();
  }
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
