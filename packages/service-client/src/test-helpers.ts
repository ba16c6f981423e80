import type { PolicyEvent } from '@bulwark/core';
import { type FaultServer, type FaultServerOptions, startFaultServer } from '@bulwark/testing';
import { afterEach } from 'vitest';
import type { ServiceClientEvent } from './events.js';
import type { ServiceClientOptions } from './options.js';
import { type ServiceClient, createServiceClient } from './service-client.js';

/** Servers and clients made by a test, closed after it (servers first: calls then end). */
const servers: Array<{ close(): Promise<void> }> = [];
const clients: ServiceClient[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** Fault servers standing for the replicas of one service. */
export async function replicas(
  count: number,
  options?: FaultServerOptions,
): Promise<FaultServer[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startFaultServer(options)));
  servers.push(...started);
  return started;
}

/** Closes `resource` after the test. */
export function closeAfter<T extends { close(): Promise<void> }>(resource: T): T {
  servers.push(resource);
  return resource;
}

export function client(options: ServiceClientOptions): ServiceClient {
  const made = createServiceClient(options);
  clients.push(made);
  return made;
}

/**
 * Seeded numbers in [0, 1) (mulberry32), so the balancer's random choices repeat from run to run.
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type AnyEvent = PolicyEvent | ServiceClientEvent;

/** Every event a listener was told. */
export class Events {
  readonly all: AnyEvent[] = [];
  readonly listener = (event: AnyEvent): void => {
    this.all.push(event);
  };

  of<T extends AnyEvent['type']>(type: T): Array<Extract<AnyEvent, { type: T }>> {
    return this.all.filter((e): e is Extract<AnyEvent, { type: T }> => e.type === type);
  }
}

/** How many requests each server received. */
export function hits(servers: readonly FaultServer[]): number[] {
  return servers.map((server) => server.requests.length);
}

/** Lets I/O and promise chains run, as many event-loop turns as `condition` needs. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never became true');
}
