import type { OutboxDatabase } from '../database.js';
import { quoteIdentifier } from '../database.js';
import type { SqlClient } from '../sql-client.js';

/** The part of pg's `PoolClient` the adapter uses. */
export interface PgPoolClientLike extends SqlClient {
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The part of pg's `Pool` the adapter uses. */
export interface PgPoolLike<C extends PgPoolClientLike> {
  connect(): Promise<C>;
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * An outbox database on a pg `Pool`: each transaction checks out a client, and listening holds
 * one client for as long as the relay runs. Consumer handlers get that `PoolClient` as `tx`.
 */
export function pgDatabase<C extends PgPoolClientLike>(pool: PgPoolLike<C>): OutboxDatabase<C> {
  return {
    async transaction<T>(fn: (tx: C) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let result: T;
      try {
        await client.query('BEGIN');
        result = await fn(client);
        await client.query('COMMIT');
      } catch (error) {
        try {
          await client.query('ROLLBACK');
          client.release();
        } catch (rollbackError) {
          // The connection is broken: the server rolls the transaction back itself.
          client.release(rollbackError instanceof Error ? rollbackError : true);
        }
        throw error;
      }
      client.release();
      return result;
    },
    query: (text, params) => pool.query(text, params),
    async listen(channel, onNotify, onError) {
      const client = await pool.connect();
      let released = false;
      const release = (error?: Error): void => {
        if (released) return;
        released = true;
        client.release(error ?? false);
      };
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify();
      });
      client.on('error', (error) => {
        release(error);
        onError(error);
      });
      try {
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
      } catch (error) {
        release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      return async () => {
        if (released) return;
        try {
          await client.query(`UNLISTEN ${quoteIdentifier(channel)}`);
          release();
        } catch (error) {
          release(error instanceof Error ? error : new Error(String(error)));
        }
      };
    },
  };
}
