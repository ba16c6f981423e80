import { describeValue } from '@bulwark/core/internal';

/**
 * Runs one statement with positional parameters (`$1`, `$2`...) and resolves to its rows. pg's
 * `Client` and `PoolClient`, PGlite and PGlite's `Transaction` have this shape as they are.
 */
export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** porsager's `postgres`: a tagged-template function that also runs text through `unsafe()`. */
export interface PostgresJsLike {
  // `any[]`: the driver's own parameter type is a union this package has no reason to know.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  unsafe(text: string, params?: any[]): PromiseLike<readonly unknown[]>;
}

/**
 * Where `enqueue()` writes: the application's own transaction, as its driver hands it out (a pg
 * `PoolClient` after `BEGIN`, the `sql` of `sql.begin()`, the `tx` of PGlite's `transaction()`),
 * or anything with `query(text, params) => Promise<{ rows }>`.
 */
export type Queryable = SqlClient | PostgresJsLike;

const wrapped = new WeakMap<object, SqlClient>();

function fromPostgresJs(sql: PostgresJsLike): SqlClient {
  let client = wrapped.get(sql);
  if (client === undefined) {
    client = {
      query: async (text, params) => ({ rows: (await sql.unsafe(text, params)) as unknown[] }),
    };
    wrapped.set(sql, client);
  }
  return client;
}

/**
 * The statement runner behind one of the drivers' transaction objects. A pool, PGlite's database
 * object or postgres's top-level `sql` is refused: each statement would commit on its own, and
 * the message would no longer share the fate of the application's change.
 */
export function sqlClientOf(value: unknown, name: string): SqlClient {
  if ((typeof value === 'function' || typeof value === 'object') && value !== null) {
    const candidate = value as Record<string, unknown>;
    if (typeof candidate.unsafe === 'function') {
      if (typeof candidate.begin === 'function') {
        throw new TypeError(
          `expected ${name} to be a transaction: give the sql of sql.begin((sql) => ...), not postgres's top-level sql`,
        );
      }
      return fromPostgresJs(value as PostgresJsLike);
    }
    if (typeof candidate.query === 'function') {
      if (typeof candidate.transaction === 'function') {
        throw new TypeError(
          `expected ${name} to be a transaction: give the tx of db.transaction((tx) => ...), not the PGlite database`,
        );
      }
      if (typeof candidate.totalCount === 'number' && typeof candidate.connect === 'function') {
        throw new TypeError(
          `expected ${name} to be a transaction: give a client from pool.connect() after BEGIN, not the pool`,
        );
      }
      return value as SqlClient;
    }
  }
  throw new TypeError(
    `expected ${name} to be a pg client, a postgres transaction, a PGlite transaction or an object with query(text, params), got ${describeValue(value)}`,
  );
}
