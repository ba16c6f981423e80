import { describeValue } from '@bulwark/core/internal';
import { type OutboxDatabase, quoteIdentifier } from './database.js';
import { sqlClientOf } from './sql-client.js';

export const DEFAULT_TABLE = 'bulwark_outbox';
export const DEFAULT_INBOX_TABLE = 'bulwark_inbox';
/**
 * Short enough that every name derived from it (`_dead_letters_dead_at` is the longest suffix)
 * stays within PostgreSQL's 63 characters, which it would otherwise truncate without a word.
 */
const MAX_NAME_LENGTH = 40;
const NAME_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** A table's names: how SQL writes them, and the bare name its indexes are derived from. */
export interface TableNames {
  /** As given: `bulwark_outbox` or `app.bulwark_outbox`. Also the NOTIFY channel. */
  readonly name: string;
  /** Quoted and qualified, for statements. */
  readonly sql: string;
  /** The dead-letter table, quoted and qualified. */
  readonly deadLetters: string;
  /** The unqualified name, for index names (an index lives in its table's schema). */
  readonly base: string;
}

/** A lowercase SQL name, optionally schema-qualified: checked, because it is written into SQL. */
export function checkTableName(option: string, value: unknown): asserts value is string {
  const parts = typeof value === 'string' ? value.split('.') : [];
  const valid =
    parts.length >= 1 &&
    parts.length <= 2 &&
    parts.every((part) => part.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(part));
  if (!valid) {
    throw new (typeof value === 'string' ? RangeError : TypeError)(
      `expected ${option} to be a lowercase SQL name (a-z, 0-9, _; at most ${MAX_NAME_LENGTH} characters), ` +
        `optionally schema-qualified (app.${DEFAULT_TABLE}), got ${describeValue(value)}`,
    );
  }
}

function qualified(parts: readonly string[]): string {
  return parts.map(quoteIdentifier).join('.');
}

export function tableNames(name: string): TableNames {
  const parts = name.split('.');
  const base = parts[parts.length - 1]!;
  const schema = parts.slice(0, -1);
  return {
    name,
    sql: qualified(parts),
    deadLetters: qualified([...schema, `${base}_dead_letters`]),
    base,
  };
}

/**
 * The outbox's tables, idempotent (IF NOT EXISTS throughout), as `migrate()` runs it and as
 * sql/outbox.sql ships it for the default name.
 *
 * - `seq` orders rows: an identity column, so it is assigned at insert, after the enqueueing
 *   transaction holds its keys' locks (see queries.ts), and no cache makes two sessions' values
 *   interleave out of order.
 * - `payload` is the JSON text written at enqueue, kept byte for byte; `headers` a JSON object.
 * - `available_at` is when the row may be tried again after a failed attempt.
 */
export function outboxSchema(names: TableNames): string {
  const { sql, deadLetters, base } = names;
  return `CREATE TABLE IF NOT EXISTS ${sql} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id uuid NOT NULL,
  topic text NOT NULL,
  key text,
  payload text NOT NULL,
  headers text,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL DEFAULT '-infinity',
  last_error text,
  published_at timestamptz
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_pending`)}
  ON ${sql} (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_key_pending`)}
  ON ${sql} (key, seq) WHERE published_at IS NULL AND key IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_published`)}
  ON ${sql} (published_at) WHERE published_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${deadLetters} (
  id uuid PRIMARY KEY,
  seq bigint NOT NULL,
  topic text NOT NULL,
  key text,
  payload text NOT NULL,
  headers text,
  created_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  dead_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_dead_letters_dead_at`)}
  ON ${deadLetters} (dead_at);
`;
}

/**
 * The inbox's table, in the consumer's database: one row per message a consumer has processed,
 * written in the same transaction as the message's effects.
 */
export function inboxSchema(names: TableNames): string {
  const { sql, base } = names;
  return `CREATE TABLE IF NOT EXISTS ${sql} (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_processed_at`)}
  ON ${sql} (processed_at);
`;
}

/**
 * Runs a schema's statements in one transaction. Two processes migrating at once would race on
 * the catalog (IF NOT EXISTS is no lock); an advisory lock on the table's name makes the second
 * wait for the first.
 */
export async function applySchema(
  database: OutboxDatabase,
  schema: string,
  table: string,
): Promise<void> {
  const statements = schema
    .split(/;\n/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
  await database.transaction(async (tx) => {
    const sql = sqlClientOf(tx, 'the transaction');
    await sql.query('SELECT pg_advisory_xact_lock(hashtext($1::text))', [`${table} migrate`]);
    for (const statement of statements) await sql.query(statement);
  });
}
