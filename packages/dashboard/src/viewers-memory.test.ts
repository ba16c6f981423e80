import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '@bulwark/testing';
import { dashboardListener } from './index.js';

/** The bounds the README states for 200 viewers (the test's own sockets counted in). */
const VIEWERS = 200;
const MAX_HEAP_GROWTH = 16 * 1024 * 1024;
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledMemory(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('many viewers', () => {
  it(`keeps ${VIEWERS} simultaneous viewers within the stated heap and RSS bounds`, async () => {
    const dashboard = dashboardListener({ intervalMs: 200 });
    cleanups.push(() => dashboard.close());
    for (let i = 0; i < 50; i++) {
      dashboard({
        type: 'call',
        policy: 'pipeline',
        name: undefined,
        operation: `operation-${i}`,
        outcome: 'success',
        durationMs: i,
        error: undefined,
      });
    }
    const served = await listen((req, res) => {
      dashboard.handle(req, res);
    });
    cleanups.push(() => served.close());
    const { port } = new URL(served.url);
    // One viewer first, so the page's own files and code paths are warm before measuring.
    const warm = await viewer(Number(port));
    await warm.ticks(2);
    warm.socket.destroy();

    const before = settledMemory();
    const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => viewer(Number(port))));
    cleanups.push(() => viewers.forEach((v) => v.socket.destroy()));
    await Promise.all(viewers.map((v) => v.ticks(1)));
    expect(dashboard.viewers).toBe(VIEWERS);
    // Every viewer gets several ticks' frames while all are connected.
    await Promise.all(viewers.map((v) => v.ticks(3)));
    const during = settledMemory();
    const heapGrowth = during.heapUsed - before.heapUsed;
    const rssGrowth = during.rss - before.rss;
    expect(heapGrowth).toBeLessThan(MAX_HEAP_GROWTH);
    expect(rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    expect(viewers.every((v) => v.received > 0)).toBe(true);
  }, 30_000);
});

interface Viewer {
  readonly socket: Socket;
  readonly received: number;
  /** Resolves once `count` update frames arrived after the full one; fails after a deadline. */
  ticks(count: number): Promise<void>;
}

/** A viewer that reads its stream and keeps nothing but a count of frames. */
function viewer(port: number): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let frames = 0;
    let bytes = 0;
    const waiters: Array<{ count: number; done: () => void }> = [];
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // "data: " opens an update frame; the full frame is "event: full" then "data:".
      for (
        let i = chunk.indexOf('\ndata: {"boot"');
        i !== -1;
        i = chunk.indexOf('\ndata: {"boot"', i + 1)
      ) {
        frames++;
      }
      for (const w of waiters.slice()) {
        if (frames >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done();
        }
      }
    });
    const v: Viewer = {
      socket,
      get received() {
        return bytes;
      },
      ticks: (count) =>
        new Promise((done, fail) => {
          const target = frames + count;
          const deadline = setTimeout(() => fail(new Error('no frames in 10 s')), 10_000);
          waiters.push({
            count: target,
            done: () => {
              clearTimeout(deadline);
              done();
            },
          });
        }),
    };
    socket.once('connect', () => {
      socket.write('GET /bulwark/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      resolve(v);
    });
  });
}
