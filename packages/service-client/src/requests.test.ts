import { createRequestContext, runWithContext } from '@bulwark/correlation';
import { constantBackoff } from '@bulwark/retry';
import { FakeClock, fault, freePort } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { client, hits, replicas, seeded } from './test-helpers.js';

describe('a POST without an Idempotency-Key', () => {
  it('is never sent again, to any replica, once it was sent', async () => {
    const servers = await replicas(2);
    // Each replica reads the request, then resets the connection: the server may have acted.
    for (const server of servers) server.script(fault.resetBeforeHeaders());
    const orders = client({
      name: 'orders',
      endpoints: servers.map((s) => s.origin),
      retry: { maxAttempts: 3, backoff: constantBackoff(0) },
    });
    const createOrder = orders.operation({ name: 'createOrder', method: 'POST', path: '/orders' });
    await expect(createOrder({ body: { sku: 'a' } })).rejects.toMatchObject({
      code: 'BULWARK_NETWORK',
      committed: false,
    });
    expect(hits(servers).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('goes to another replica when the connection to the first was refused: nothing was sent', async () => {
    const [live] = await replicas(1);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const orders = client({
      name: 'orders',
      endpoints: [dead, live!.origin],
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      random: seeded(1),
    });
    const createOrder = orders.operation({ name: 'createOrder', method: 'POST', path: '/orders' });
    for (let i = 0; i < 8; i++)
      await expect(createOrder({ body: { n: i } })).resolves.toEqual({ ok: true });
    // Every order reached the live replica exactly once.
    expect(live!.requests.map((r) => (JSON.parse(r.body.toString()) as { n: number }).n)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it('with a key, is sent again to another replica after a reset, with the same key', async () => {
    const servers = await replicas(2);
    for (const server of servers) server.script(fault.resetBeforeHeaders());
    const orders = client({
      name: 'orders',
      endpoints: servers.map((s) => s.origin),
      retry: { maxAttempts: 2, backoff: constantBackoff(0) },
      idempotencyKey: 'auto',
    });
    const createOrder = orders.operation({ name: 'createOrder', method: 'POST', path: '/orders' });
    await expect(createOrder({ body: { sku: 'a' } })).rejects.toMatchObject({
      code: 'BULWARK_RETRIES_EXHAUSTED',
    });
    expect(hits(servers)).toEqual([1, 1]);
    const keys = servers.map((s) => s.requests[0]!.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(keys[1]).toBe(keys[0]);
  });
});

describe('operations', () => {
  it('encodes path parameters and the query, and sends the body as JSON', async () => {
    const [server] = await replicas(1);
    server!.script(fault.respond(201, { body: { id: 7 } }));
    const inventory = client({ name: 'inventory', endpoints: [`${server!.origin}/api/`] });
    const addPart = inventory.operation<{ id: number }, { sku: string }, '/items/:id/parts'>({
      name: 'addPart',
      method: 'PUT',
      path: '/items/:id/parts',
    });
    const made = await addPart({
      params: { id: 'a/b c' },
      query: { dry: false, n: 2, skip: undefined },
      body: { sku: 'x' },
      headers: { 'X-Trace': '1' },
    });
    expect(made).toEqual({ id: 7 });
    const [request] = server!.requests;
    expect(request).toMatchObject({
      method: 'PUT',
      url: '/api/items/a%2Fb%20c/parts?dry=false&n=2',
    });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-trace': '1',
    });
    expect(JSON.parse(request!.body.toString())).toEqual({ sku: 'x' });
  });

  it('refuses a call whose path parameters are wrong before anything is sent', async () => {
    const [server] = await replicas(1);
    const inventory = client({ name: 'inventory', endpoints: [server!.origin] });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/:id' });
    await expect(getItem({ params: { id: '..' } })).rejects.toThrow(RangeError);
    await expect(getItem({ params: {} as never })).rejects.toThrow(
      'expected path parameter "id" for /items/:id, got none',
    );
    await expect(getItem({ params: { id: 1, extra: 2 } as never })).rejects.toThrow(
      'unknown option "params.extra" for inventory.getItem()',
    );
    await expect(getItem({ params: { id: {} as never } })).rejects.toThrow(TypeError);
    expect(server!.requests).toHaveLength(0);
  });

  it('hands the parsed body to parse, and throws HttpStatusError for a status outside 2xx', async () => {
    const [server] = await replicas(1);
    server!.script(fault.respond(200, { body: { id: '42', price: '9.5' } }), fault.respond(404));
    const inventory = client({ name: 'inventory', endpoints: [server!.origin] });
    const getItem = inventory.operation({
      name: 'getItem',
      path: '/items/:id',
      parse: (body) => {
        const { id, price } = body as { id: string; price: string };
        return { id, price: Number(price) };
      },
    });
    await expect(getItem({ params: { id: 42 } })).resolves.toEqual({ id: '42', price: 9.5 });
    await expect(getItem({ params: { id: 43 } })).rejects.toMatchObject({
      name: 'HttpStatusError',
      code: 'BULWARK_HTTP_STATUS',
      status: 404,
      origin: server!.origin,
    });
  });

  it('answers a streamed operation at the headers, with the body as a stream', async () => {
    const [server] = await replicas(1);
    server!.script(fault.respond(200, { body: 'line 1\nline 2\n' }));
    const inventory = client({ name: 'inventory', endpoints: [server!.origin] });
    const exportItems = inventory.operation({ name: 'export', path: '/export', stream: true });
    const response = await exportItems();
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('line 1\nline 2\n');
  });

  it('carries the correlation ID, the attempt and the remaining budget of the incoming request on the wire', async () => {
    const clock = new FakeClock();
    const [server] = await replicas(1, { clock });
    const inventory = client({
      name: 'inventory',
      endpoints: [server!.origin],
      clock,
      deadlineMs: 5_000,
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1', timeoutMs: 800 });
    const context = createRequestContext({ deadline: performance.now() + 300 });
    await runWithContext(context, () => getItem());
    const headers = server!.requests[0]!.headers;
    expect(headers['x-request-id']).toBe(context.correlationId);
    expect(headers['x-bulwark-attempt']).toBe('1');
    // The tightest of the incoming request's 300 ms, the 5 s deadline and the 800 ms attempt limit.
    expect(Number(headers['x-bulwark-timeout-ms'])).toBeLessThanOrEqual(300);
    expect(Number(headers['x-bulwark-timeout-ms'])).toBeGreaterThan(250);
  });

  it('ends a call at its deadline, the attempt under way included, and says what is left on the wire', async () => {
    const clock = new FakeClock();
    const servers = await replicas(2, { clock, fallback: fault.hang() });
    const inventory = client({
      name: 'inventory',
      endpoints: servers.map((s) => s.origin),
      clock,
      timeoutMs: 600,
      deadlineMs: 1_000,
      retry: { maxAttempts: 5, backoff: constantBackoff(0) },
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    const settled = getItem().catch((e: unknown) => e);
    for (let i = 0; i < 10 && clock.now() < 1_000; i++) await clock.advance(100);
    expect(await settled).toMatchObject({ code: 'BULWARK_DEADLINE_EXCEEDED' });
    expect(clock.now()).toBe(1_000);
    // 0–600 on one replica (its attempt timeout), 600–1000 on the other (the deadline).
    expect(hits(servers).sort()).toEqual([1, 1]);
    const budgets = servers.map((s) => s.requests[0]!.headers['x-bulwark-timeout-ms']).sort();
    expect(budgets).toEqual(['400', '600']);
  });
});
