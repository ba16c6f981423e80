import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in inventory replica on 127.0.0.1, for running the examples without a real one. */
export interface InventoryReplica {
  readonly url: string;
  /** `true`: it answers 503 to everything. */
  sick: boolean;
  close(): Promise<void>;
}

export async function startInventoryReplica(): Promise<InventoryReplica> {
  const replica = { sick: false } as InventoryReplica & { sick: boolean };
  const server: Server = createServer((req, res) => {
    if (replica.sick) return void res.writeHead(503).end();
    const sku = decodeURIComponent(req.url?.split('/').pop() ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sku, stock: 7 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(replica, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  });
  return replica;
}
