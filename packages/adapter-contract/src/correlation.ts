import { setTimeout as sleep } from 'node:timers/promises';
import { currentContext, remainingMs } from '@bulwark/correlation';
import { FakeClock, listen } from '@bulwark/testing';
import { writeBudget } from '@bulwark/timeout';
import { describe, expect, it } from 'vitest';
import type { ContractRoute } from './adapter.js';
import { type Harness, UUID_V7, problem } from './harness.js';

/** GET / answers the correlation ID the request and the context carry. */
const ids: ContractRoute = {
  method: 'GET',
  path: '/',
  handler: (request) => ({
    body: {
      fromRequest: request.bulwark?.correlationId ?? null,
      fromContext: currentContext()?.correlationId ?? null,
    },
  }),
};

export function correlationContract(h: Harness): void {
  describe('correlation', () => {
    it('echoes a valid inbound x-request-id and gives the handler the same ID', async () => {
      const app = await h.start({}, { routes: [ids] });
      const res = await fetch(app.url, { headers: { 'x-request-id': 'req-42' } });
      expect(res.headers.get('x-request-id')).toBe('req-42');
      expect(await res.json()).toEqual({ fromRequest: 'req-42', fromContext: 'req-42' });
    });

    it('generates a UUIDv7 when no ID came in, and never echoes an invalid one', async () => {
      const app = await h.start({}, { routes: [ids] });
      const none = await fetch(app.url);
      expect(none.headers.get('x-request-id')).toMatch(UUID_V7);
      for (const invalid of ['a"b<script>', 'x'.repeat(129), 'x'.repeat(200)]) {
        const res = await fetch(app.url, { headers: { 'x-request-id': invalid } });
        const echoed = res.headers.get('x-request-id');
        expect(echoed).toMatch(UUID_V7);
        expect(await res.json()).toEqual({ fromRequest: echoed, fromContext: echoed });
      }
    });

    it('keeps each handler in its own context across timers, under concurrent requests', async () => {
      const app = await h.start(
        {},
        {
          routes: [
            {
              method: 'GET',
              path: '/',
              handler: async (request) => {
                const before = currentContext()?.correlationId;
                await sleep(Number(request.query.wait));
                await Promise.resolve();
                return { body: { before, after: currentContext()?.correlationId } };
              },
            },
          ],
        },
      );
      const names = Array.from({ length: 20 }, (_, i) => `id-${i}`);
      const answers = await Promise.all(
        names.map((id, i) =>
          fetch(`${app.url}/?wait=${(i * 7) % 20}`, { headers: { 'x-request-id': id } }).then((r) =>
            r.json(),
          ),
        ),
      );
      expect(answers).toEqual(names.map((id) => ({ before: id, after: id })));
    });

    it('echoes the ID in the configured header, or in none', async () => {
      const named = await h.start(
        { correlation: { headers: ['x-correlation-id'], responseHeader: 'x-trace' } },
        { routes: [ids] },
      );
      const silent = await h.start({ correlation: { responseHeader: false } }, { routes: [ids] });
      const a = await fetch(named.url, { headers: { 'x-correlation-id': 'c-1' } });
      expect(a.headers.get('x-trace')).toBe('c-1');
      const b = await fetch(silent.url, { headers: { 'x-request-id': 'c-2' } });
      expect(b.headers.get('x-request-id')).toBeNull();
      expect(await b.json()).toEqual({ fromRequest: 'c-2', fromContext: 'c-2' });
    });

    it('sets no context and no header when correlation is off', async () => {
      const app = await h.start({ correlation: false }, { routes: [ids] });
      const res = await fetch(app.url, { headers: { 'x-request-id': 'x' } });
      expect(res.headers.get('x-request-id')).toBeNull();
      expect(await res.json()).toEqual({ fromRequest: null, fromContext: null });
    });
  });
}

export function deadlineContract(h: Harness): void {
  describe('deadline', () => {
    it('makes the caller’s remaining budget the deadline the handler and its outbound calls see', async () => {
      const clock = new FakeClock({ now: 5000 });
      const downstream = await listen((req, res) => {
        res.end(JSON.stringify({ budget: req.headers['x-bulwark-timeout-ms'] ?? null }));
      });
      h.closers.push(() => downstream.close());
      const app = await h.start(
        { clock },
        {
          routes: [
            {
              method: 'GET',
              path: '/',
              handler: async () => {
                const headers: Record<string, string> = {};
                // What an outbound client does: forward what is left of the request's budget.
                const left = remainingMs(currentContext(), clock);
                writeBudget(headers, left);
                const answer = await fetch(downstream.url, { headers });
                const deadline = String(currentContext()?.deadline);
                return { body: { deadline, left, downstream: await answer.json() } };
              },
            },
          ],
        },
      );
      const res = await fetch(app.url, { headers: { 'x-bulwark-timeout-ms': '750' } });
      expect(await res.json()).toEqual({
        deadline: '5750',
        left: 750,
        downstream: { budget: '750' },
      });
      const none = await fetch(app.url);
      expect(await none.json()).toEqual({
        deadline: 'Infinity',
        left: null,
        downstream: { budget: null },
      });
    });

    it('answers 504 without running the handler when the budget is already spent', async () => {
      let ran = false;
      const app = await h.start(
        {},
        {
          routes: [
            {
              method: 'GET',
              path: '/',
              handler: () => {
                ran = true;
                return { body: 'ok' };
              },
            },
          ],
        },
      );
      const res = await fetch(app.url, { headers: { 'x-bulwark-timeout-ms': '0' } });
      expect(res.status).toBe(504);
      expect(await problem(res)).toMatchObject({
        type: 'urn:bulwark:deadline-exceeded',
        status: 504,
      });
      expect(ran).toBe(false);
    });

    it('answers 504 through the framework’s own error handling when Bulwark’s handler is not installed', async () => {
      const app = await h.start(
        {},
        { errorHandler: false, routes: [{ method: 'GET', path: '/', handler: () => ({}) }] },
      );
      const res = await fetch(app.url, { headers: { 'grpc-timeout': '0m' } });
      expect(res.status).toBe(504);
    });

    it('ignores a malformed budget', async () => {
      const app = await h.start(
        {},
        {
          routes: [
            {
              method: 'GET',
              path: '/',
              handler: (request) => ({ body: { none: request.bulwark?.deadline === Infinity } }),
            },
          ],
        },
      );
      const res = await fetch(app.url, { headers: { 'x-bulwark-timeout-ms': '12.5' } });
      expect(await res.json()).toEqual({ none: true });
    });
  });
}
