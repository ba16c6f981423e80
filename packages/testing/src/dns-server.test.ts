import { Resolver } from 'node:dns/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from './dns-server.js';
import { type Listening, listen } from './loopback.js';

const servers: DnsServer[] = [];
const listening: Listening[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(listening.splice(0).map((l) => l.close()));
});

async function dns(records?: Parameters<typeof startDnsServer>[0]): Promise<DnsServer> {
  const server = await startDnsServer(records);
  servers.push(server);
  return server;
}

function resolverFor(server: DnsServer): Resolver {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([server.address]);
  return resolver;
}

describe('startDnsServer', () => {
  it("answers node:dns's A and AAAA questions with the records set, and their TTL", async () => {
    const server = await dns({
      'Inventory.test': { addresses: ['127.0.0.2', '127.0.0.3', '::1'], ttl: 7 },
    });
    const resolver = resolverFor(server);
    expect(await resolver.resolve4('inventory.test', { ttl: true })).toEqual([
      { address: '127.0.0.2', ttl: 7 },
      { address: '127.0.0.3', ttl: 7 },
    ]);
    expect(await resolver.resolve6('inventory.test')).toEqual(['::1']);
    expect(server.queries).toEqual([
      { name: 'inventory.test', type: 'A' },
      { name: 'inventory.test', type: 'AAAA' },
    ]);
  });

  it('answers with what the test changed since, NXDOMAIN for a name it removed, SERVFAIL on demand', async () => {
    const server = await dns({ 'a.test': { addresses: ['127.0.0.2'] } });
    const resolver = resolverFor(server);
    server.set('a.test', { addresses: ['127.0.0.4'] });
    expect(await resolver.resolve4('a.test')).toEqual(['127.0.0.4']);
    server.fail('a.test');
    await expect(resolver.resolve4('a.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    server.remove('a.test');
    await expect(resolver.resolve4('a.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses a record that is not an IP address', async () => {
    const server = await dns();
    expect(() => server.set('a.test', { addresses: ['example.com'] })).toThrow(
      new TypeError('expected an IPv4 or IPv6 address, got "example.com"'),
    );
  });
});

describe('listen at a loopback address', () => {
  it('serves replicas on one port at several 127.0.0.x addresses', async () => {
    const first = await listen((_req, res) => res.end('a'), {}, { host: '127.0.0.2' });
    listening.push(first);
    const port = Number(new URL(first.url).port);
    const second = await listen((_req, res) => res.end('b'), {}, { host: '127.0.0.3', port });
    listening.push(second);
    expect(second.url).toBe(`http://127.0.0.3:${port}`);
    expect(await (await fetch(`http://127.0.0.2:${port}/`)).text()).toBe('a');
    expect(await (await fetch(`http://127.0.0.3:${port}/`)).text()).toBe('b');
  });

  it('refuses an address off the loopback range', async () => {
    await expect(listen(() => undefined, {}, { host: '10.0.0.1' })).rejects.toThrow(
      new RangeError('expected a loopback address, got "10.0.0.1"'),
    );
  });
});
