import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
} from '@bulwark/core/internal';
import { type OutboxDatabase, checkDatabase } from './database.js';
import { DeadLetters } from './dead-letters.js';
import { type OutboxMessageInput, toMessageRow } from './message.js';
import { type MetricsOptions, type OutboxMetrics, metricsFor } from './metrics.js';
import { type OutboxQueries, outboxQueries } from './queries.js';
import { Relay, type RelayOptions } from './relay.js';
import {
  DEFAULT_TABLE,
  type TableNames,
  applySchema,
  checkTableName,
  outboxSchema,
  tableNames,
} from './schema.js';
import { type Queryable, sqlClientOf } from './sql-client.js';
import { uuidv7 } from './uuidv7.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 262_144;
export const DEFAULT_MAX_KEY_LENGTH = 256;
/** Messages one enqueue() may write in its one statement. */
export const MAX_MESSAGES_PER_ENQUEUE = 10_000;
const MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;

const OUTBOX_OPTIONS = [
  'database',
  'table',
  'maxPayloadBytes',
  'maxKeyLength',
  'metrics',
  'clock',
] as const;

export interface OutboxOptions<Tx = unknown> {
  /** The database the relay, the dead-letter API and `migrate()` use: pgDatabase(), postgresDatabase(), pgliteDatabase(). */
  database: OutboxDatabase<Tx>;
  /** The table, optionally schema-qualified; dead letters go to `<table>_dead_letters`. Default `bulwark_outbox`. */
  table?: string;
  /** The largest payload, as JSON, in UTF-8 bytes. Default 262,144 (256 KiB). */
  maxPayloadBytes?: number;
  /** The longest key, in UTF-16 code units. Default 256. */
  maxKeyLength?: number;
  /** Registers the outbox's Prometheus metrics (relays included) in this registry. */
  metrics?: MetricsOptions;
  /** Stamps message ids (their first 48 bits are a time). Default: the system clock. */
  clock?: Clock;
}

/** The transactional outbox on one table. */
export interface Outbox {
  /** The table as given (also the NOTIFY channel and the metrics' `outbox` label). */
  readonly table: string;
  /**
   * Writes a message in the caller's transaction, which must commit for it to be published.
   * Resolves to the message id. Throws TypeError/RangeError for a bad message before writing.
   */
  enqueue(tx: Queryable, message: OutboxMessageInput): Promise<string>;
  /** Writes several messages in one statement; all of them are checked before any is written. */
  enqueue(tx: Queryable, messages: readonly OutboxMessageInput[]): Promise<string[]>;
  /** Creates the tables and indexes if they do not exist (the SQL of `schemaSql()`). */
  migrate(): Promise<void>;
  /** The SQL `migrate()` runs, to put in your own migrations instead. */
  schemaSql(): string;
  /** A relay that publishes this outbox's messages through `options.transport`. */
  relay(options: RelayOptions): Relay;
  /** Lists, replays and drops the messages that ran out of attempts. */
  readonly deadLetters: DeadLetters;
}

class PostgresOutbox<Tx> implements Outbox {
  readonly table: string;
  readonly deadLetters: DeadLetters;
  private readonly names: TableNames;
  private readonly queries: OutboxQueries;
  private readonly limits: { maxPayloadBytes: number; maxKeyLength: number };
  private readonly metrics: OutboxMetrics | undefined;

  constructor(
    private readonly database: OutboxDatabase<Tx>,
    table: string,
    maxPayloadBytes: number,
    maxKeyLength: number,
    metrics: OutboxMetrics | undefined,
    private readonly clock: Clock,
  ) {
    this.table = table;
    this.names = tableNames(table);
    this.queries = outboxQueries(this.names);
    this.limits = { maxPayloadBytes, maxKeyLength };
    this.metrics = metrics;
    this.deadLetters = new DeadLetters(database, this.queries);
  }

  enqueue(tx: Queryable, message: OutboxMessageInput): Promise<string>;
  enqueue(tx: Queryable, messages: readonly OutboxMessageInput[]): Promise<string[]>;
  async enqueue(
    tx: Queryable,
    input: OutboxMessageInput | readonly OutboxMessageInput[],
  ): Promise<string | string[]> {
    const sql = sqlClientOf(tx, 'tx');
    const many = Array.isArray(input);
    const inputs: readonly unknown[] = many ? input : [input];
    if (inputs.length === 0) return [];
    if (inputs.length > MAX_MESSAGES_PER_ENQUEUE) {
      throw new RangeError(
        `expected at most ${MAX_MESSAGES_PER_ENQUEUE} messages per enqueue(), got ${inputs.length}`,
      );
    }
    const now = this.clock.dateNow();
    const ids: string[] = [];
    const rows = inputs.map((item) => {
      const row = toMessageRow(item, this.limits);
      const id = uuidv7(now);
      ids.push(id);
      return { id, ...row };
    });
    await sql.query(this.queries.enqueue, [JSON.stringify(rows)]);
    return many ? ids : ids[0]!;
  }

  migrate(): Promise<void> {
    return applySchema(this.database, this.schemaSql(), this.table);
  }

  schemaSql(): string {
    return outboxSchema(this.names);
  }

  relay(options: RelayOptions): Relay {
    return new Relay(
      {
        name: this.table,
        database: this.database,
        queries: this.queries,
        metrics: this.metrics,
      },
      options,
    );
  }
}

/**
 * The transactional outbox: messages written in the application's own PostgreSQL transaction,
 * published by relays after it commits, at least once, in commit order per key.
 */
export function createOutbox<Tx>(options: OutboxOptions<Tx>): Outbox {
  checkOptionsObject('createOutbox', options);
  checkKnownOptions('createOutbox', options, OUTBOX_OPTIONS);
  const {
    database,
    table = DEFAULT_TABLE,
    maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES,
    maxKeyLength = DEFAULT_MAX_KEY_LENGTH,
    metrics,
    clock = systemClock,
  } = options;
  checkDatabase(database);
  checkTableName('table', table);
  checkInteger('maxPayloadBytes', maxPayloadBytes, 2, MAX_PAYLOAD_LIMIT);
  checkInteger('maxKeyLength', maxKeyLength, 1, 10_000);
  checkClock(clock);
  return new PostgresOutbox(
    database,
    table,
    maxPayloadBytes,
    maxKeyLength,
    metricsFor(metrics, 'createOutbox'),
    clock,
  );
}
