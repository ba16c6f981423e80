import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServiceClient } from './index.js';

// Two replicas: the first answers 503 to everything, the second answers the item.
async function replica(sick: boolean): Promise<string> {
  const server = createServer((req, res) => {
    if (sick) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: req.url?.split('/').pop(), stock: 7 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const endpoints = [await replica(true), await replica(false)];

const inventory = createServiceClient({
  name: 'inventory',
  endpoints, // or an async function re-read on an interval, or { dns: 'http://inventory.internal:8080' }
  listener: (event) => {
    if (event.type === 'endpoint-ejected') {
      console.log(`${event.endpoint} ejected for ${event.durationMs} ms (${event.reason})`);
    }
  },
});

interface Item {
  id: string;
  stock: number;
}
const getItem = inventory.operation<Item>({ name: 'getItem', method: 'GET', path: '/items/:id' });

let answered = 0;
for (let i = 0; i < 40; i++) {
  const item = await getItem({ params: { id: String(i) } });
  if (item.stock === 7) answered++;
}
console.log(`${answered} of 40 calls answered`);
console.log(inventory.endpoints().map((e) => `${e.endpoint}: ${e.state}, ${e.inFlight} in flight`));
await inventory.close(); // waits for calls in flight, stops the timers, closes the sockets

export {};
