/**
 * The outbox as a fleet runs it: relay processes side by side against one real PostgreSQL,
 * publishing through the webhook transport to a real HTTP server, and processes killed with
 * SIGKILL at the worst moments. The processes run fleet/process.mjs on the built package.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type TestPostgres, startPostgres } from '@bulwark/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgDatabase } from '../adapters/pg.js';
import { type Outbox, createOutbox } from '../outbox.js';
import { RecordingTransport, uniqueTable, waitFor } from '../test-helpers.js';

const SCRIPT = fileURLToPath(new URL('./process.mjs', import.meta.url));

let postgres: TestPostgres;
let pool: pg.Pool;
beforeAll(async () => {
  postgres = await startPostgres();
  pool = new pg.Pool({ connectionString: postgres.url, max: 6 });
  pool.on('error', () => undefined);
});
afterAll(async () => {
  await pool.end();
  await postgres.close();
});

const children: ChildProcess[] = [];
let server: Server | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

/** Starts fleet/process.mjs; resolves with it once it printed a line matching `ready`. */
async function startProcess(
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, DATABASE_URL: postgres.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((text) => ready.test(text));
      if (line !== undefined) resolve({ child, line });
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`fleet process exited (${code ?? signal}) before ready:\n${stderr}`)),
    );
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function newOutbox(): Promise<{ outbox: Outbox; table: string }> {
  const table = uniqueTable('fleet');
  const outbox = createOutbox({ database: pgDatabase(pool), table });
  await outbox.migrate();
  return { outbox, table };
}

async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

interface Delivery {
  id: string;
  key: string;
  n: number;
  relay: string;
}

/** A webhook receiver that records deliveries, and counts any id delivered while in flight. */
async function startReceiver(): Promise<{
  url: string;
  deliveries: Delivery[];
  overlaps: () => number;
}> {
  const deliveries: Delivery[] = [];
  const inFlight = new Set<string>();
  let overlaps = 0;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // The Idempotency-Key is a structured-field string: the id in quotes.
      const id = String(req.headers['idempotency-key']).replaceAll('"', '');
      if (inFlight.has(id)) overlaps++;
      inFlight.add(id);
      const { key, n } = JSON.parse(Buffer.concat(chunks).toString()) as { key: string; n: number };
      deliveries.push({ id, key, n, relay: String(req.headers['x-relay']) });
      // Answering on a later turn keeps each delivery in flight long enough to be overlapped.
      setImmediate(() => {
        inFlight.delete(id);
        res.writeHead(204).end();
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events`, deliveries, overlaps: () => overlaps };
}

async function pending(table: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

describe('relay processes side by side', () => {
  const KEYS = 8;
  const ROUNDS = 25;

  it.each([2, 4])(
    '%i relays publish every message exactly once, each key in commit order',
    async (relays) => {
      const { outbox, table } = await newOutbox();
      const receiver = await startReceiver();
      await Promise.all(
        Array.from({ length: relays }, (_, r) =>
          startProcess(
            { MODE: 'relay', TABLE: table, TARGET: receiver.url, RELAY_NAME: `r${r}` },
            /^ready$/,
          ),
        ),
      );

      // Commits while the relays run: each round one message per key, in its own transaction.
      const ids = new Set<string>();
      for (let n = 0; n < ROUNDS; n++) {
        const batch = await inTransaction((client) =>
          outbox.enqueue(
            client,
            Array.from({ length: KEYS }, (_, k) => ({
              topic: 'fleet',
              key: `key-${k}`,
              payload: { key: `key-${k}`, n },
            })),
          ),
        );
        for (const id of batch) ids.add(id);
      }

      const total = KEYS * ROUNDS;
      await waitFor(() => receiver.deliveries.length >= total, `${total} deliveries`, 60_000);
      await waitFor(async () => (await pending(table)) === 0, 'an empty outbox', 30_000);

      expect(receiver.deliveries.length).toBe(total);
      expect(new Set(receiver.deliveries.map((d) => d.id))).toEqual(ids);
      expect(receiver.overlaps()).toBe(0);
      for (let k = 0; k < KEYS; k++) {
        const order = receiver.deliveries.filter((d) => d.key === `key-${k}`).map((d) => d.n);
        expect(order).toEqual(Array.from({ length: ROUNDS }, (_, n) => n));
      }
      // The work was shared, not done by one relay while the others watched.
      expect(new Set(receiver.deliveries.map((d) => d.relay)).size).toBeGreaterThan(1);
    },
    120_000,
  );
});

describe('crash safety', () => {
  it('publishes what a process committed before it was SIGKILLed, with no relay running then', async () => {
    const { outbox, table } = await newOutbox();
    const { child, line } = await startProcess(
      { MODE: 'enqueue', TABLE: table, ID_COUNT: '5' },
      /^committed /,
    );
    await kill(child);
    const committed = line.slice('committed '.length).split(',');
    expect(committed).toHaveLength(5);

    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, listen: false });
    await waitFor(async () => {
      await relay.runOnce();
      return transport.published.length === 5;
    }, 'the committed messages');
    expect(transport.published.map((m) => m.id).sort()).toEqual([...committed].sort());
    expect(await pending(table)).toBe(0);
  }, 60_000);

  it('publishes again what a relay SIGKILLed mid-publish had claimed: its claim ends with its connection', async () => {
    const { outbox, table } = await newOutbox();
    const ids = await inTransaction((client) =>
      outbox.enqueue(client, [
        { topic: 'fleet', key: 'a', payload: { n: 0 } },
        { topic: 'fleet', key: 'b', payload: { n: 1 } },
      ]),
    );
    const { child } = await startProcess({ MODE: 'relay-hang', TABLE: table }, /^handed /);

    // While the hung relay holds its claim, another relay finds nothing to publish.
    const transport = new RecordingTransport();
    const relay = outbox.relay({ transport, listen: false });
    expect((await relay.runOnce()).claimed).toBe(0);

    await kill(child);
    await waitFor(async () => {
      await relay.runOnce();
      return transport.published.length === 2;
    }, 'the claimed messages, published by another relay');
    expect(transport.published.map((m) => m.id)).toEqual(ids);
    expect(transport.published.map((m) => m.attempt)).toEqual([1, 1]);
    expect(await pending(table)).toBe(0);
  }, 60_000);
});
