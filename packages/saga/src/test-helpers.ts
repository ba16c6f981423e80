/** Shared by this package's tests: an embedded PostgreSQL, unique tables, bounded waits. */
import { PGlite } from '@electric-sql/pglite';
import { type OutboxDatabase, pgliteDatabase } from '@bulwark/outbox';

/** PGlite's initdb runs in WebAssembly: on a loaded machine it takes longer than the shared 15 s. */
export const PGLITE_START_TIMEOUT_MS = 90_000;

export async function startPglite(): Promise<PGlite> {
  const db = new PGlite();
  await db.waitReady;
  return db;
}

let tableCount = 0;
/** A table name no other test of this process uses, so tests can share one database. */
export function uniqueTable(prefix = 'saga'): string {
  return `${prefix}_${process.pid}_${++tableCount}`;
}

/** Resolves once `check()` holds; rejects after `timeoutMs`. Polls the database, not behaviour. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A database that counts the statements that write saga state (every one but reads). */
export function countingDatabase(database: OutboxDatabase): OutboxDatabase & { writes: number } {
  const counted = {
    writes: 0,
    transaction: database.transaction.bind(database),
    query(text: string, params?: unknown[]) {
      if (!/^\s*SELECT/.test(text)) counted.writes++;
      return database.query(text, params);
    },
  };
  return counted;
}

export { pgliteDatabase };

/** A promise and the functions that settle it, for steps that wait on the test. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
