import { describeAdapterContract, type ContractRoute } from '@bulwark/adapter-contract';
import { BulwarkStack } from '@bulwark/server/internal';
import { listen, watchRequests } from '@bulwark/testing';
import express, { type Express, type Request, type Response } from 'express';
import { bulwarkErrorHandler } from './error-handler.js';
import { type BulwarkMiddleware, bulwark, middlewareFor } from './middleware.js';

/** Serves a contract route as an Express route, under a router when it has a prefix. */
function mount(app: Express, route: ContractRoute): void {
  const handler = async (req: Request, res: Response): Promise<void> => {
    const reply = await route.handler({
      method: req.method,
      params: req.params as Record<string, string>,
      query: req.query as Record<string, string>,
      headers: req.headers,
      body: req.body as unknown,
      bulwark: req.bulwark,
    });
    res.status(reply.status ?? 200);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.end();
    else if (typeof reply.body === 'string') res.send(reply.body);
    else res.json(reply.body);
  };
  const method = route.method === 'GET' ? 'get' : 'post';
  if (route.prefix === undefined) {
    app[method](route.path, handler);
    return;
  }
  const router = express.Router();
  router[method](route.path, handler);
  app.use(route.prefix, router);
}

describeAdapterContract({
  name: 'Express',
  async start(options, settings = {}) {
    const shared = options as Parameters<typeof bulwark>[0];
    const middleware: BulwarkMiddleware =
      settings.probe === undefined
        ? bulwark(shared)
        : middlewareFor(new BulwarkStack<Request>(shared, settings.probe));
    const app = express();
    // Idempotency fingerprints the parsed body: the parser goes first.
    app.use(express.json());
    app.use(middleware);
    for (const route of settings.routes ?? []) mount(app, route);
    if (settings.errorHandler !== false) app.use(bulwarkErrorHandler());
    const listening = await listen(app, { maxHeaderSize: settings.maxHeaderSize });
    // Added after Express's own listener, and so after Bulwark's close listener of each response.
    const watch = watchRequests(listening.server);
    return {
      url: listening.url,
      server: listening.server,
      ended: watch.closed,
      shutdown: undefined,
      close: async () => {
        await listening.close();
        middleware.close();
      },
    };
  },
});
