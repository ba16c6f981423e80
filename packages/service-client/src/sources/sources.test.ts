import { Resolver } from 'node:dns/promises';
import { FakeClock, listen, startDnsServer } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { Events, client, closeAfter, until } from '../test-helpers.js';
import type { DnsRecord, DnsResolver } from './dns-source.js';

/** A resolver whose answers the test sets, counting the questions. */
class StubResolver implements DnsResolver {
  v4: DnsRecord[] | Error = [];
  v6: DnsRecord[] | Error = [];
  questions = 0;
  resolve4(): Promise<DnsRecord[]> {
    this.questions++;
    return this.v4 instanceof Error ? Promise.reject(this.v4) : Promise.resolve(this.v4);
  }
  resolve6(): Promise<DnsRecord[]> {
    return this.v6 instanceof Error ? Promise.reject(this.v6) : Promise.resolve(this.v6);
  }
}

const noData = () => Object.assign(new Error('queryAaaa ENODATA'), { code: 'ENODATA' });

describe('endpoints from a function', () => {
  it('reads the function at start and every refreshMs, keeping what it knew when a read fails', async () => {
    const clock = new FakeClock();
    const events = new Events();
    let answer: unknown = ['http://10.0.0.5:8080', 'http://10.0.0.6:8080/api/'];
    let calls = 0;
    const inventory = client({
      name: 'inventory',
      endpoints: () => {
        calls++;
        if (answer instanceof Error) throw answer;
        return answer as string[];
      },
      refreshMs: 5_000,
      clock,
      listener: events.listener,
    });
    await inventory.ready();
    expect(inventory.endpoints().map((e) => e.endpoint)).toEqual([
      'http://10.0.0.5:8080',
      'http://10.0.0.6:8080/api',
    ]);
    answer = ['http://10.0.0.6:8080/api', 'http://10.0.0.7:8080'];
    await clock.advance(5_000);
    expect(calls).toBe(2);
    expect(inventory.endpoints().map((e) => e.endpoint)).toEqual([
      'http://10.0.0.6:8080/api',
      'http://10.0.0.7:8080',
    ]);
    expect(events.of('endpoints-updated').at(-1)).toMatchObject({
      added: ['http://10.0.0.7:8080'],
      removed: ['http://10.0.0.5:8080'],
      endpoints: 2,
    });
    // A failure keeps the endpoints, and the next read comes sooner than refreshMs.
    answer = new Error('registry down');
    await clock.advance(5_000);
    expect(events.of('endpoints-refresh-failed')).toMatchObject([{ endpoints: 2 }]);
    expect(inventory.endpoints()).toHaveLength(2);
    answer = ['not a url'];
    await clock.advance(1_000);
    expect(calls).toBe(4);
    expect(events.of('endpoints-refresh-failed')[1]!.error).toEqual(
      new TypeError(
        'expected endpoints()[0] to be an absolute http(s) URL such as "http://10.0.0.5:8080", got "not a url"',
      ),
    );
    await clock.advance(2_000);
    expect(calls).toBe(5);
  });

  it('keeps the endpoint objects of URLs it still lists, with what they learned', async () => {
    const clock = new FakeClock();
    let answer = ['http://10.0.0.5:8080', 'http://10.0.0.6:8080'];
    const inventory = client({
      name: 'inventory',
      endpoints: () => answer,
      refreshMs: 1_000,
      clock,
    });
    await inventory.ready();
    inventory.breakers!.isolate('http://10.0.0.5:8080');
    answer = ['http://10.0.0.6:8080', 'http://10.0.0.5:8080'];
    await clock.advance(1_000);
    expect(inventory.endpoints().map((e) => [e.endpoint, e.breaker])).toEqual([
      ['http://10.0.0.6:8080', 'closed'],
      ['http://10.0.0.5:8080', 'isolated'],
    ]);
  });
});

describe('endpoints from a DNS name', () => {
  it('makes an endpoint of every A and AAAA record, and asks again when the shortest TTL runs out', async () => {
    const clock = new FakeClock();
    const resolver = new StubResolver();
    resolver.v4 = [
      { address: '10.0.0.5', ttl: 30 },
      { address: '10.0.0.6', ttl: 5 },
    ];
    resolver.v6 = [{ address: 'fd00::7', ttl: 60 }];
    const inventory = client({
      name: 'inventory',
      endpoints: { dns: 'http://inventory.internal:8080/v1', resolver },
      clock,
    });
    await inventory.ready();
    expect(inventory.endpoints().map((e) => e.endpoint)).toEqual([
      'http://10.0.0.5:8080/v1',
      'http://10.0.0.6:8080/v1',
      'http://[fd00::7]:8080/v1',
    ]);
    resolver.v4 = [{ address: '10.0.0.5', ttl: 30 }];
    resolver.v6 = noData();
    await clock.advance(4_999);
    expect(resolver.questions).toBe(1);
    await clock.advance(1);
    await until(() => inventory.endpoints().length === 1);
    expect(resolver.questions).toBe(2);
    // The next question waits for the new answer's TTL.
    await clock.advance(29_999);
    expect(resolver.questions).toBe(2);
  });

  it('keeps the last endpoints through a failure or an empty answer, and asks again sooner', async () => {
    const clock = new FakeClock();
    const resolver = new StubResolver();
    resolver.v4 = [{ address: '10.0.0.5', ttl: 10 }];
    resolver.v6 = noData();
    const events = new Events();
    const inventory = client({
      name: 'inventory',
      endpoints: { dns: 'http://inventory.internal:8080', resolver, minTtlMs: 500 },
      clock,
      listener: events.listener,
    });
    await inventory.ready();
    resolver.v4 = Object.assign(new Error('queryA ESERVFAIL'), { code: 'ESERVFAIL' });
    await clock.advance(10_000);
    expect(events.of('endpoints-refresh-failed')).toMatchObject([
      { error: { code: 'ESERVFAIL' }, endpoints: 1 },
    ]);
    resolver.v4 = [];
    await clock.advance(500);
    expect(events.of('endpoints-refresh-failed')[1]).toMatchObject({
      error: { code: 'ENODATA', message: 'DNS has no address for inventory.internal' },
    });
    expect(inventory.endpoints().map((e) => e.endpoint)).toEqual(['http://10.0.0.5:8080']);
    expect(resolver.questions).toBe(3);
    // The retries back off: 500 ms, then 1 s.
    await clock.advance(999);
    expect(resolver.questions).toBe(3);
    await clock.advance(1);
    expect(resolver.questions).toBe(4);
  });

  it('resolves through node:dns against a DNS server, and spreads calls over the replicas it names', async () => {
    const dns = closeAfter(await startDnsServer());
    const first = closeAfter(await replica('127.0.0.2', 0));
    const port = Number(new URL(first.url).port);
    const others = [
      closeAfter(await replica('127.0.0.3', port)),
      closeAfter(await replica('127.0.0.4', port)),
    ];
    const replicas = [first, ...others];
    dns.set('inventory.test', { addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4'], ttl: 30 });
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([dns.address]);
    const inventory = client({
      name: 'inventory',
      endpoints: { dns: `http://inventory.test:${port}`, resolver, family: 4 },
    });
    const whoami = inventory.operation<{ host: string; via: string }>({
      name: 'whoami',
      path: '/whoami',
    });
    const answers = await Promise.all(Array.from({ length: 30 }, () => whoami()));
    const seen = new Set(answers.map((a) => a.via));
    expect(seen).toEqual(new Set(['127.0.0.2', '127.0.0.3', '127.0.0.4']));
    // Each request names the service, not the address it went to.
    expect(new Set(answers.map((a) => a.host))).toEqual(new Set([`inventory.test:${port}`]));
    expect(dns.queries).toEqual([{ name: 'inventory.test', type: 'A' }]);
    expect(replicas).toHaveLength(3);
  });
});

/** A replica that answers with the Host it was asked for and the address it listens on. */
function replica(host: string, port: number) {
  return listen(
    (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ host: req.headers.host, via: host }));
    },
    {},
    { host, port },
  );
}
