import {
  type CliIo,
  CliUsageError,
  type CliValues,
  type DatabaseCli,
  runDatabaseCli,
} from './cli-runner.js';
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

export type { CliIo };

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

type Values = CliValues<typeof OPTIONS>;
type Outbox = ReturnType<typeof createOutbox>;

/** Runs one command; resolves to the exit code (0 done, 1 failed, 2 bad usage). */
export function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const cli: DatabaseCli<typeof OPTIONS> = {
    program: 'bulwark-outbox',
    usage: USAGE,
    options: OPTIONS,
    urlVariable: 'BULWARK_OUTBOX_DATABASE_URL',
    run: (database, positionals, values) => {
      const outbox = createOutbox({
        database,
        ...(values.table === undefined ? {} : { table: values.table }),
      });
      return runCommand(outbox, positionals, values, io);
    },
  };
  return runDatabaseCli(cli, argv, io);
}

async function runCommand(
  outbox: Outbox,
  positionals: readonly string[],
  values: Values,
  io: CliIo,
): Promise<number> {
  const [command, sub] = positionals;
  if (command === 'migrate' && sub === undefined) {
    await outbox.migrate();
    io.write(`the tables of ${outbox.table} exist\n`);
    return 0;
  }
  if (command !== 'dlq' || positionals.length !== 2) throw new CliUsageError('unknown command');
  switch (sub) {
    case 'list':
      return listLetters(outbox, values, io);
    case 'replay':
    case 'drop':
      return replayOrDrop(outbox, sub, values, io);
    default:
      throw new CliUsageError('unknown command');
  }
}

async function listLetters(outbox: Outbox, values: Values, io: CliIo): Promise<number> {
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
  values: Values,
  io: CliIo,
): Promise<number> {
  const topic = values.topic;
  const ids = values.id ?? [];
  if (ids.length > 0 === (values.all === true)) {
    throw new CliUsageError(`dlq ${sub} takes --id (one or more) or --all, not both`);
  }
  if (ids.length > 0 && topic !== undefined) {
    throw new CliUsageError('--topic goes with --all, not with --id');
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
