/**
 * The key a step is given, sent through @bulwark/http-client as Idempotency-Key to a server with
 * @bulwark/idempotency: a step repeated after a crash reaches the server twice and takes effect once.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { type HttpClient, createHttpClient } from '@bulwark/http-client';
import { idempotency } from '@bulwark/idempotency';
import { FakeClock } from '@bulwark/testing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  deferred,
  pgliteDatabase,
  startPglite,
  uniqueTable,
  waitFor,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

let server: Server | undefined;
let client: HttpClient | undefined;
afterEach(async () => {
  await client?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** A payments service: each charge is an effect, counted by the key it arrived with. */
async function paymentsService() {
  const idem = idempotency();
  const requests: Array<string | undefined> = [];
  const effects = new Map<string, number>();
  let charges = 0;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const key = req.headersDistinct['idempotency-key']?.join(', ');
    requests.push(key);
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
    effects.set(String(key), (effects.get(String(key)) ?? 0) + 1);
    const answer = JSON.stringify({ charge: ++charges });
    const headers = { 'content-type': 'application/json' };
    if (decision.kind === 'proceed')
      await decision.complete({ status: 201, headers, body: answer });
    res.writeHead(201, headers).end(answer);
  }
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, effects };
}

it('sends each action’s key as Idempotency-Key, so a charge repeated after a crash is applied once', async () => {
  const service = await paymentsService();
  client = createHttpClient({ baseUrl: service.url, timeoutMs: 5_000 });
  const http = client;
  const table = uniqueTable();
  const answers: unknown[] = [];
  // The first process dies after the charge was answered, before the saga could record it.
  let crashing = true;
  const never = deferred();
  const saga = defineSaga<{ amount: number }>({ name: 'pay' })
    .step({
      name: 'charge',
      action: async (data, ctx) => {
        const answer = await http.post<{ charge: number }>(
          '/charges',
          { amount: data.input.amount },
          { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal },
        );
        answers.push(answer);
        if (crashing) await never.promise;
        return answer;
      },
      compensate: () => undefined,
    })
    .step({
      name: 'receipt',
      pivot: true,
      action: (data) => `receipt for charge ${data.charge.charge}`,
    });
  const options = { database: pgliteDatabase(db), sagas: [saga], table, instanceId: 'pod-1' };
  const first = createOrchestrator({ ...options, clock: new FakeClock() });
  await first.migrate();
  // Its run never settles: the process is gone.
  void first.run(saga, { amount: 4200 }, { id: 'pay-1' });
  await waitFor(() => answers.length === 1, 'the first charge');

  crashing = false;
  const restarted = createOrchestrator({ ...options, clock: new FakeClock() });
  expect(await restarted.claim()).toBe(1);
  await waitFor(
    async () => (await restarted.get('pay-1'))?.status === 'completed',
    'the resumed saga',
  );

  expect(service.requests).toEqual(['"pay-1:charge:action"', '"pay-1:charge:action"']);
  expect([...service.effects]).toEqual([['"pay-1:charge:action"', 1]]);
  expect(answers).toEqual([{ charge: 1 }, { charge: 1 }]);
  expect((await restarted.get('pay-1'))?.steps).toMatchObject([
    { status: 'done', attempts: 2, output: { charge: 1 } },
    { status: 'done', output: 'receipt for charge 1' },
  ]);
});
