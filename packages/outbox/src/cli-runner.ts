import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Pool as PgPool } from 'pg';
import { pgDatabase } from './adapters/pg.js';
import type { OutboxDatabase } from './database.js';

/** Where a command-line tool writes, and how it reaches the database: injectable, for tests. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  write(text: string): void;
  error(text: string): void;
  /** Opens the database at `url`; the default loads `pg` (an optional peer dependency). */
  connect?(url: string): Promise<{ database: OutboxDatabase; close(): Promise<void> }>;
}

/** A command used wrongly: the tool prints the message and its usage, and exits with 2. */
export class CliUsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed options of a tool whose options are `O`. */
export type CliValues<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>['values'];

/** One of Bulwark's database tools (bulwark-outbox, bulwark-saga): what differs between them. */
export interface DatabaseCli<O extends Options> {
  /** The command's name, for the message when `pg` is missing. */
  readonly program: string;
  readonly usage: string;
  /** Must include `database-url` (a string) and `help` (a boolean). */
  readonly options: O;
  /** The environment variable read before `DATABASE_URL`. */
  readonly urlVariable: string;
  /** Runs the command on an open database; resolves to the exit code. */
  run(
    database: OutboxDatabase,
    positionals: readonly string[],
    values: CliValues<O>,
  ): Promise<number>;
}

/**
 * Parses, connects, runs and closes, the same way for every tool: exit code 0 done, 1 failed
 * (the database, or input the option checks refused), 2 bad usage (with the usage text).
 */
export async function runDatabaseCli<O extends Options>(
  cli: DatabaseCli<O>,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: cli.options,
    });
  } catch (error) {
    io.error(`${(error as Error).message}\n\n${cli.usage}`);
    return 2;
  }
  const values = parsed.values;
  const common = values as { 'database-url'?: string; help?: boolean };
  if (common.help === true) {
    io.write(cli.usage);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    io.error(cli.usage);
    return 2;
  }
  const url = common['database-url'] ?? io.env[cli.urlVariable] ?? io.env.DATABASE_URL ?? '';
  if (url === '') {
    io.error(`no database: give --database-url, or set ${cli.urlVariable} or DATABASE_URL\n`);
    return 2;
  }
  let connection;
  try {
    connection = await (io.connect ?? ((target: string) => connectWithPg(cli.program, target)))(
      url,
    );
  } catch (error) {
    io.error(`${(error as Error).message}\n`);
    return 1;
  }
  try {
    return await cli.run(connection.database, parsed.positionals, values);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.error(`${error.message}\n\n${cli.usage}`);
      return 2;
    }
    // Bad input (a malformed id, a limit out of range) reads as the option checks word it.
    io.error(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await connection.close();
  }
}

async function connectWithPg(
  program: string,
  url: string,
): Promise<{ database: OutboxDatabase; close(): Promise<void> }> {
  let Pool: typeof PgPool;
  try {
    Pool = (await import('pg')).default.Pool;
  } catch {
    throw new Error(`${program} needs the pg package to reach the database: npm install pg`);
  }
  const pool = new Pool({ connectionString: url, max: 2 });
  return { database: pgDatabase(pool), close: () => pool.end() };
}
