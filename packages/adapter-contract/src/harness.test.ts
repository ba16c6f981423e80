import type { Server, ServerResponse } from 'node:http';
import { listen } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { AdapterUnderTest, RunningApp } from './adapter.js';
import { Harness, problem } from './harness.js';

/** A stand-in adapter: a bare node:http server answering every request with `answer`. */
function bareAdapter(answer: (res: ServerResponse) => void, log: string[]): AdapterUnderTest {
  return {
    name: 'bare node:http',
    async start(): Promise<RunningApp> {
      const listening = await listen((_req, res) => answer(res));
      return {
        url: listening.url,
        server: listening.server,
        ended: () => Promise.resolve(),
        shutdown: undefined,
        close: async () => {
          await listening.close();
          log.push('app closed');
        },
      };
    },
  };
}

describe('Harness', () => {
  const log: string[] = [];
  const h = new Harness(bareAdapter((res) => res.end('ok'), log));
  let firstServer: Server | undefined;

  it('starts an app that serves requests and counts their arrival', async () => {
    const app = await h.start();
    firstServer = app.server;
    h.closers.push(
      () => log.push('closer 1'),
      () => log.push('closer 2'),
    );
    const res = await fetch(`${app.url}/anything`);
    expect(await res.text()).toBe('ok');
    await app.arrived(1);
    expect(log).toEqual([]);
  });

  it('closes the previous test apps after it, then runs its closers in order', () => {
    expect(firstServer?.listening).toBe(false);
    expect(log).toEqual(['app closed', 'closer 1', 'closer 2']);
  });

  it('closes apps on demand, as a restart would, and runs each closer once', async () => {
    log.length = 0;
    const app = await h.start();
    h.closers.push(() => log.push('closer'));
    await h.closeApps();
    expect(app.server.listening).toBe(false);
    expect(log).toEqual(['app closed', 'closer']);
    await h.closeApps();
    expect(log).toEqual(['app closed', 'closer']);
  });
});

describe('problem()', () => {
  function answer(contentType: string, body: unknown, status = 503): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } });
  }
  const bare = { type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'x' };

  it('accepts a bare problem and returns its body', async () => {
    await expect(problem(answer('application/problem+json', bare))).resolves.toEqual(bare);
  });

  it('refuses a problem with any member beyond the four, such as a stack', async () => {
    const leaky = { ...bare, stack: 'Error: at handler.js:1' };
    await expect(problem(answer('application/problem+json', leaky))).rejects.toThrow();
  });

  it('refuses an answer of another content type', async () => {
    await expect(problem(answer('application/json', bare))).rejects.toThrow();
  });

  it('refuses a body whose status is not the answer status', async () => {
    await expect(problem(answer('application/problem+json', bare, 502))).rejects.toThrow();
  });
});
