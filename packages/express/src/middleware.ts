import type { IncomingMessage, ServerResponse } from 'node:http';
import { type RequestContext, runWithContext } from '@bulwark/correlation';
import type { HealthRegistry } from '@bulwark/health';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { captureResponse, sendAnswer } from './capture-response.js';
import type { BulwarkOptions } from '@bulwark/server';
import {
  type Admission,
  BulwarkStack,
  CLIENT_CLOSED_REQUEST,
  type IdempotencyStep,
  MS_PER_SECOND,
  type OwnRoute,
  type Resumed,
  Ticket,
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

/**
 * `req.bulwark`, as a getter on the request's prototype (each Express app has its own) that reads
 * the context from the request's ticket, kept in `res.locals` under a symbol. Express makes
 * `res.locals` per request as a null-prototype object, a dictionary, so the store is a hash
 * insert; a property added to `req` itself is a megamorphic store, and a WeakMap entry per
 * request costs the garbage collector (measured in benchmarks/RESULTS.md, server stack). A
 * symbol key stays out of `Object.keys`, `for...in` and JSON; an app that replaces `res.locals`
 * wholesale after Bulwark ran loses `req.bulwark`, not `currentContext()`.
 */
const kTicket = Symbol('bulwark.ticket');
const withGetter = new WeakSet<object>();

type TicketSlot = Record<symbol, ExpressTicket | undefined>;

function exposeContext(ticket: ExpressTicket): void {
  const { req, res } = ticket;
  const locals = res.locals as TicketSlot | undefined;
  // A bare Node handler has no res.locals (and a request prototype that is Node's own): the
  // context is still in currentContext(), only req.bulwark is left out.
  if (locals === undefined) return;
  locals[kTicket] = ticket;
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null || withGetter.has(proto)) return;
  withGetter.add(proto);
  Object.defineProperty(proto, 'bulwark', {
    configurable: true,
    enumerable: false,
    get(this: Request): RequestContext | undefined {
      return (this.res?.locals as TicketSlot | undefined)?.[kTicket]?.context;
    },
    set(this: Request, value: RequestContext | undefined): void {
      const ticket = (this.res?.locals as TicketSlot | undefined)?.[kTicket];
      if (ticket !== undefined) ticket.context = value;
    },
  });
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

/** A request as the stack sees it: Express's `req` and `res`, and the `next` to go on with. */
class ExpressTicket extends Ticket<Request> {
  /** When the request arrived, on the stack's clock: only read with metrics on. */
  start = 0;

  constructor(
    private readonly adapter: ExpressAdapter,
    readonly req: Request,
    readonly res: Response,
    readonly next: NextFunction,
  ) {
    super();
  }

  get request(): Request {
    return this.req;
  }
  get method(): string {
    return this.req.method;
  }
  get url(): string {
    return this.req.url;
  }
  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }
  get originalUrl(): string {
    // A bare Node request, outside Express, has only its url.
    return this.req.originalUrl ?? this.req.url;
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  get body(): unknown {
    return this.req.body as unknown;
  }
  override get bodyUnread(): boolean {
    const req = this.req;
    return req.body === undefined && hasBody(req) && !req.complete;
  }

  setHeader(name: string, value: string): void {
    this.res.setHeader(name, value);
  }

  resume(outcome: Resumed): void {
    // A client that left while its request waited needs no answer.
    if (this.res.closed) return;
    this.adapter.carryOn(this, outcome);
  }
}

class ExpressAdapter {
  readonly handle: RequestHandler;
  /** Whether anything waits for the end of a response: metrics or a concurrency limit. */
  private readonly watchClose: boolean;

  constructor(readonly stack: BulwarkStack<Request>) {
    this.handle = (req, res, next) => this.request(req, res, next);
    this.watchClose = stack.metrics !== undefined || stack.holdsSlots;
  }

  /** The response closed: finished, or its client went away. */
  closed(ticket: ExpressTicket): void {
    const stack = this.stack;
    stack.release(ticket);
    if (stack.metrics !== undefined) {
      const { req, res } = ticket;
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
      const seconds = (stack.clock.now() - ticket.start) / MS_PER_SECOND;
      stack.observe(ticket, routeOf(req, res), status, seconds);
    }
  }

  /** Goes on with what admission decided, now or after a wait. */
  carryOn(ticket: ExpressTicket, outcome: Admission): void {
    switch (outcome.kind) {
      case 'admitted':
        this.admitted(ticket);
        return;
      case 'own-route':
        this.serveOwn(outcome.route, ticket);
        return;
      case 'rejected':
        ticket.next(outcome.error);
        return;
      case 'answer':
        sendAnswer(ticket.res, outcome.answer);
        return;
      case 'pending':
      case 'gone':
        return;
    }
  }

  private request(req: Request, res: Response, next: NextFunction): void {
    const stack = this.stack;
    const ticket = new ExpressTicket(this, req, res, next);
    if (stack.metrics !== undefined) ticket.start = stack.clock.now();
    const outcome = stack.admit(ticket);
    if (outcome.kind !== 'own-route') {
      if (stack.propagator !== undefined) exposeContext(ticket);
      if (this.watchClose) {
        if (stack.metrics !== undefined) watchRoutes(req);
        res.on('close', () => this.closed(ticket));
      }
    }
    this.carryOn(ticket, outcome);
  }

  /** The request has its slot: Idempotency-Key handling, then the routes. */
  private admitted(ticket: ExpressTicket): void {
    const step = this.stack.idempotencyStep(ticket);
    if (step instanceof Promise) {
      step.then(
        (decided) => this.keyed(ticket, decided),
        (error: unknown) => ticket.next(error),
      );
    } else {
      this.keyed(ticket, step);
    }
  }

  private keyed(ticket: ExpressTicket, step: IdempotencyStep): void {
    switch (step.kind) {
      case 'bypass':
        this.proceed(ticket);
        return;
      case 'proceed':
        captureResponse(ticket.res, step);
        this.proceed(ticket);
        return;
      case 'answer':
        sendAnswer(ticket.res, step.answer);
        return;
    }
  }

  /** Runs the rest of the request, body events included, inside its context. */
  private proceed(ticket: ExpressTicket): void {
    const { context, req, next } = ticket;
    if (context === undefined) {
      next();
      return;
    }
    if (hasBody(req) && !req.complete) bindBodyEvents(req, context);
    runWithContext(context, next);
  }

  private serveOwn(route: OwnRoute, ticket: ExpressTicket): void {
    const res: ServerResponse = ticket.res;
    this.stack.answer(route).then(
      (answer) => {
        res.statusCode = answer.statusCode;
        for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
        res.end(res.req.method === 'HEAD' ? undefined : answer.body);
      },
      (error: unknown) => ticket.next(error),
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

/** The middleware for a stack built elsewhere (tests give it a fake pressure probe). */
export function middlewareFor(stack: BulwarkStack<Request>): BulwarkMiddleware {
  stack.start();
  const adapter = new ExpressAdapter(stack);
  return Object.assign(adapter.handle, {
    close: () => stack.close(),
    health: stack.healthRegistry,
  });
}
