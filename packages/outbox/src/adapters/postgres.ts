import type { OutboxDatabase } from '../database.js';
import type { PostgresJsLike } from '../sql-client.js';

/** The part of porsager's `postgres()` the adapter uses. */
export interface PostgresSqlLike<Tx> extends PostgresJsLike {
  begin<T>(fn: (sql: Tx) => T | Promise<T>): Promise<unknown>;
  listen(
    channel: string,
    onNotify: (payload: string) => void,
  ): PromiseLike<{ unlisten(): Promise<void> }>;
}

/**
 * An outbox database on porsager's `postgres` (the `sql` from `postgres(url)`): transactions run
 * through `sql.begin()`, which consumer handlers get as `tx`; listening uses `sql.listen()`,
 * which reconnects by itself.
 */
export function postgresDatabase<Tx>(sql: PostgresSqlLike<Tx>): OutboxDatabase<Tx> {
  return {
    // begin() resolves to what the callback returned (its type unwraps arrays of promises,
    // which the outbox's callbacks never return).
    transaction: <T>(fn: (tx: Tx) => Promise<T>) => sql.begin(fn) as Promise<T>,
    query: async (text, params) => ({ rows: (await sql.unsafe(text, params)) as unknown[] }),
    async listen(channel, onNotify) {
      const subscription = await sql.listen(channel, () => onNotify());
      return () => subscription.unlisten();
    },
  };
}
