import { systemClock } from '@bulwark/core';
import type { OutboxDatabase } from '@bulwark/outbox';
import {
  type CliIo,
  CliUsageError,
  type CliValues,
  type DatabaseCli,
  applySchema,
  checkTableName,
  runDatabaseCli,
} from '@bulwark/outbox/internal';
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

export type { CliIo };

const OPTIONS = {
  'database-url': { type: 'string' },
  table: { type: 'string' },
  id: { type: 'string', multiple: true },
  limit: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = CliValues<typeof OPTIONS>;

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
export function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const cli: DatabaseCli<typeof OPTIONS> = {
    program: 'bulwark-saga',
    usage: USAGE,
    options: OPTIONS,
    urlVariable: 'BULWARK_SAGA_DATABASE_URL',
    run: (database, positionals, values) => {
      const table = values.table ?? DEFAULT_TABLE;
      checkTableName('--table', table);
      return runCommand(database, table, positionals, values, io);
    },
  };
  return runDatabaseCli(cli, argv, io);
}

async function runCommand(
  database: OutboxDatabase,
  table: string,
  positionals: readonly string[],
  values: Values,
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
  if (command !== 'dead' || positionals.length !== 2) throw new CliUsageError('unknown command');
  switch (sub) {
    case 'list':
      return list(states, values, io);
    case 'retry':
    case 'resolve':
      return retryOrResolve(states, sub, values, io);
    default:
      throw new CliUsageError('unknown command');
  }
}

async function list(states: SagaStates, values: Values, io: CliIo): Promise<number> {
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

async function show(states: SagaStates, values: Values, io: CliIo): Promise<number> {
  const ids = values.id ?? [];
  if (ids.length === 0) throw new CliUsageError('show takes --id (one or more)');
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
  values: Values,
  io: CliIo,
): Promise<number> {
  const ids = values.id ?? [];
  if (ids.length === 0) throw new CliUsageError(`dead ${sub} takes --id (one or more)`);
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
