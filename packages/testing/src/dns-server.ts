/**
 * A DNS server on 127.0.0.1 for tests of code that resolves names: it answers A and AAAA
 * questions from records the test sets (and changes) while it runs, so a client's resolver can
 * be pointed at it (`new Resolver().setServers([server.address])` of `node:dns/promises`)
 * instead of /etc/hosts or a real network.
 */
import { type Socket, createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** The answer codes a test may want besides a normal answer. */
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;
/** The TTL of records set without one, in seconds. */
const DEFAULT_TTL_SECONDS = 30;

/** What the server answers for one name. */
export interface DnsAnswer {
  /** IPv4 and IPv6 addresses: A questions get the IPv4 ones, AAAA questions the IPv6 ones. */
  readonly addresses: readonly string[];
  /** Seconds. Default 30. */
  readonly ttl?: number;
}

/** One question the server was asked. */
export interface DnsQuery {
  readonly name: string;
  readonly type: string;
}

export interface DnsServer {
  /** `127.0.0.1:<port>`, for `Resolver.setServers()`. */
  readonly address: string;
  readonly port: number;
  /** Every question asked so far, in order. */
  readonly queries: readonly DnsQuery[];
  /** Answers `name` with these addresses from now on (a name is matched case-insensitively). */
  set(name: string, answer: DnsAnswer): void;
  /** Answers `name` with SERVFAIL from now on, as a DNS server that cannot reach its data does. */
  fail(name: string): void;
  /** Forgets `name`: questions about it get NXDOMAIN. */
  remove(name: string): void;
  close(): Promise<void>;
}

type Entry = { readonly kind: 'answer'; readonly answer: DnsAnswer } | { readonly kind: 'fail' };

class DnsServerImpl implements DnsServer {
  address = '';
  port = 0;
  readonly queries: DnsQuery[] = [];
  private readonly names = new Map<string, Entry>();

  constructor(private readonly socket: Socket) {
    socket.on('message', (message, remote) => this.answer(message, remote.port, remote.address));
  }

  set(name: string, answer: DnsAnswer): void {
    for (const address of answer.addresses) {
      if (!isIPv4(address) && !isIPv6(address)) {
        throw new TypeError(`expected an IPv4 or IPv6 address, got "${address}"`);
      }
    }
    this.names.set(name.toLowerCase(), { kind: 'answer', answer });
  }

  fail(name: string): void {
    this.names.set(name.toLowerCase(), { kind: 'fail' });
  }

  remove(name: string): void {
    this.names.delete(name.toLowerCase());
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(message: Buffer, port: number, address: string): void {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // Not DNS: a real server drops it too.
    }
    const answers: dnsPacket.Answer[] = [];
    let rcode: number = RCODE.NOERROR;
    for (const question of query.questions ?? []) {
      this.queries.push({ name: question.name, type: question.type });
      const entry = this.names.get(question.name.toLowerCase());
      if (entry === undefined) {
        rcode = RCODE.NXDOMAIN;
        continue;
      }
      if (entry.kind === 'fail') {
        rcode = RCODE.SERVFAIL;
        continue;
      }
      const family = question.type === 'A' ? isIPv4 : question.type === 'AAAA' ? isIPv6 : undefined;
      if (family === undefined) continue;
      const ttl = entry.answer.ttl ?? DEFAULT_TTL_SECONDS;
      for (const data of entry.answer.addresses.filter((a) => family(a))) {
        answers.push({ type: question.type as 'A' | 'AAAA', name: question.name, ttl, data });
      }
    }
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | rcode,
      questions: query.questions,
      answers,
    });
    this.socket.send(response, port, address);
  }
}

/**
 * Starts a DNS server on 127.0.0.1 (UDP, port 0) answering from `records`, which the test can
 * change later with `set()`, `fail()` and `remove()`.
 *
 * @example
 * const dns = await startDnsServer({ 'inventory.test': { addresses: ['127.0.0.2', '127.0.0.3'], ttl: 5 } });
 * const resolver = new Resolver();
 * resolver.setServers([dns.address]);
 */
export async function startDnsServer(
  records: Readonly<Record<string, DnsAnswer>> = {},
): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const server = new DnsServerImpl(socket);
  for (const [name, answer] of Object.entries(records)) server.set(name, answer);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}
