import type { OutboxDatabase } from '../database.js';
import type { SqlClient } from '../sql-client.js';

/** The part of PGlite the adapter uses. */
export interface PgliteLike<Tx> extends SqlClient {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * An outbox database on PGlite (PostgreSQL in WebAssembly, in this process). PGlite is one
 * connection: a relay's batch transaction holds it while the batch is published, and the
 * application's transactions wait for it meanwhile.
 */
export function pgliteDatabase<Tx>(db: PgliteLike<Tx>): OutboxDatabase<Tx> {
  return {
    transaction: (fn) => db.transaction(fn),
    query: (text, params) => db.query(text, params),
    listen: (channel, onNotify) => db.listen(channel, () => onNotify()),
  };
}
