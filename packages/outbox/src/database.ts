import { describeValue } from '@bulwark/core/internal';

/**
 * What the relay, the dead-letter API and the consumer's inbox need from a database: a
 * transaction on a connection of their own, single statements, and (optionally) notifications.
 * One small adapter per driver makes one: pgDatabase(), postgresDatabase(), pgliteDatabase().
 * `Tx` is the driver's own transaction object, handed to consumer handlers as it is.
 */
export interface OutboxDatabase<Tx = unknown> {
  /** Runs `fn` in a transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs one statement on its own (autocommit). */
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` until the returned function is called, and
   * `onError` if the listening connection is lost. Optional: without it the relay only polls.
   */
  listen?(
    channel: string,
    onNotify: () => void,
    onError: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
}

/** Double-quotes an identifier already checked to be a plain name (see schema.ts). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Checked where a database is handed in: createOutbox(), and the packages built on the outbox. */
export function checkDatabase(value: unknown): asserts value is OutboxDatabase {
  const database = value as Partial<OutboxDatabase> | null | undefined;
  if (
    typeof database !== 'object' ||
    database === null ||
    typeof database.transaction !== 'function' ||
    typeof database.query !== 'function'
  ) {
    throw new TypeError(
      'expected database to be an OutboxDatabase (pgDatabase(pool), postgresDatabase(sql) or ' +
        `pgliteDatabase(db)), got ${describeValue(value)}`,
    );
  }
}
