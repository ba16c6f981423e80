import type { ServerResponse } from 'node:http';
import { FakeClock, type Listening, listen, watchRequests } from '@bulwark/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { hedging } from './hedging.js';

let server: Listening | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('hedging over real HTTP', () => {
  it('aborts the hung request when the hedge answers: the server sees its connection close', async () => {
    const responses: ServerResponse[] = [];
    let firstClosed!: () => void;
    const closed = new Promise<void>((resolve) => (firstClosed = resolve));
    server = await listen((req, res) => {
      responses.push(res);
      if (responses.length === 1) {
        // The first request hangs until its client goes away.
        res.once('close', firstClosed);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"from":"hedge"}');
    });
    const watch = watchRequests(server.server);
    const clock = new FakeClock();
    const hedger = hedging({ idempotent: true, delay: 50, clock });
    const signals: AbortSignal[] = [];
    const url = `${server.url}/items/42`;

    const call = hedger.execute(async ({ signal }) => {
      signals.push(signal);
      const response = await fetch(url, { signal });
      return response.json();
    });
    await watch.arrived(1);
    await clock.advance(50);
    await expect(call).resolves.toEqual({ from: 'hedge' });

    expect(signals).toHaveLength(2);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
    await closed;
    // The hung request was never answered: its connection closed under it.
    expect(responses[0]!.writableFinished).toBe(false);
    expect(responses[1]!.writableFinished).toBe(true);
  });
});
