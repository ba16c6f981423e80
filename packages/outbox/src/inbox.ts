import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { OutboxDatabase } from './database.js';
import { inboxQueries } from './queries.js';
import {
  DEFAULT_INBOX_TABLE,
  applySchema,
  checkTableName,
  inboxSchema,
  tableNames,
} from './schema.js';
import { type Queryable, sqlClientOf } from './sql-client.js';

/** The longest message id the inbox stores: outbox ids are 36 characters. */
export const MAX_MESSAGE_ID_LENGTH = 200;
const MAX_IDS = 10_000;

export interface InboxOptions<Tx = unknown> {
  /** The consumer's database (not necessarily the producer's). */
  database: OutboxDatabase<Tx>;
  /** Whose record this is: one inbox table serves several consumers. */
  name: string;
  /** The table, optionally schema-qualified. Default `bulwark_inbox`. */
  table?: string;
}

/**
 * The processed-message table of one consumer. Delivery is at least once; recording a message
 * in the same transaction as its effects makes the effects happen once: a redelivered message
 * finds its id there and is skipped, and a transaction that rolls back (a crash mid-handler)
 * takes the record with it, so the message is processed again.
 */
export interface Inbox<Tx = unknown> {
  readonly name: string;
  readonly table: string;
  readonly database: OutboxDatabase<Tx>;
  /**
   * Records the message as processed in `tx`; true when it was not before (do its effects now,
   * in `tx`), false when it was (skip it). A concurrent transaction recording the same id waits
   * for this one to end.
   */
  markProcessed(tx: Queryable, messageId: string): Promise<boolean>;
  /** The same for several messages in one statement: the ids recorded for the first time. */
  markProcessedMany(tx: Queryable, messageIds: readonly string[]): Promise<Set<string>>;
  /** Creates the table if it does not exist. */
  migrate(): Promise<void>;
  /** The SQL `migrate()` runs. */
  schemaSql(): string;
  /**
   * Forgets messages processed more than `olderThanMs` ago; resolves to how many. Keep them
   * longer than any redelivery can come late (the stream's retention, the outbox's backoff).
   */
  prune(options: { olderThanMs: number }): Promise<number>;
}

/** Message ids come from the network: checked before they are stored. */
function checkMessageId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_MESSAGE_ID_LENGTH) {
    throw new TypeError(
      `expected a message id of 1 to ${MAX_MESSAGE_ID_LENGTH} characters, got ${typeof id === 'string' ? `${id.length} characters` : describeValue(id)}`,
    );
  }
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) {
      throw new TypeError('expected a message id of printable ASCII characters');
    }
  }
}

export function createInbox<Tx>(options: InboxOptions<Tx>): Inbox<Tx> {
  checkOptionsObject('createInbox', options);
  checkKnownOptions('createInbox', options, ['database', 'name', 'table']);
  const { database, name, table = DEFAULT_INBOX_TABLE } = options;
  if (
    typeof database !== 'object' ||
    database === null ||
    typeof database.transaction !== 'function'
  ) {
    throw new TypeError(
      `expected database to be an OutboxDatabase (pgDatabase(pool), postgresDatabase(sql) or pgliteDatabase(db)), got ${describeValue(database)}`,
    );
  }
  checkString('name', name, 200);
  checkTableName('table', table);
  const names = tableNames(table);
  const queries = inboxQueries(names);

  const markProcessedMany = async (
    tx: Queryable,
    messageIds: readonly string[],
  ): Promise<Set<string>> => {
    const sql = sqlClientOf(tx, 'tx');
    if (messageIds.length > MAX_IDS) {
      throw new RangeError(`expected at most ${MAX_IDS} message ids, got ${messageIds.length}`);
    }
    for (const id of messageIds) checkMessageId(id);
    if (messageIds.length === 0) return new Set();
    const { rows } = await sql.query(queries.record, [name, JSON.stringify(messageIds)]);
    return new Set((rows as Array<{ message_id: string }>).map((row) => row.message_id));
  };

  return {
    name,
    table,
    database,
    markProcessedMany,
    async markProcessed(tx, messageId) {
      return (await markProcessedMany(tx, [messageId])).size === 1;
    },
    schemaSql: () => inboxSchema(names),
    migrate: () => applySchema(database, inboxSchema(names), table),
    async prune({ olderThanMs }) {
      checkInteger('olderThanMs', olderThanMs, 0);
      const before = new Date(Date.now() - olderThanMs).toISOString();
      const { rows } = await database.query(`${queries.prune} RETURNING 1`, [name, before]);
      return rows.length;
    },
  };
}
