import type { TableNames } from './schema.js';

/**
 * Every statement of the outbox, written once per table. Parameters travel as text (JSON, dates,
 * lists cast from text in SQL), so pg, postgres and PGlite bind them the same way: arrays and
 * dates are where drivers differ, and postgres would serialise a string bound to a jsonb
 * parameter as a JSON string.
 */
export interface OutboxQueries {
  readonly enqueue: string;
  readonly claimPlan: string;
  readonly claim: string;
  readonly markPublished: string;
  readonly deletePublished: string;
  readonly retry: string;
  readonly deadLetter: string;
  readonly oldestPending: string;
  readonly prunePublished: string;
  readonly listDeadLetters: string;
  readonly replayDeadLetters: string;
  readonly dropDeadLetters: string;
}

/** Epoch milliseconds as a float8, which every driver returns as a number. */
const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** A comma-separated text parameter as an array: every driver binds text alike. */
const list = (param: string, type: string): string =>
  `string_to_array(${param}::text, ',')::${type}[]`;

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export function outboxQueries(names: TableNames): OutboxQueries {
  const table = names.sql;
  const dead = names.deadLetters;
  const channel = literal(names.name);
  // Advisory locks are one namespace per database: the first key names this outbox's part of it.
  const lockSpace = `hashtext(${literal(names.name)})`;

  /**
   * Takes, in sorted order, the lock of each key among the messages in `$1` (a JSON array), and
   * queues a NOTIFY that PostgreSQL delivers when the transaction commits. MATERIALIZED makes it
   * run to completion before the INSERT that reads it computes a single `seq`.
   *
   * Why the locks: `seq` is assigned at insert, not at commit. Without them, transaction A could
   * insert key k (seq 10), B insert k (seq 11) and commit first, and a relay publish 11 before
   * 10 exists for it to see. With them, B's insert waits until A has committed or rolled back,
   * so among committed rows of one key, seq order is commit order.
   */
  const prelude = (source: string): string => `prelude AS MATERIALIZED (
    SELECT pg_notify(${channel}, ''), count(pg_advisory_xact_lock(${lockSpace}, hashtext(k))) AS locked
    FROM (SELECT DISTINCT k FROM (${source}) AS keyed WHERE k IS NOT NULL ORDER BY k) AS keys
  )`;

  return {
    enqueue: `WITH ${prelude("SELECT m->>'key' AS k FROM jsonb_array_elements($1::text::jsonb) AS m")}
INSERT INTO ${table} (id, topic, key, payload, headers)
SELECT (m.value->>'id')::uuid, m.value->>'topic', m.value->>'key', m.value->>'payload', m.value->>'headers'
FROM prelude, jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS m(value, n)
ORDER BY m.n`,

    /**
     * Run in the claim's transaction, before it. The claim must walk the pending index in `seq`
     * order and stop at the batch size. Without fresh statistics (a new table, or one last
     * analysed while it was empty, as a queue table often is) the planner believes few rows are
     * pending and prefers to test every pending row against the per-key condition and sort them
     * all, which over a backlog of thousands costs a hundred times the walk, on every batch, when
     * the relay most needs to keep up. With sorting ruled out the walk is the only plan left.
     */
    claimPlan: 'SET LOCAL enable_sort = off',

    /**
     * One row per key at most, the earliest unpublished one, and only when no earlier row of the
     * key is unpublished, locked or not: so one message per key is in flight across every relay,
     * and a row waiting out a backoff holds back the rows behind it. SKIP LOCKED passes over the
     * rows other relays hold. $1: now, $2: the batch size.
     */
    claim: `SELECT o.seq::text AS seq, o.id::text AS id, o.topic, o.key, o.payload, o.headers,
  o.attempts, ${epochMs('o.created_at')} AS created_ms
FROM ${table} AS o
WHERE o.published_at IS NULL
  AND o.available_at <= $1::text::timestamptz
  AND (o.key IS NULL OR NOT EXISTS (
    SELECT 1 FROM ${table} AS e
    WHERE e.key = o.key AND e.seq < o.seq AND e.published_at IS NULL))
ORDER BY o.seq
LIMIT $2::integer
FOR UPDATE OF o SKIP LOCKED`,

    // $1: seqs, $2: now.
    markPublished: `UPDATE ${table} SET published_at = $2::text::timestamptz, attempts = attempts + 1
WHERE seq = ANY(${list('$1', 'bigint')})`,

    deletePublished: `DELETE FROM ${table} WHERE seq = ANY(${list('$1', 'bigint')})`,

    // $1: [{ seq, available_at, error, counted }]: an unavailable broker does not count an attempt.
    retry: `UPDATE ${table} AS o
SET attempts = o.attempts + CASE WHEN u.counted THEN 1 ELSE 0 END,
  available_at = u.available_at, last_error = u.error
FROM jsonb_to_recordset($1::text::jsonb) AS u(seq bigint, available_at timestamptz, error text, counted boolean)
WHERE o.seq = u.seq`,

    // $1: [{ seq, error }], $2: now.
    deadLetter: `WITH failed AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS u(seq bigint, error text)
), moved AS (
  DELETE FROM ${table} AS o USING failed WHERE o.seq = failed.seq
  RETURNING o.id, o.seq, o.topic, o.key, o.payload, o.headers, o.created_at, o.attempts, failed.error
)
INSERT INTO ${dead} (id, seq, topic, key, payload, headers, created_at, attempts, last_error, dead_at)
SELECT id, seq, topic, key, payload, headers, created_at, attempts + 1, error, $2::text::timestamptz
FROM moved
ON CONFLICT (id) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
  dead_at = EXCLUDED.dead_at`,

    oldestPending: `SELECT ${epochMs('created_at')} AS created_ms FROM ${table}
WHERE published_at IS NULL ORDER BY seq LIMIT 1`,

    // $1: published before this, $2: at most this many rows.
    prunePublished: `DELETE FROM ${table} WHERE seq IN (
  SELECT seq FROM ${table} WHERE published_at IS NOT NULL AND published_at < $1::text::timestamptz
  ORDER BY published_at LIMIT $2::integer)`,

    // $1: topic or null, $2: after this id (paging) or null, $3: limit.
    listDeadLetters: `SELECT id::text AS id, topic, key, payload, headers, attempts, last_error,
  ${epochMs('created_at')} AS created_ms, ${epochMs('dead_at')} AS dead_ms
FROM ${dead}
WHERE ($1::text IS NULL OR topic = $1::text) AND ($2::uuid IS NULL OR id > $2::uuid)
ORDER BY id
LIMIT $3::integer`,

    /**
     * Back into the outbox under the same id, behind every row of its key enqueued since (a new
     * seq), with its attempts reset, taking the keys' locks as enqueue() does.
     * $1: ids (comma-separated) or null for every dead letter, $2: topic or null.
     */
    replayDeadLetters: `WITH ${prelude(`SELECT key AS k FROM ${dead} WHERE ($1::text IS NULL OR id = ANY(${list('$1', 'uuid')})) AND ($2::text IS NULL OR topic = $2::text)`)},
moved AS (
  DELETE FROM ${dead} AS d USING prelude
  WHERE ($1::text IS NULL OR d.id = ANY(${list('$1', 'uuid')})) AND ($2::text IS NULL OR d.topic = $2::text)
  RETURNING d.id, d.seq, d.topic, d.key, d.payload, d.headers
)
INSERT INTO ${table} (id, topic, key, payload, headers)
SELECT id, topic, key, payload, headers FROM moved ORDER BY seq
RETURNING id::text AS id`,

    dropDeadLetters: `DELETE FROM ${dead}
WHERE ($1::text IS NULL OR id = ANY(${list('$1', 'uuid')})) AND ($2::text IS NULL OR topic = $2::text)
RETURNING id::text AS id`,
  };
}

export function inboxQueries(names: TableNames): {
  readonly record: string;
  readonly prune: string;
} {
  return {
    /** $1: the consumer's name, $2: message ids (a JSON array). Returns the ids seen for the first time. */
    record: `INSERT INTO ${names.sql} (consumer, message_id)
SELECT $1::text, m FROM jsonb_array_elements_text($2::text::jsonb) AS m
ON CONFLICT DO NOTHING
RETURNING message_id`,
    /** $1: the consumer's name, $2: processed before this. */
    prune: `DELETE FROM ${names.sql} WHERE consumer = $1::text AND processed_at < $2::text::timestamptz`,
  };
}
