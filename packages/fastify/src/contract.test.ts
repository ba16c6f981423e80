import { describeAdapterContract, type ContractRoute } from '@bulwark/adapter-contract';
import { BulwarkStack } from '@bulwark/server/internal';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type FastifyBulwarkOptions, bulwarkPlugin, install } from './plugin.js';

/** Serves a contract route as a Fastify route, inside a plugin when it has a prefix. */
async function mount(app: FastifyInstance, route: ContractRoute): Promise<void> {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const answer = await route.handler({
      method: request.method,
      params: request.params as Record<string, string>,
      query: request.query as Record<string, string>,
      headers: request.headers,
      body: request.body,
      bulwark: request.bulwark ?? undefined,
    });
    void reply.code(answer.status ?? 200).headers(answer.headers ?? {});
    return reply.send(answer.body);
  };
  if (route.prefix === undefined) {
    app.route({ method: route.method, url: route.path, handler });
    return;
  }
  await app.register(
    async (scoped) => {
      scoped.route({ method: route.method, url: route.path, handler });
    },
    { prefix: route.prefix },
  );
}

/** Counts requests whose response ended or whose client left, after Bulwark's own hooks ran. */
function endings(app: FastifyInstance): (count: number) => Promise<void> {
  const ended = new WeakSet<object>();
  let count = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const tick = (request: FastifyRequest) => {
    if (ended.has(request)) return;
    ended.add(request);
    count++;
    for (const waiter of waiters.filter((w) => count >= w.count)) waiter.resolve();
  };
  app.addHook('onResponse', async (request) => tick(request));
  app.addHook('onRequestAbort', async (request) => tick(request));
  return (n) =>
    count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ count: n, resolve }));
}

describeAdapterContract({
  name: 'Fastify',
  async start(options, settings = {}) {
    const shared = options as FastifyBulwarkOptions;
    const errorHandler = settings.errorHandler ?? true;
    const app = Fastify({ http: { maxHeaderSize: settings.maxHeaderSize } });
    try {
      if (settings.probe === undefined) {
        await app.register(bulwarkPlugin, { ...shared, errorHandler });
      } else {
        const stack = new BulwarkStack<FastifyRequest>(shared, settings.probe);
        await app.register(
          fp((instance, _options, done) => {
            install(instance, stack, errorHandler);
            done();
          }),
        );
      }
    } catch (error: unknown) {
      await app.close();
      throw error;
    }
    const ended = endings(app);
    for (const route of settings.routes ?? []) await mount(app, route);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url,
      server: app.server,
      ended,
      shutdown: () => app.close(),
      close: () => app.close(),
    };
  },
});
