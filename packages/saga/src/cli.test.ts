import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, USAGE, runCli } from './cli.js';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  pgliteDatabase,
  startPglite,
  uniqueTable,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
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

/** A table with one dead saga (its compensation fails) and one completed. */
async function deadSaga(table: string) {
  let compensationWorks = false;
  const saga = defineSaga({
    name: 'order',
    compensationRetry: { maxAttempts: 1 },
    steps: [
      {
        name: 'reserve',
        action: () => 'r',
        compensate: () => {
          if (!compensationWorks) throw new Error('stock service gone');
        },
      },
      {
        name: 'charge',
        action: (data: { input: unknown }) => {
          if (data.input === 'decline') throw new Error('declined');
          return 'c';
        },
        compensate: () => undefined,
        retry: { maxAttempts: 1 },
      },
    ],
  });
  const orchestrator = createOrchestrator({ database: pgliteDatabase(db), sagas: [saga], table });
  await orchestrator.migrate();
  await orchestrator.run(saga, 'decline', { id: 'dead-1' });
  await orchestrator.run(saga, 'ok', { id: 'done-1' });
  return {
    orchestrator,
    fixCompensation: () => {
      compensationWorks = true;
    },
  };
}

describe('bulwark-saga', () => {
  it('lists dead sagas with each step’s status and last failure', async () => {
    const table = uniqueTable();
    await deadSaga(table);
    const { code, out, err } = await cli(['dead', 'list', '--table', table]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const [first, ...rest] = out.split('\n');
    expect(first).toMatch(/^dead-1 order dead since \d{4}-\d\d-\d\dT\S+Z$/);
    expect(rest).toEqual([
      '  error: compensation of step reserve failed: Error: stock service gone (after Error: declined)',
      '  reserve: compensation_failed, 1 attempt(s), 1 compensation attempt(s); last failure (compensate 1): Error: stock service gone',
      '  charge: compensated, 1 attempt(s), 1 compensation attempt(s); last failure (action 1): Error: declined',
      '1 dead saga(s)',
      '',
    ]);
    const json = await cli(['dead', 'list', '--table', table, '--json']);
    expect(
      json.out
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id),
    ).toEqual(['dead-1']);
  });

  it('takes a dead saga up again, and an orchestrator finishes it', async () => {
    const table = uniqueTable();
    const { orchestrator, fixCompensation } = await deadSaga(table);
    fixCompensation();
    const retried = await cli(['dead', 'retry', '--table', table, '--id', 'dead-1']);
    expect(retried).toMatchObject({ code: 0, out: 'dead-1\n1 saga(s) taken up again\n', err: '' });
    expect(await orchestrator.claim()).toBe(1);
    await expect.poll(async () => (await orchestrator.get('dead-1'))?.status).toBe('compensated');
  });

  it('resolves dead sagas, and says which ids were not dead', async () => {
    const table = uniqueTable();
    const { orchestrator } = await deadSaga(table);
    const resolved = await cli([
      'dead',
      'resolve',
      '--table',
      table,
      '--id',
      'dead-1',
      '--id',
      'done-1',
      '--id',
      'nope',
    ]);
    expect(resolved).toMatchObject({
      code: 1,
      out: 'dead-1\n1 saga(s) resolved\n',
      err: 'not dead, or not found: done-1, nope\n',
    });
    expect((await orchestrator.get('dead-1'))?.status).toBe('resolved');
  });

  it('shows a saga as JSON, and migrates', async () => {
    const table = uniqueTable();
    expect(await cli(['migrate', '--table', table])).toMatchObject({
      code: 0,
      out: `the tables of ${table} exist\n`,
    });
    await deadSaga(table);
    const shown = await cli(['show', '--table', table, '--id', 'done-1']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({
      id: 'done-1',
      status: 'completed',
      steps: [{ output: 'r' }, { output: 'c' }],
    });
    expect(await cli(['show', '--table', table, '--id', 'nope'])).toMatchObject({
      code: 1,
      err: 'not found: nope\n',
    });
  });

  it('finds the database in --database-url, then BULWARK_SAGA_DATABASE_URL, then DATABASE_URL', async () => {
    const table = uniqueTable();
    await cli(['migrate', '--table', table]);
    const env = { BULWARK_SAGA_DATABASE_URL: 'postgres://saga', DATABASE_URL: 'postgres://app' };
    expect(
      (await cli(['dead', 'list', '--table', table, '--database-url', 'postgres://flag'], env))
        .urls,
    ).toEqual(['postgres://flag']);
    expect((await cli(['dead', 'list', '--table', table], env)).urls).toEqual(['postgres://saga']);
    expect(
      (await cli(['dead', 'list', '--table', table], { DATABASE_URL: 'postgres://app' })).urls,
    ).toEqual(['postgres://app']);
    expect(await cli(['dead', 'list'], {})).toMatchObject({
      code: 2,
      err: 'no database: give --database-url, or set BULWARK_SAGA_DATABASE_URL or DATABASE_URL\n',
    });
  });

  it('answers bad usage with exit code 2 and the usage text', async () => {
    expect(await cli(['--help'])).toMatchObject({ code: 0, out: USAGE });
    expect(await cli([])).toMatchObject({ code: 2, err: USAGE });
    expect(await cli(['dead', 'explode'])).toMatchObject({
      code: 2,
      err: `unknown command\n\n${USAGE}`,
    });
    expect(await cli(['dead', 'retry'])).toMatchObject({
      code: 2,
      err: `dead retry takes --id (one or more)\n\n${USAGE}`,
    });
    expect((await cli(['dead', 'list', '--bogus'])).code).toBe(2);
    expect(await cli(['dead', 'list', '--table', 'Robert; DROP'])).toMatchObject({
      code: 1,
      err: expect.stringContaining('expected --table to be a lowercase SQL name') as unknown,
    });
  });
});
