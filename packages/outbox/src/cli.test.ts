import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { startPostgres } from '@bulwark/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgDatabase } from './adapters/pg.js';
import { pgliteDatabase } from './adapters/pglite.js';
import { type CliIo, USAGE, runCli } from './cli.js';
import { createOutbox } from './outbox.js';
import {
  PGLITE_START_TIMEOUT_MS,
  RecordingTransport,
  freshPglite,
  uniqueTable,
} from './test-helpers.js';

const run = promisify(execFile);

let db: PGlite;
beforeAll(async () => {
  db = await freshPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

/** Runs the CLI against the test's PGlite, capturing what it writes. */
async function cli(args: string[], env: Record<string, string> = { DATABASE_URL: 'pglite:' }) {
  let out = '';
  let err = '';
  const urls: string[] = [];
  const io: CliIo = {
    env,
    write: (text) => (out += text),
    error: (text) => (err += text),
    connect: (url) => {
      urls.push(url);
      return Promise.resolve({ database: pgliteDatabase(db), close: () => Promise.resolve() });
    },
  };
  const code = await runCli(args, io);
  return { code, out, err, urls };
}

async function deadLetters(table: string, count: number): Promise<string[]> {
  const outbox = createOutbox({ database: pgliteDatabase(db), table });
  await outbox.migrate();
  const ids = await db.transaction((tx) =>
    outbox.enqueue(
      tx,
      Array.from({ length: count }, (_, i) => ({
        topic: i % 2 === 0 ? 'even' : 'odd',
        payload: i,
      })),
    ),
  );
  const failing = new RecordingTransport(() => {
    throw new Error('receiver down');
  });
  await outbox.relay({ transport: failing, maxAttempts: 1 }).runOnce();
  return ids;
}

describe('bulwark-outbox', () => {
  it('lists dead letters, as text or as JSON lines', async () => {
    const table = uniqueTable();
    const ids = await deadLetters(table, 2);
    const text = await cli(['dlq', 'list', '--table', table]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`${ids[0]} even attempts=1 dead at `);
    expect(text.out).toContain('  last error: Error: receiver down\n');
    expect(text.out).toMatch(/2 dead letter\(s\)\n$/);
    const json = await cli(['dlq', 'list', '--table', table, '--json', '--topic', 'odd']);
    const lines = json.out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string });
    expect(lines.map((line) => line.id)).toEqual([ids[1]]);
  });

  it('replays dead letters by id, and then they are published', async () => {
    const table = uniqueTable();
    const ids = await deadLetters(table, 3);
    const result = await cli(['dlq', 'replay', '--table', table, '--id', ids[0]!, '--id', ids[2]!]);
    expect(result).toMatchObject({
      code: 0,
      out: `${ids[0]}\n${ids[2]}\n2 dead letter(s) replayed\n`,
    });
    const transport = new RecordingTransport();
    await createOutbox({ database: pgliteDatabase(db), table })
      .relay({ transport })
      .runOnce();
    expect(transport.published.map((m) => m.id)).toEqual([ids[0], ids[2]]);
  });

  it('drops all the dead letters of a topic', async () => {
    const table = uniqueTable();
    const ids = await deadLetters(table, 4);
    const result = await cli(['dlq', 'drop', '--table', table, '--all', '--topic', 'even']);
    expect(result.code).toBe(0);
    expect(result.out).toBe(`${ids[0]}\n${ids[2]}\n2 dead letter(s) dropped\n`);
    expect((await cli(['dlq', 'list', '--table', table])).out).toMatch(/2 dead letter\(s\)\n$/);
  });

  it('fails, naming them, when ids were not found', async () => {
    const table = uniqueTable();
    await deadLetters(table, 1);
    const unknown = '0190f5a8-0000-7000-8000-000000000000';
    const result = await cli(['dlq', 'drop', '--table', table, '--id', unknown]);
    expect(result).toMatchObject({ code: 1, err: `not found: ${unknown}\n` });
  });

  it('takes the connection string from --database-url, then BULWARK_OUTBOX_DATABASE_URL, then DATABASE_URL', async () => {
    const table = uniqueTable();
    await deadLetters(table, 0);
    const env = { BULWARK_OUTBOX_DATABASE_URL: 'postgres://a', DATABASE_URL: 'postgres://b' };
    expect((await cli(['dlq', 'list', '--table', table], env)).urls).toEqual(['postgres://a']);
    expect(
      (await cli(['dlq', 'list', '--table', table, '--database-url', 'postgres://c'], env)).urls,
    ).toEqual(['postgres://c']);
    expect(
      (await cli(['dlq', 'list', '--table', table], { DATABASE_URL: 'postgres://b' })).urls,
    ).toEqual(['postgres://b']);
  });

  it.each([
    [[], 2, USAGE],
    [['dlq'], 2, 'unknown command'],
    [['dlq', 'purge'], 2, 'unknown command'],
    [['dlq', 'list', '--bogus'], 2, "Unknown option '--bogus'"],
    [['dlq', 'replay'], 2, 'dlq replay takes --id (one or more) or --all, not both'],
    [
      ['dlq', 'drop', '--all', '--id', 'x'],
      2,
      'dlq drop takes --id (one or more) or --all, not both',
    ],
    [['dlq', 'drop', '--id', 'not-a-uuid'], 1, 'expected every id to be a message id (a UUID)'],
    [['dlq', 'list', '--limit', 'lots'], 1, 'expected limit to be an integer'],
    [
      ['dlq', 'list', '--table', 'Robert; DROP TABLE students'],
      1,
      'expected table to be a lowercase SQL name',
    ],
  ])('refuses %j with exit code %i', async (args, code, text) => {
    const result = await cli(args);
    expect(result.code).toBe(code);
    expect(result.err).toContain(text);
  });

  it('asks for a database when none is given', async () => {
    expect(await cli(['dlq', 'list'], {})).toMatchObject({
      code: 2,
      err: 'no database: give --database-url, or set BULWARK_OUTBOX_DATABASE_URL or DATABASE_URL\n',
    });
  });

  it('prints its usage with --help', async () => {
    expect(await cli(['--help'])).toMatchObject({ code: 0, out: USAGE });
  });
});

describe('the bulwark-outbox command against a real PostgreSQL', () => {
  it('migrates, then lists and replays dead letters through pg, started as package.json names it', async () => {
    const server = await startPostgres();
    const pool = new pg.Pool({ connectionString: server.url });
    // The server's shutdown reaches clients still closing as an error: expected here.
    pool.on('error', () => undefined);
    try {
      // The command npx runs is package.json's bin entry: start it from there.
      const manifest = JSON.parse(
        await readFile(new URL('../package.json', import.meta.url), 'utf8'),
      ) as { bin: Record<string, string> };
      const bin = fileURLToPath(new URL(`../${manifest.bin['bulwark-outbox']}`, import.meta.url));
      const env = { ...process.env, BULWARK_OUTBOX_DATABASE_URL: server.url };
      expect((await run(process.execPath, [bin, 'migrate'], { env })).stdout).toBe(
        'the tables of bulwark_outbox exist\n',
      );
      const outbox = createOutbox({ database: pgDatabase(pool) });
      const client = await pool.connect();
      await client.query('BEGIN');
      const id = await outbox.enqueue(client, { topic: 'orders', payload: { n: 1 } });
      await client.query('COMMIT');
      client.release();
      const failing = new RecordingTransport(() => {
        throw new Error('receiver down');
      });
      await outbox.relay({ transport: failing, maxAttempts: 1 }).runOnce();

      const listed = await run(process.execPath, [bin, 'dlq', 'list', '--json'], { env });
      expect(JSON.parse(listed.stdout)).toMatchObject({
        id,
        topic: 'orders',
        payloadJson: '{"n":1}',
      });
      const replayed = await run(process.execPath, [bin, 'dlq', 'replay', '--all'], { env });
      expect(replayed.stdout).toBe(`${id}\n1 dead letter(s) replayed\n`);
      expect((await outbox.deadLetters.list()).length).toBe(0);
    } finally {
      await pool.end();
      await server.close();
    }
  });
});
