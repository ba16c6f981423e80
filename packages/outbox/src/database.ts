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
