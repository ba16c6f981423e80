// An Express service whose route calls a downstream through @bulwark/http-client, run under
// register.mjs. It prints the spans it recorded as JSON, for otel.test.ts to read.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { bulwark, bulwarkErrorHandler } from '@bulwark/express';
import { createHttpClient } from '@bulwark/http-client';
import { openTelemetryListener, tracedAttempt, tracedOperation } from '@bulwark/telemetry';
import express from 'express';
import { serverSpansEnded } from './register.mjs';

async function listening(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

// The downstream fails its first call and answers the retry.
let calls = 0;
const downstream = createServer((_req, res) => {
  calls++;
  res.statusCode = calls === 1 ? 503 : 200;
  res.setHeader('content-type', 'application/json');
  res.end('{"inStock":3}');
});
const downstreamPort = await listening(downstream);

const stock = createHttpClient({
  baseUrl: `http://127.0.0.1:${downstreamPort}`,
  retry: { maxAttempts: 2, random: () => 0 },
  listener: openTelemetryListener(),
  policies: { call: tracedOperation(), attempt: tracedAttempt() },
});

const app = express();
app.use(bulwark());
app.get('/orders/:id', async (req, res) => {
  const stockLevel = await stock.get(`/stock/${req.params.id}`);
  res.json({ id: req.params.id, stock: stockLevel, traceId: req.bulwark?.trace.traceId });
});
app.use(bulwarkErrorHandler());
const server = createServer(app);
const appPort = await listening(server);

// fetch() goes through undici, which the HTTP instrumentation leaves alone: the app's server
// span is the root of the trace.
const res = await fetch(`http://127.0.0.1:${appPort}/orders/7`);
const body = await res.json();
const spans = await serverSpansEnded(3);

await stock.close();
server.close();
downstream.close();

console.log(
  JSON.stringify({
    status: res.status,
    body,
    appPort,
    downstreamPort,
    spans: spans.map((span) => ({
      name: span.name,
      kind: span.kind,
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      parentSpanId: span.parentSpanContext?.spanId,
      status: span.status.code,
      attributes: span.attributes,
    })),
  }),
);
