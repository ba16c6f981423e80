import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHttpClient } from '@bulwark/http-client';
import { idempotency } from '@bulwark/idempotency';
import {
  type FaultServer,
  type Listening,
  fault,
  freePort,
  listen,
  startFaultServer,
} from '@bulwark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { isPublishRejectedError, isTransportUnavailableError } from '../errors.js';
import type { OutboxMessage } from '../message.js';
import { webhookTransport } from './webhook.js';

const context = { signal: new AbortController().signal };

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: '0190f5a8-0000-7000-8000-000000000001',
    topic: 'orders',
    key: 'tenant 7/ü',
    payloadJson: '{"total":42}',
    headers: { 'X-Tenant': 'acme' },
    attempt: 1,
    enqueuedAt: 1_767_225_600_000,
    ...overrides,
  };
}

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

async function faultServer(): Promise<FaultServer> {
  const server = await startFaultServer();
  closing.push(() => server.close());
  return server;
}

/** A client that sends each request once, so a status reaches the transport as it is. */
function onceClient() {
  const client = createHttpClient({ retry: false, breaker: false });
  closing.push(() => client.close());
  return client;
}

describe('webhookTransport', () => {
  it('POSTs the payload as sent, with the message id as its Idempotency-Key', async () => {
    const server = await faultServer();
    const transport = webhookTransport({
      url: `${server.origin}/hooks`,
      client: onceClient(),
      headers: { Authorization: 'Bearer t' },
    });
    await transport.publish(message(), context);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks' });
    expect(request!.body.toString()).toBe('{"total":42}');
    expect(request!.headers).toMatchObject({
      'idempotency-key': '"0190f5a8-0000-7000-8000-000000000001"',
      'content-type': 'application/json',
      'x-outbox-topic': 'orders',
      'x-outbox-key': 'tenant%207%2F%C3%BC',
      'x-tenant': 'acme',
      authorization: 'Bearer t',
    });
  });

  it('sends each message where url(message) says', async () => {
    const server = await faultServer();
    const transport = webhookTransport({
      url: (m) => `${server.origin}/${m.topic}`,
      client: onceClient(),
    });
    await transport.publish(message({ topic: 'refunds', key: undefined }), context);
    expect(server.requests[0]!.url).toBe('/refunds');
    expect(server.requests[0]!.headers['x-outbox-key']).toBeUndefined();
  });

  it.each([
    [200, 'published'],
    [204, 'published'],
    [429, 'unavailable'],
    [502, 'unavailable'],
    [503, 'unavailable'],
    [504, 'unavailable'],
    [400, 'rejected'],
    [404, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [408, 'retried'],
    [409, 'retried'],
    [500, 'retried'],
  ])('counts a %i answer as %s', async (status, expected) => {
    const server = await faultServer();
    server.script(fault.respond(status));
    const transport = webhookTransport({ url: server.origin, client: onceClient() });
    const outcome = await transport.publish(message(), context).then(
      () => 'published',
      (error: unknown) =>
        isTransportUnavailableError(error)
          ? 'unavailable'
          : isPublishRejectedError(error)
            ? 'rejected'
            : 'retried',
    );
    expect(outcome).toBe(expected);
  });

  it('counts a refused connection as unavailable, with the client’s retries given up', async () => {
    const client = createHttpClient({ retry: { maxAttempts: 2, backoff: () => 0 } });
    closing.push(() => client.close());
    const transport = webhookTransport({ url: `http://127.0.0.1:${await freePort()}`, client });
    await expect(transport.publish(message(), context)).rejects.toSatisfy(
      isTransportUnavailableError,
    );
  });

  it('lets a Bulwark receiver act once on a message delivered twice', async () => {
    const idem = idempotency();
    const effects: unknown[] = [];
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const decision = await idem.begin({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        key: req.headersDistinct['idempotency-key'],
        body,
      });
      if (decision.kind === 'reject') {
        res.writeHead(decision.status, decision.headers).end(decision.body);
        return;
      }
      if (decision.kind === 'replay') {
        res
          .writeHead(decision.response.status, decision.response.headers)
          .end(decision.response.body);
        return;
      }
      effects.push(JSON.parse(body.toString()));
      const response = { status: 201, headers: {}, body: '' };
      if (decision.kind === 'proceed') await decision.complete(response);
      res.writeHead(201).end();
    };
    const receiver: Listening = await listen((req, res) => void handle(req, res));
    closing.push(() => receiver.close());
    const transport = webhookTransport({ url: receiver.url, client: onceClient() });
    await transport.publish(message(), context);
    await transport.publish(message({ attempt: 2 }), context);
    expect(effects).toEqual([{ total: 42 }]);
  });

  it('closes the client it made itself, and not one it was given', async () => {
    const server = await faultServer();
    const given = onceClient();
    const borrowing = webhookTransport({ url: server.origin, client: given });
    expect(borrowing.close).toBeUndefined();
    await borrowing.publish(message(), context);
    const own = webhookTransport({ url: server.origin });
    await own.publish(message(), context);
    await own.close!();
    await expect(own.publish(message(), context)).rejects.toThrow();
    expect(given.closed).toBe(false);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [{}, TypeError],
    [{ url: 'not a url' }, TypeError],
    [{ url: 5 }, TypeError],
    [{ url: 'http://x', client: {} }, TypeError],
    [{ url: 'http://x', header: {} }, TypeError],
  ])('rejects the options %j', (options, Kind) => {
    expect(() => webhookTransport(options as never)).toThrow(Kind);
  });
});
