import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeClock, latch, listen } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import type { DnsRecord } from './sources/dns-source.js';
import { Events, client, closeAfter, until } from './test-helpers.js';

/** A replica that holds every request until the test opens `gate`, then answers with its name. */
async function heldReplica(name: string, gate: Promise<void>) {
  const received: string[] = [];
  const server = closeAfter(
    await listen((req: IncomingMessage, res: ServerResponse) => {
      received.push(req.url ?? '');
      void gate.then(() => res.end(JSON.stringify({ from: name })));
    }),
  );
  return { url: server.url, received };
}

/** No timer is left: everything pending is unref'd, and running it all re-arms nothing. */
async function expectNoTimersLeft(clock: FakeClock): Promise<void> {
  expect(clock.referencedTimers).toBe(0);
  await clock.runAll();
  expect(clock.pendingTimers).toBe(0);
}

describe('endpoints that change under load', () => {
  it('loses no call in flight when its endpoint is removed, and sends new calls to the endpoints it has now', async () => {
    const clock = new FakeClock();
    const gate = latch();
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((name) => heldReplica(name, gate.promise)),
    );
    let listed = [a!.url, b!.url];
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: () => listed,
      refreshMs: 1_000,
      clock,
      deadlineMs: false,
      timeoutMs: false,
      listener: events.listener,
    });
    const getItem = inventory.operation<{ from: string }>({ name: 'getItem', path: '/items/1' });
    const first = Array.from({ length: 20 }, () => getItem());
    await until(() => a!.received.length + b!.received.length === 20);
    expect(a!.received.length).toBeGreaterThan(0);

    listed = [b!.url, c!.url];
    await clock.advance(1_000);
    await until(() => events.of('endpoints-updated').length === 2);
    expect(events.of('endpoints-updated')[1]).toMatchObject({ added: [c!.url], removed: [a!.url] });
    const second = Array.from({ length: 20 }, () => getItem());
    await until(() => b!.received.length + c!.received.length === 40 - a!.received.length);

    gate.open();
    const answers = await Promise.all([...first, ...second]);
    expect(answers).toHaveLength(40);
    // The calls in flight to the removed endpoint finished there; none after went to it.
    expect(answers.slice(0, 20).filter((x) => x.from === 'a')).toHaveLength(a!.received.length);
    expect(answers.slice(20).map((x) => x.from)).not.toContain('a');
    expect(answers.slice(20).map((x) => x.from)).toContain('c');
  });
});

describe('close()', () => {
  it('waits for the calls in flight, stops reading the endpoints and leaves no timer', async () => {
    const clock = new FakeClock();
    const gate = latch();
    const replica = await heldReplica('a', gate.promise);
    const resolver = {
      questions: 0,
      resolve4(): Promise<DnsRecord[]> {
        this.questions++;
        return Promise.resolve([{ address: '127.0.0.1', ttl: 5 }]);
      },
      resolve6(): Promise<DnsRecord[]> {
        return Promise.resolve([]);
      },
    };
    const port = new URL(replica.url).port;
    const inventory = client({
      name: 'inventory',
      endpoints: { dns: `http://inventory.test:${port}`, resolver },
      clock,
    });
    const getItem = inventory.operation<{ from: string }>({ name: 'getItem', path: '/items/1' });
    const call = getItem();
    await until(() => replica.received.length === 1);

    let closed = false;
    const closing = inventory.close().then(() => (closed = true));
    await expect(getItem()).rejects.toThrow('the inventory service client is closed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    gate.open();
    await expect(call).resolves.toEqual({ from: 'a' });
    await closing;
    expect(inventory.closed).toBe(true);
    await expectNoTimersLeft(clock);
    expect(resolver.questions).toBe(1);
  });

  it('fails a call still waiting for the first endpoints when the client closes', async () => {
    const inventory = client({
      name: 'inventory',
      endpoints: () => new Promise<string[]>(() => undefined),
    });
    const getItem = inventory.operation({ name: 'getItem', path: '/items/1' });
    const call = getItem();
    await inventory.close();
    await expect(call).rejects.toMatchObject({ code: 'BULWARK_NO_ENDPOINTS', endpoints: 0 });
  });
});
