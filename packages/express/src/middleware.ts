import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBulkheadRejectedError } from '@bulwark/core';
import { type RequestContext, runWithContext } from '@bulwark/correlation';
import type { HealthRegistry } from '@bulwark/health';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { PROBLEM_HEADERS, UNPARSED_BODY, captureResponse, send } from './capture-response.js';
import type { BulwarkOptions } from '@bulwark/server';
import {
  BulwarkStack,
  CLIENT_CLOSED_REQUEST,
  type OwnRoute,
  expiredBudgetError,
} from '@bulwark/server/internal';

declare global {
  // Express types its request through this global namespace: augmenting it is the documented way.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's Bulwark context (correlation ID, trace, deadline); set when correlation is on. */
      bulwark?: RequestContext;
    }
  }
}

/** What `bulwark()` returns: Express middleware, plus a way to stop what it started. */
export interface BulwarkMiddleware extends RequestHandler {
  /** Stops the pressure sampler and takes Bulwark's metrics out of the registry. */
  close(): void;
  /** The registry behind the health routes (undefined when `health` is false). */
  readonly health: HealthRegistry | undefined;
}

const MS_PER_SECOND = 1000;

/**
 * What one request holds until its response closes. Bulwark adds no property to Express's
 * `req` and `res`: their shapes vary from request to request, so a property added in
 * middleware makes a megamorphic store that costs microseconds. One object and one closure do.
 */
class Exchange {
  start = 0;
  /** Holds one of the fixed limit's slots. */
  held = false;
  /** Ends the bulkhead call that holds the slot. */
  release: (() => void) | undefined = undefined;
  /** Takes a queued request out of the bulkhead's queue. */
  abort: AbortController | undefined = undefined;

  constructor(
    private readonly adapter: ExpressAdapter,
    readonly req: Request,
    readonly res: Response,
  ) {}

  readonly onClose = (): void => this.adapter.closed(this);
}

/**
 * `req.bulwark`, as a getter on the request's prototype (each Express app has its own) that
 * reads the context from `res.locals` under a symbol. Express makes `res.locals` per request as
 * a null-prototype object, a dictionary, so the store is a hash insert. A property added to
 * `req` itself is a megamorphic store (about 2 µs on Node 20), and a WeakMap entry per request
 * costs the garbage collector: on Node 24 this saved 0.9 µs a request over the WeakMap.
 * A symbol key stays out of `Object.keys`, `for...in` and JSON; an app that replaces
 * `res.locals` wholesale after Bulwark ran loses `req.bulwark`, not `currentContext()`.
 */
const kContext = Symbol('bulwark.context');
const withGetter = new WeakSet<object>();

type ContextSlot = Record<symbol, RequestContext | undefined>;

function exposeContext(req: Request, res: Response, context: RequestContext): void {
  const locals = res.locals as ContextSlot | undefined;
  // A bare Node handler has no res.locals (and a request prototype that is Node's own): the
  // context is still in currentContext(), only req.bulwark is left out.
  if (locals === undefined) return;
  locals[kContext] = context;
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null || withGetter.has(proto)) return;
  withGetter.add(proto);
  Object.defineProperty(proto, 'bulwark', {
    configurable: true,
    enumerable: false,
    get(this: Request): RequestContext | undefined {
      return (this.res?.locals as ContextSlot | undefined)?.[kContext];
    },
    set(this: Request, value: RequestContext | undefined): void {
      const locals = this.res?.locals as ContextSlot | undefined;
      if (locals !== undefined) locals[kContext] = value;
    },
  });
}

/** The path of a request URL, without its query. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Whether a request carries a body that something will read from the socket later. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Runs every event the request stream emits inside the request's context. A body parser mounted
 * after Bulwark reads the body from socket events, which carry the context of the connection,
 * not of the request: without this, everything after the parser would run outside it.
 */
function bindBodyEvents(req: IncomingMessage, context: RequestContext): void {
  // Called with the request as `this`, as the stream itself would.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = req.emit;
  req.emit = function (this: IncomingMessage, ...args: Parameters<IncomingMessage['emit']>) {
    return runWithContext(context, () => emit.apply(this, args));
  } as IncomingMessage['emit'];
}

/**
 * `req.route`, as an accessor on the request's prototype that also keeps `req.baseUrl` as it was
 * when the router matched the route, both in `res.locals` under symbols. The router puts
 * `baseUrl` back as an error leaves a mounted router, and sets it to undefined as the error
 * leaves the app: read at the end of a failed request, `baseUrl + route.path` lost the mount
 * path, or read "undefined". A mounted sub-app's request prototype inherits from its parent's,
 * so its routes go through the accessor too.
 */
const kRoute = Symbol('bulwark.route');
const kRouteBase = Symbol('bulwark.routeBase');
const withRouteAccessor = new WeakSet<object>();

interface MatchedRoute {
  path?: string | string[];
}
type RouteSlot = Record<symbol, MatchedRoute | string | undefined>;

function watchRoutes(req: Request): void {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null || withRouteAccessor.has(proto)) return;
  withRouteAccessor.add(proto);
  Object.defineProperty(proto, 'route', {
    configurable: true,
    enumerable: false,
    get(this: Request): unknown {
      return (this.res?.locals as RouteSlot | undefined)?.[kRoute];
    },
    set(this: Request, value: MatchedRoute | undefined): void {
      const locals = this.res?.locals as RouteSlot | undefined;
      if (locals === undefined) {
        Object.defineProperty(this, 'route', {
          value,
          writable: true,
          configurable: true,
          enumerable: true,
        });
        return;
      }
      locals[kRoute] = value;
      locals[kRouteBase] = this.baseUrl;
    },
  });
}

/** The matched route template, as the metrics label: '' when no route matched. */
function routeOf(req: Request, res: Response): string {
  const route = (req as { route?: MatchedRoute }).route;
  if (route === undefined || route.path === undefined) return '';
  const path = typeof route.path === 'string' ? route.path : route.path.join(',');
  const locals = res.locals as RouteSlot | undefined;
  const base = (
    locals !== undefined && locals[kRoute] === route ? locals[kRouteBase] : req.baseUrl
  ) as string | undefined;
  return base === undefined || base === '' ? path : base + path;
}

class ExpressAdapter {
  readonly handle: RequestHandler;
  /** Whether anything waits for the end of a response: metrics or a concurrency limit. */
  private readonly watchClose: boolean;

  constructor(readonly stack: BulwarkStack<Request>) {
    this.handle = (req, res, next) => this.request(req, res, next);
    this.watchClose =
      stack.metrics !== undefined || stack.slots !== undefined || stack.limiter !== undefined;
  }

  /** The response closed: finished, or its client went away. */
  closed(exchange: Exchange): void {
    const { metrics, clock, slots } = this.stack;
    if (exchange.held) {
      exchange.held = false;
      slots!.release();
    }
    const release = exchange.release;
    if (release !== undefined) {
      exchange.release = undefined;
      release();
    }
    // A request still queued when its client left gives up its place at once.
    exchange.abort?.abort();
    if (metrics !== undefined) {
      const { req, res } = exchange;
      metrics.observe(
        req.method,
        routeOf(req, res),
        res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST,
        (clock.now() - exchange.start) / MS_PER_SECOND,
      );
    }
  }

  private request(req: Request, res: Response, next: NextFunction): void {
    const stack = this.stack;
    const method = req.method;
    if (stack.ownRoutes.size !== 0 && (method === 'GET' || method === 'HEAD')) {
      const own = stack.ownRoutes.get(pathOf(req.url));
      if (own !== undefined) {
        this.serveOwn(own, res, next);
        return;
      }
    }
    let exchange: Exchange | undefined;
    if (this.watchClose) {
      exchange = new Exchange(this, req, res);
      if (stack.metrics !== undefined) {
        exchange.start = stack.clock.now();
        watchRoutes(req);
      }
      res.on('close', exchange.onClose);
    }

    let context: RequestContext | undefined;
    if (stack.propagator !== undefined) {
      context = stack.context(req.headers);
      exposeContext(req, res, context);
      if (stack.responseHeader !== undefined)
        res.setHeader(stack.responseHeader, context.correlationId);
      if (context.deadline !== Infinity && context.deadline <= stack.clock.now()) {
        next(expiredBudgetError());
        return;
      }
    }

    const rejection = stack.pressureRejection();
    if (rejection !== undefined) {
      next(rejection);
      return;
    }
    const slots = stack.slots;
    if (slots !== undefined) {
      if (!slots.tryAcquire()) {
        next(stack.limitRejection(slots.rejection()));
        return;
      }
      exchange!.held = true;
    }
    if (stack.limiter === undefined) this.admitted(req, res, context, next);
    else this.queue(req, res, exchange!, context, next);
  }

  /** Waits for a slot of a bulkhead (a queue or an adaptive limit), or is refused. */
  private queue(
    req: Request,
    res: Response,
    exchange: Exchange,
    context: RequestContext | undefined,
    next: NextFunction,
  ): void {
    const stack = this.stack;
    const limiter = stack.limiter!;
    const run = () =>
      new Promise<void>((resolve) => {
        exchange.abort = undefined;
        // The response may have closed while the request waited for its slot.
        if (res.closed) {
          resolve();
          return;
        }
        exchange.release = resolve;
        this.admitted(req, res, context, next);
      });
    let running: Promise<void>;
    if (limiter.queueLimit > 0) {
      const controller = new AbortController();
      exchange.abort = controller;
      running = limiter.execute(run, controller.signal);
    } else {
      // No signal argument at all: with one, the policy builds a spreadable context per call.
      running = limiter.execute(run);
    }
    running.then(undefined, (error: unknown) => {
      // A client that left while queued needs no answer.
      if (res.closed) return;
      next(isBulkheadRejectedError(error) ? stack.limitRejection(error) : error);
    });
  }

  /** The request has its slot: Idempotency-Key handling, then the routes. */
  private admitted(
    req: Request,
    res: Response,
    context: RequestContext | undefined,
    next: NextFunction,
  ): void {
    const gate = this.stack.idempotency;
    if (gate === undefined || !gate.handles(req.method)) {
      this.proceed(req, context, next);
      return;
    }
    // The body is part of the fingerprint: it must have been parsed before this middleware ran.
    if (req.body === undefined && hasBody(req) && !req.complete) {
      send(res, UNPARSED_BODY.status, PROBLEM_HEADERS, JSON.stringify(UNPARSED_BODY));
      return;
    }
    gate
      .begin({
        method: req.method,
        path: req.originalUrl,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: req.body,
        request: req,
      })
      .then(
        (decision) => {
          switch (decision.kind) {
            case 'bypass':
              this.proceed(req, context, next);
              return;
            case 'proceed':
              captureResponse(res, decision);
              this.proceed(req, context, next);
              return;
            case 'replay':
              send(
                res,
                decision.response.status,
                decision.response.headers,
                decision.response.body,
              );
              return;
            case 'reject':
              send(res, decision.status, decision.headers, decision.body);
              return;
          }
        },
        (error: unknown) => next(error),
      );
  }

  private proceed(req: Request, context: RequestContext | undefined, next: NextFunction): void {
    if (context === undefined) {
      next();
      return;
    }
    if (hasBody(req) && !req.complete) bindBodyEvents(req, context);
    runWithContext(context, next);
  }

  private serveOwn(route: OwnRoute, res: ServerResponse, next: NextFunction): void {
    this.stack.answer(route).then(
      (answer) => {
        res.statusCode = answer.statusCode;
        for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
        res.end(res.req.method === 'HEAD' ? undefined : answer.body);
      },
      (error: unknown) => next(error),
    );
  }
}

/**
 * Express 5 middleware: a correlation context per request (ID echoed, deadline from the caller's
 * budget), health routes, a `/metrics` route, load shedding and Idempotency-Key handling. Mount
 * it before the routes it protects, and `bulwarkErrorHandler()` after them.
 *
 * @example
 * const app = express();
 * app.use(express.json());
 * app.use(
 *   bulwark({
 *     shedding: { limit: 200 },
 *     idempotency: { identity: ({ request }) => request.user?.id },
 *   }),
 * );
 * app.post('/orders', createOrder);
 * app.use(bulwarkErrorHandler());
 */
export function bulwark(options: BulwarkOptions<Request> = {}): BulwarkMiddleware {
  return middlewareFor(new BulwarkStack<Request>(options));
}

/** @internal The middleware for a stack built elsewhere (tests give it a fake pressure probe). */
export function middlewareFor(stack: BulwarkStack<Request>): BulwarkMiddleware {
  stack.start();
  const adapter = new ExpressAdapter(stack);
  return Object.assign(adapter.handle, {
    close: () => stack.close(),
    health: stack.healthRegistry,
  });
}
