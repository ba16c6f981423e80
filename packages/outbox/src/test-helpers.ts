/**
 * Shared by this package's tests: an embedded PostgreSQL (PGlite) that starts in about a second,
 * transports that record what they were given, and bounded waits for real processes.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { OutboxMessage } from './message.js';
import type { PublishContext, Transport } from './transport.js';

/** PGlite's own manifest is not exported: it is found beside its entry point. */
const pgliteVersion = (
  JSON.parse(
    readFileSync(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')), 'utf8'),
  ) as { version: string }
).version;

let template: Promise<Blob> | undefined;

/**
 * The time limit of a hook that calls freshPglite(): the first call on a machine runs PGlite's
 * initdb, in WebAssembly, which can take longer than the shared 15 s on a loaded machine. Later
 * calls load the dump and take about a second.
 */
export const PGLITE_START_TIMEOUT_MS = 90_000;

/**
 * A fresh PGlite database. A new PGlite runs initdb in WebAssembly, which takes several seconds;
 * one initialised data directory, dumped once per PGlite version and loaded for each database,
 * takes about one.
 */
export async function freshPglite(): Promise<PGlite> {
  template ??= loadTemplate();
  const db = new PGlite({ loadDataDir: await template });
  await db.waitReady;
  return db;
}

async function loadTemplate(): Promise<Blob> {
  const path = join(tmpdir(), `bulwark-pglite-${pgliteVersion}.tar`);
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const db = new PGlite();
  await db.waitReady;
  const dump = await db.dumpDataDir('none');
  await db.close();
  // Written aside and renamed, so another test file never reads half of it.
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, path);
  return dump;
}

let tableCount = 0;
/** A table name no other test of this process uses, so tests can share one database. */
export function uniqueTable(prefix = 'outbox'): string {
  return `${prefix}_${process.pid}_${++tableCount}`;
}

/** Resolves once `check()` holds; rejects after `timeoutMs`. Polls a process, not behaviour. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A transport that records every publish and answers as `answer` says (resolve by default).
 * `publishing` counts publishes in flight, and `maxInFlightPerKey` the most of one key at once.
 */
export class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly published: OutboxMessage[] = [];
  readonly attempts: OutboxMessage[] = [];
  readonly contexts: PublishContext[] = [];
  maxInFlightPerKey = 0;
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly answer: (message: OutboxMessage) => Promise<void> | void = () => undefined,
  ) {}

  async publish(message: OutboxMessage, context: PublishContext): Promise<void> {
    this.attempts.push(message);
    this.contexts.push(context);
    const key = message.key ?? `(none) ${message.id}`;
    const now = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, now);
    this.maxInFlightPerKey = Math.max(this.maxInFlightPerKey, now);
    try {
      await this.answer(message);
      this.published.push(message);
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  payloads(): unknown[] {
    return this.published.map((message) => JSON.parse(message.payloadJson) as unknown);
  }
}
