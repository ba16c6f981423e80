// A Fastify gateway that forwards /inventory/* to a downstream service through
// @bulwark/service-client, streaming the answer back whatever its status.
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { bulwarkPlugin } from '@bulwark/fastify';
import { createServiceClient } from '@bulwark/service-client';
import { startInventoryReplica } from './inventory-stub.js';

export async function createGateway(inventoryUrls: readonly string[]) {
  const inventory = createServiceClient({ name: 'inventory', endpoints: [...inventoryUrls] });
  const forward = inventory.operation({ name: 'forward', path: '/items/:sku', stream: true });

  const app = Fastify();
  await app.register(bulwarkPlugin, {});
  app.get<{ Params: { sku: string } }>('/inventory/items/:sku', async (request, reply) => {
    const answer = await forward({ params: { sku: request.params.sku } });
    const type = answer.headers['content-type'];
    if (typeof type === 'string') void reply.header('content-type', type);
    return reply.status(answer.status).send(answer.body);
  });
  app.addHook('onClose', async () => {
    await inventory.close();
  });
  return app;
}

// `npm run fastify`: two stand-in replicas, the gateway on port 3000.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const replicas = [await startInventoryReplica(), await startInventoryReplica()];
  const app = await createGateway(replicas.map((r) => r.url));
  await app.listen({ port: 3000, host: '127.0.0.1' });
  console.log('curl localhost:3000/inventory/items/a-1');
}
