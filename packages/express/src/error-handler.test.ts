import {
  BrokenCircuitError,
  CancelledError,
  DeadlineExceededError,
  TimeoutError,
} from '@bulwark/core';
import { type Listening, listen } from '@bulwark/testing';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwarkErrorHandler } from './error-handler.js';

// The answers for @bulwark/http-client's failures over real sockets run in the adapter contract
// (contract.test.ts), for both adapters; these tests pin the handler itself.

const open: Listening[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

const PROBLEM_TYPE = 'application/problem+json';

async function appThrowing(error: unknown, options: { partial?: boolean } = {}): Promise<string> {
  const app = express();
  app.get('/', (_req, res, next) => {
    if (options.partial === true) res.write('partial');
    next(error);
  });
  app.use(bulwarkErrorHandler());
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      res.status(500).json({ fallback: String(err) });
    },
  );
  const listening = await listen(app);
  open.push(listening);
  return listening.url;
}

describe('bulwarkErrorHandler', () => {
  it('answers a deadline exceeded deeper down with 504 problem+json, without its message', async () => {
    const res = await fetch(await appThrowing(new DeadlineExceededError(200)));
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe(PROBLEM_TYPE);
    expect(await res.json()).toEqual({
      type: 'urn:bulwark:deadline-exceeded',
      title: 'Deadline exceeded',
      status: 504,
      detail: "The request's time budget ran out before it could be completed.",
    });
  });

  it('answers an attempt timeout with 504', async () => {
    expect((await fetch(await appThrowing(new TimeoutError(50)))).status).toBe(504);
  });

  it('answers an open circuit with 503 and the breaker’s Retry-After', async () => {
    const res = await fetch(
      await appThrowing(new BrokenCircuitError('circuit is open', 'payments', 4200)),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('answers a cancelled call with 499', async () => {
    expect((await fetch(await appThrowing(new CancelledError()))).status).toBe(499);
  });

  it('passes every other error on to the next error handler', async () => {
    const res = await fetch(await appThrowing(new Error('boom')));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ fallback: 'Error: boom' });
  });

  it('leaves a response that has already started to Express', async () => {
    const res = await fetch(await appThrowing(new TimeoutError(50), { partial: true }));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('leaves other errors to Express, which shows neither stack nor message in production', async () => {
    const app = express();
    app.set('env', 'production');
    app.get('/', () => {
      throw new Error('secret detail');
    });
    app.use(bulwarkErrorHandler());
    const listening = await listen(app);
    open.push(listening);
    const res = await fetch(listening.url);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('Internal Server Error');
    expect(text).not.toContain('secret detail');
    expect(text).not.toContain('error-handler.test');
  });
});
