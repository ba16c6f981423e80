import { parseArgs } from 'node:util';
import { systemClock } from '@bulwark/core';
import { type OutboxDatabase, pgDatabase } from '@bulwark/outbox';
import { applySchema, checkTableName } from '@bulwark/outbox/internal';
import type { Pool as PgPool } from 'pg';
import { isSagaNotFoundError } from './errors.js';
import { DEFAULT_TABLE, sagaQueries, sagaSchema, sagaTableNames } from './schema.js';
import { type SagaState, SagaStates } from './states.js';

export const USAGE = `Usage: bulwark-saga <command> [options]

Commands:
  dead list               list dead sagas, with each step's status and failures
  dead retry --id ID...   take dead sagas up again (a running orchestrator resumes them)
  dead resolve --id ID... mark dead sagas resolved: put right by hand
  show --id ID...         one saga's state as JSON
  migrate                 create the saga tables if they do not exist

Options:
  --database-url URL      PostgreSQL connection string (default: $BULWARK_SAGA_DATABASE_URL, then $DATABASE_URL)
  --table NAME            the saga table (default: ${DEFAULT_TABLE})
  --id ID                 a saga id; repeat for several (retry, resolve, show)
  --limit N               at most N sagas (list; default 100)
  --after ID              the page after this id (list)
  --json                  one JSON object per line (list)
  -h, --help              this text
`;

/** Where the CLI writes, and how it reaches the database: injectable, for tests. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  write(text: string): void;
  error(text: string): void;
  /** Opens the database at `url`; the default loads `pg` (an optional peer dependency). */
  connect?(url: string): Promise<{ database: OutboxDatabase; close(): Promise<void> }>;
}

class UsageError extends Error {}

const OPTIONS = {
  'database-url': { type: 'string' },
  table: { type: 'string' },
  id: { type: 'string', multiple: true },
  limit: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type CliValues = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

async function connectWithPg(
  url: string,
): Promise<{ database: OutboxDatabase; close(): Promise<void> }> {
  let Pool: typeof PgPool;
  try {
    Pool = (await import('pg')).default.Pool;
  } catch {
    throw new Error('bulwark-saga needs the pg package to reach the database: npm install pg');
  }
  const pool = new Pool({ connectionString: url, max: 2 });
  return { database: pgDatabase(pool), close: () => pool.end() };
}

/** A dead saga for a person: where each step stands, and its latest failure. */
function describeSaga(saga: SagaState): string {
  const lines = [`${saga.id} ${saga.name} ${saga.status} since ${saga.updatedAt}`];
  if (saga.error !== null) lines.push(`  error: ${saga.error}`);
  for (const step of saga.steps) {
    const last = step.errors[step.errors.length - 1];
    lines.push(
      `  ${step.name}: ${step.status}, ${step.attempts} attempt(s), ${step.compensationAttempts} compensation attempt(s)` +
        (last === undefined ? '' : `; last failure (${last.phase} ${last.attempt}): ${last.error}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs one command; resolves to the exit code (0 done, 1 failed, 2 bad usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    io.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    io.error(USAGE);
    return 2;
  }
  const url =
    values['database-url'] ?? io.env.BULWARK_SAGA_DATABASE_URL ?? io.env.DATABASE_URL ?? '';
  if (url === '') {
    io.error(
      'no database: give --database-url, or set BULWARK_SAGA_DATABASE_URL or DATABASE_URL\n',
    );
    return 2;
  }
  let connection;
  try {
    connection = await (io.connect ?? connectWithPg)(url);
  } catch (error) {
    io.error(`${(error as Error).message}\n`);
    return 1;
  }
  try {
    const table = values.table ?? DEFAULT_TABLE;
    checkTableName('--table', table);
    return await runCommand(connection.database, table, positionals, values, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.error(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await connection.close();
  }
}

async function runCommand(
  database: OutboxDatabase,
  table: string,
  positionals: readonly string[],
  values: CliValues,
  io: CliIo,
): Promise<number> {
  const names = sagaTableNames(table);
  const states = new SagaStates(database, sagaQueries(names), systemClock);
  const [command, sub] = positionals;
  if (command === 'migrate' && sub === undefined) {
    await applySchema(database, sagaSchema(names), table);
    io.write(`the tables of ${table} exist\n`);
    return 0;
  }
  if (command === 'show' && sub === undefined) return show(states, values, io);
  if (command !== 'dead' || positionals.length !== 2) throw new UsageError('unknown command');
  switch (sub) {
    case 'list':
      return list(states, values, io);
    case 'retry':
    case 'resolve':
      return retryOrResolve(states, sub, values, io);
    default:
      throw new UsageError('unknown command');
  }
}

async function list(states: SagaStates, values: CliValues, io: CliIo): Promise<number> {
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const sagas = await states.listDead({
    ...(limit === undefined ? {} : { limit }),
    ...(values.after === undefined ? {} : { after: values.after }),
  });
  for (const saga of sagas) {
    io.write(values.json === true ? `${JSON.stringify(saga)}\n` : describeSaga(saga));
  }
  if (values.json !== true) io.write(`${sagas.length} dead saga(s)\n`);
  return 0;
}

async function show(states: SagaStates, values: CliValues, io: CliIo): Promise<number> {
  const ids = values.id ?? [];
  if (ids.length === 0) throw new UsageError('show takes --id (one or more)');
  const missing: string[] = [];
  for (const id of ids) {
    const state = await states.get(id);
    if (state === undefined) missing.push(id);
    else io.write(`${JSON.stringify(state)}\n`);
  }
  if (missing.length > 0) {
    io.error(`not found: ${missing.join(', ')}\n`);
    return 1;
  }
  return 0;
}

async function retryOrResolve(
  states: SagaStates,
  sub: 'retry' | 'resolve',
  values: CliValues,
  io: CliIo,
): Promise<number> {
  const ids = values.id ?? [];
  if (ids.length === 0) throw new UsageError(`dead ${sub} takes --id (one or more)`);
  const missing: string[] = [];
  let done = 0;
  for (const id of ids) {
    try {
      await (sub === 'retry' ? states.retry(id) : states.resolve(id));
      io.write(`${id}\n`);
      done++;
    } catch (error) {
      if (!isSagaNotFoundError(error)) throw error;
      missing.push(id);
    }
  }
  io.write(`${done} saga(s) ${sub === 'retry' ? 'taken up again' : 'resolved'}\n`);
  if (missing.length > 0) {
    io.error(`not dead, or not found: ${missing.join(', ')}\n`);
    return 1;
  }
  return 0;
}
