import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';
import { bulwark } from './middleware.js';
import { type Listening, listen } from '@bulwark/testing';

// The Idempotency-Key behaviour both adapters share runs in the adapter contract
// (contract.test.ts); these tests pin what is Express's own: responses written in pieces, and
// bodies no parser read before the middleware.

const open: Listening[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
  for (const close of closers.splice(0)) await close();
});

/** An app with JSON parsing, Bulwark's Idempotency-Key handling and one route. */
async function keyedApp(
  route: (app: express.Express, count: () => number) => void,
): Promise<{ url: string; runs: () => number }> {
  const middleware = bulwark({ idempotency: { identity: 'shared' } });
  closers.push(() => middleware.close());
  let runs = 0;
  const app = express();
  app.use(express.json());
  app.use(middleware);
  route(app, () => ++runs);
  app.use(bulwarkErrorHandler());
  const listening = await listen(app);
  open.push(listening);
  return { url: listening.url, runs: () => runs };
}

describe('Idempotency-Key with the memory store', () => {
  it('stores a response written in several chunks whole', async () => {
    const app = await keyedApp((router, count) =>
      router.post('/stream', (_req, res) => {
        count();
        res.setHeader('content-type', 'text/plain');
        res.write('one,');
        res.write(Buffer.from('two,'));
        res.end('three', 'utf8');
      }),
    );
    const send = () =>
      fetch(`${app.url}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 's' },
        body: '{}',
      });
    expect(await (await send()).text()).toBe('one,two,three');
    const replay = await send();
    expect(await replay.text()).toBe('one,two,three');
    expect(replay.headers.get('content-type')).toBe('text/plain');
    expect(app.runs()).toBe(1);
  });
});

describe('Idempotency-Key against hostile input', () => {
  it('answers 415 to a keyed body no parser read, rather than replay on a blind match', async () => {
    const app = await keyedApp((router, count) =>
      router.post('/orders', (_req, res) => {
        count();
        res.status(201).end();
      }),
    );
    const res = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'idempotency-key': 'k-text' },
      body: 'book',
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ type: 'urn:bulwark:idempotency:body-unparsed' });
    expect(app.runs()).toBe(0);
  });
});
