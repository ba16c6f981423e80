import type { PolicyEvent, PolicyEventType, TelemetryListener } from '@bulwark/core';
import { type FaultServer, type FaultServerOptions, startFaultServer } from '@bulwark/testing';
import { afterEach } from 'vitest';
import { type HttpClient, createHttpClient } from './http-client.js';
import type { HttpClientOptions } from './options.js';

/** Servers and clients made by a test, closed after it. */
const servers: FaultServer[] = [];
const clients: HttpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

export async function server(options?: FaultServerOptions): Promise<FaultServer> {
  const started = await startFaultServer(options);
  servers.push(started);
  return started;
}

export function client(options?: HttpClientOptions): HttpClient {
  const made = createHttpClient(options);
  clients.push(made);
  return made;
}

/** Every event a listener was told, and a way to wait for the next of a kind. */
export class Events {
  readonly all: PolicyEvent[] = [];
  private waiters: Array<{ type: PolicyEventType; resolve: (event: PolicyEvent) => void }> = [];

  readonly listener: TelemetryListener = (event) => {
    this.all.push(event);
    const ready = this.waiters.filter((w) => w.type === event.type);
    this.waiters = this.waiters.filter((w) => w.type !== event.type);
    for (const waiter of ready) waiter.resolve(event);
  };

  of<T extends PolicyEventType>(type: T): Array<Extract<PolicyEvent, { type: T }>> {
    return this.all.filter((e): e is Extract<PolicyEvent, { type: T }> => e.type === type);
  }

  /** The next event of `type` to arrive. */
  next<T extends PolicyEventType>(type: T): Promise<Extract<PolicyEvent, { type: T }>> {
    return new Promise((resolve) =>
      this.waiters.push({ type, resolve: resolve as (event: PolicyEvent) => void }),
    );
  }
}

/** Lets I/O and promise chains run, as many event-loop turns as `condition` needs (at most 10 000). */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never became true');
}
