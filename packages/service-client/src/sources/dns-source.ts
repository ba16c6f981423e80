import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Clock, TimerHandle } from '@bulwark/core';
import { describeValue, unrefTimer } from '@bulwark/core/internal';
import {
  type EndpointAddress,
  type EndpointSink,
  type EndpointSource,
  distinct,
} from './source.js';

/** One record of an answer, with its TTL in seconds (`node:dns`'s `{ ttl: true }` form). */
export interface DnsRecord {
  readonly address: string;
  readonly ttl: number;
}

/**
 * What resolves a name: `node:dns/promises`' `Resolver` fits (the default, a new one per
 * client), or one of yours pointed at other servers (`resolver.setServers([...])`), or a stub.
 */
export interface DnsResolver {
  resolve4(hostname: string, options: { ttl: true }): Promise<DnsRecord[]>;
  resolve6(hostname: string, options: { ttl: true }): Promise<DnsRecord[]>;
}

/** `node:dns`'s codes for "this name has no record of that type" and "no such name". */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/** What the DNS source resolves, and how. */
export interface DnsSettings {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  /** The port every address is called on: the URL's, or the protocol's default. */
  readonly port: number;
  /** The URL's path, without a trailing slash. */
  readonly prefix: string;
  /** 4 or 6: one family only; undefined: both. */
  readonly family: 4 | 6 | undefined;
  readonly resolver: DnsResolver | undefined;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
}

/**
 * Endpoints from a DNS name: every A and AAAA record, asked again when the answer's shortest
 * TTL runs out (within `minTtlMs` and `maxTtlMs`). A failed resolution, or an answer with no
 * address at all, keeps the endpoints known so far (a name that briefly resolves to nothing
 * during a deployment must not take every endpoint away), and is asked again sooner.
 */
export class DnsSource implements EndpointSource {
  private timer: TimerHandle | undefined = undefined;
  private closed = false;
  private failures = 0;
  private resolver: DnsResolver | undefined;

  constructor(
    private readonly settings: DnsSettings,
    private readonly clock: Clock,
  ) {
    this.resolver = settings.resolver;
  }

  start(sink: EndpointSink): void {
    void this.read(sink);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async read(sink: EndpointSink): Promise<void> {
    this.timer = undefined;
    const { family, hostname, minTtlMs, maxTtlMs } = this.settings;
    const resolver = (this.resolver ??= new Resolver());
    let records: DnsRecord[];
    let endpoints: EndpointAddress[];
    try {
      const [v4, v6] = await Promise.all([
        family === 6 ? [] : records4or6(resolver, 4, hostname),
        family === 4 ? [] : records4or6(resolver, 6, hostname),
      ]);
      records = [...v4, ...v6];
      if (records.length === 0) {
        throw Object.assign(new Error(`DNS has no address for ${hostname}`), { code: 'ENODATA' });
      }
      endpoints = distinct(records.map((record) => this.address(record.address)));
    } catch (error: unknown) {
      if (this.closed) return;
      this.failures++;
      sink.failed(error);
      this.schedule(sink, Math.min(maxTtlMs, minTtlMs * 2 ** (this.failures - 1)));
      return;
    }
    if (this.closed) return;
    this.failures = 0;
    sink.update(endpoints);
    const ttlMs = Math.min(...records.map((record) => record.ttl)) * 1_000;
    this.schedule(sink, Math.min(maxTtlMs, Math.max(minTtlMs, ttlMs)));
  }

  private address(ip: string): EndpointAddress {
    if (isIP(ip) === 0) {
      throw new TypeError(`expected the resolver to answer IP addresses, got ${describeValue(ip)}`);
    }
    const { protocol, port, prefix } = this.settings;
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const origin = new URL(`${protocol}//${host}:${port}`).origin;
    return { url: origin + prefix, origin };
  }

  private schedule(sink: EndpointSink, ms: number): void {
    this.timer = unrefTimer(this.clock, () => void this.read(sink), ms);
  }
}

/** The records of one family; none when the name has none of that family. */
async function records4or6(
  resolver: DnsResolver,
  family: 4 | 6,
  hostname: string,
): Promise<DnsRecord[]> {
  try {
    const records =
      family === 4
        ? await resolver.resolve4(hostname, { ttl: true })
        : await resolver.resolve6(hostname, { ttl: true });
    return Array.isArray(records) ? records.filter(isRecord) : [];
  } catch (error: unknown) {
    if (NO_RECORDS.has((error as { code?: unknown } | null)?.code as string)) return [];
    throw error;
  }
}

/** A record as a resolver of the caller's may shape it: checked, since it says where calls go. */
function isRecord(value: unknown): value is DnsRecord {
  const record = value as Partial<DnsRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.address === 'string' &&
    typeof record.ttl === 'number' &&
    record.ttl >= 0
  );
}
