import { parseArgs } from 'node:util';
import type { Pool as PgPool } from 'pg';
import { pgDatabase } from './adapters/pg.js';
import type { OutboxDatabase } from './database.js';
import type { DeadLetter } from './dead-letters.js';
import { createOutbox } from './outbox.js';
import { DEFAULT_TABLE } from './schema.js';

export const USAGE = `Usage: bulwark-outbox <command> [options]

Commands:
  dlq list                list dead letters (oldest first)
  dlq replay --id ID...   move dead letters back into the outbox (or --all)
  dlq drop --id ID...     delete dead letters for good (or --all)
  migrate                 create the outbox tables if they do not exist

Options:
  --database-url URL      PostgreSQL connection string (default: $BULWARK_OUTBOX_DATABASE_URL, then $DATABASE_URL)
  --table NAME            the outbox table (default: ${DEFAULT_TABLE})
  --topic TOPIC           only this topic's dead letters (list, replay --all, drop --all)
  --id ID                 a message id; repeat for several (replay, drop)
  --all                   every dead letter, or every one of --topic (replay, drop)
  --limit N               at most N dead letters (list; default 100)
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

async function connectWithPg(
  url: string,
): Promise<{ database: OutboxDatabase; close(): Promise<void> }> {
  let Pool: typeof PgPool;
  try {
    Pool = (await import('pg')).default.Pool;
  } catch {
    throw new Error('bulwark-outbox needs the pg package to reach the database: npm install pg');
  }
  const pool = new Pool({ connectionString: url, max: 2 });
  return { database: pgDatabase(pool), close: () => pool.end() };
}

function describeLetter(letter: DeadLetter): string {
  const key = letter.key === undefined ? '' : ` key=${JSON.stringify(letter.key)}`;
  const error = letter.lastError === undefined ? '' : `\n  last error: ${letter.lastError}`;
  return (
    `${letter.id} ${letter.topic}${key} attempts=${letter.attempts} ` +
    `dead at ${letter.deadAt.toISOString()}${error}\n`
  );
}

const OPTIONS = {
  'database-url': { type: 'string' },
  table: { type: 'string' },
  topic: { type: 'string' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  limit: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type CliValues = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
type Outbox = ReturnType<typeof createOutbox>;

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
    values['database-url'] ?? io.env.BULWARK_OUTBOX_DATABASE_URL ?? io.env.DATABASE_URL ?? '';
  if (url === '') {
    io.error(
      'no database: give --database-url, or set BULWARK_OUTBOX_DATABASE_URL or DATABASE_URL\n',
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
    const outbox = createOutbox({
      database: connection.database,
      ...(values.table === undefined ? {} : { table: values.table }),
    });
    return await runCommand(outbox, positionals, values, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    // Bad input (a malformed id, a limit out of range) reads as the option checks word it.
    io.error(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await connection.close();
  }
}

async function runCommand(
  outbox: Outbox,
  positionals: readonly string[],
  values: CliValues,
  io: CliIo,
): Promise<number> {
  const [command, sub] = positionals;
  if (command === 'migrate' && sub === undefined) {
    await outbox.migrate();
    io.write(`the tables of ${outbox.table} exist\n`);
    return 0;
  }
  if (command !== 'dlq' || positionals.length !== 2) throw new UsageError('unknown command');
  switch (sub) {
    case 'list':
      return listLetters(outbox, values, io);
    case 'replay':
    case 'drop':
      return replayOrDrop(outbox, sub, values, io);
    default:
      throw new UsageError('unknown command');
  }
}

async function listLetters(outbox: Outbox, values: CliValues, io: CliIo): Promise<number> {
  const topic = values.topic;
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const letters = await outbox.deadLetters.list({
    ...(topic === undefined ? {} : { topic }),
    ...(limit === undefined ? {} : { limit }),
    ...(values.after === undefined ? {} : { after: values.after }),
  });
  for (const letter of letters) {
    io.write(values.json === true ? `${JSON.stringify(letter)}\n` : describeLetter(letter));
  }
  if (values.json !== true) io.write(`${letters.length} dead letter(s)\n`);
  return 0;
}

async function replayOrDrop(
  outbox: Outbox,
  sub: 'replay' | 'drop',
  values: CliValues,
  io: CliIo,
): Promise<number> {
  const topic = values.topic;
  const ids = values.id ?? [];
  if (ids.length > 0 === (values.all === true)) {
    throw new UsageError(`dlq ${sub} takes --id (one or more) or --all, not both`);
  }
  if (ids.length > 0 && topic !== undefined) {
    throw new UsageError('--topic goes with --all, not with --id');
  }
  const filter = topic === undefined ? {} : { topic };
  const letters = outbox.deadLetters;
  const done =
    sub === 'replay'
      ? await (ids.length > 0 ? letters.replay(ids) : letters.replayAll(filter))
      : await (ids.length > 0 ? letters.drop(ids) : letters.dropAll(filter));
  for (const id of done) io.write(`${id}\n`);
  const verb = sub === 'replay' ? 'replayed' : 'dropped';
  io.write(`${done.length} dead letter(s) ${verb}\n`);
  const missing = ids.filter((id) => !done.includes(id.toLowerCase()));
  if (missing.length > 0) {
    io.error(`not found: ${missing.join(', ')}\n`);
    return 1;
  }
  return 0;
}
