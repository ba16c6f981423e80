// An Express API whose handler calls a downstream service through @bulwark/service-client:
// three imports for correlation, the caller's deadline, metrics, readiness and error answers.
import { pathToFileURL } from 'node:url';
import express from 'express';
import { bulwark, bulwarkErrorHandler } from '@bulwark/express';
import { createServiceClient } from '@bulwark/service-client';
import { startInventoryReplica } from './inventory-stub.js';

interface Item {
  sku: string;
  stock: number;
}

export function createApp(inventoryUrls: readonly string[]) {
  const inventory = createServiceClient({
    name: 'inventory',
    endpoints: [...inventoryUrls],
    metrics: true, // prom-client's global registry: the one the middleware serves on /metrics
  });
  const getItem = inventory.operation<Item>({
    name: 'getItem',
    path: '/items/:sku',
    hedge: true,
  });

  const middleware = bulwark({ metrics: true });
  // /readyz warns while some replicas are ejected and fails when none takes calls.
  middleware.health?.register(inventory.readinessCheck());

  const app = express();
  app.use(middleware);
  app.get('/products/:sku', async (req, res) => {
    // Correlation, trace context and the caller's remaining deadline travel on by themselves.
    const item = await getItem({ params: { sku: req.params.sku } });
    res.json({ sku: item.sku, available: item.stock > 0 });
  });
  // NoEndpointsAvailableError answers 503 with Retry-After, a timeout 504, a failed downstream 502.
  app.use(bulwarkErrorHandler());

  const close = async () => {
    middleware.close();
    await inventory.close();
  };
  return { app, inventory, close };
}

// `npm run express`: two stand-in replicas, the API on port 3000.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const replicas = [await startInventoryReplica(), await startInventoryReplica()];
  const { app } = createApp(replicas.map((r) => r.url));
  app.listen(3000, '127.0.0.1', () => {
    console.log(
      'curl localhost:3000/products/a-1   curl localhost:3000/readyz   curl localhost:3000/metrics',
    );
  });
}
