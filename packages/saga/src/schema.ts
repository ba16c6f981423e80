import { quoteIdentifier } from '@bulwark/outbox/internal';

export const DEFAULT_TABLE = 'bulwark_saga';

/** A saga table's names: how SQL writes them. */
export interface SagaTableNames {
  /** As given: `bulwark_saga` or `app.bulwark_saga`. */
  readonly name: string;
  /** The saga table, quoted and qualified. */
  readonly sagas: string;
  /** The step table (`<name>_steps`), quoted and qualified. */
  readonly steps: string;
  /** The unqualified name, for index names. */
  readonly base: string;
}

export function sagaTableNames(name: string): SagaTableNames {
  const parts = name.split('.');
  const base = parts[parts.length - 1]!;
  const schema = parts.slice(0, -1);
  const qualified = (last: string): string => [...schema, last].map(quoteIdentifier).join('.');
  return { name, sagas: qualified(base), steps: qualified(`${base}_steps`), base };
}

/**
 * The saga tables, idempotent (IF NOT EXISTS throughout), as `migrate()` runs it.
 *
 * - One saga row: its status, input, the failure that started compensation, its deadline, and
 *   its lease (which instance runs it, until when).
 * - One step row per step attempted, written whole by the instance holding the lease: status,
 *   attempts of the action and of the compensation, output (JSON text), and each failure in
 *   `errors` (a JSON array), the history a person reads before resolving a dead saga.
 * - The partial index holds only unfinished sagas: what a claim scans stays small however many
 *   finished sagas are kept.
 */
export function sagaSchema(names: SagaTableNames): string {
  const { sagas, steps, base } = names;
  return `CREATE TABLE IF NOT EXISTS ${sagas} (
  id text PRIMARY KEY,
  name text NOT NULL,
  status text NOT NULL,
  input text NOT NULL,
  error text,
  deadline_at timestamptz,
  lease_owner text,
  lease_token integer NOT NULL DEFAULT 0,
  lease_expires_at timestamptz NOT NULL DEFAULT '-infinity',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_unfinished`)}
  ON ${sagas} (lease_expires_at) WHERE status IN ('running', 'compensating');
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${base}_dead`)}
  ON ${sagas} (updated_at) WHERE status = 'dead';
CREATE TABLE IF NOT EXISTS ${steps} (
  saga_id text NOT NULL REFERENCES ${sagas} (id) ON DELETE CASCADE,
  position integer NOT NULL,
  name text NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL,
  compensation_attempts integer NOT NULL,
  output text,
  errors text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (saga_id, position)
);
`;
}

/** Epoch milliseconds as a float8, which every driver returns as a number. */
const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * Every statement of the orchestrator, written once per table. Parameters travel as text (dates
 * and lists cast in SQL), so pg, postgres and PGlite bind them alike, as in the outbox.
 */
export interface SagaQueries {
  readonly insert: string;
  readonly writeStep: string;
  readonly writeSteps: string;
  readonly writeSaga: string;
  readonly claim: string;
  readonly steps: string;
  readonly renew: string;
  readonly release: string;
  readonly get: string;
  readonly listDead: string;
  readonly retryDead: string;
  readonly resolveDead: string;
}

const SAGA_COLUMNS = `id, name, status, input, error, ${epochMs('deadline_at')} AS deadline_ms,
  lease_owner, lease_token, ${epochMs('lease_expires_at')} AS lease_expires_ms,
  ${epochMs('created_at')} AS created_ms, ${epochMs('updated_at')} AS updated_ms`;
const STEP_COLUMNS = `saga_id, position, name, status, attempts, compensation_attempts, output, errors,
  ${epochMs('updated_at')} AS updated_ms`;

export function sagaQueries(names: SagaTableNames): SagaQueries {
  const { sagas, steps } = names;
  /**
   * The fence every state write goes through: the saga row is updated only while this instance
   * holds its lease, and the update renews the lease. Its row lock makes a takeover wait for the
   * write, and a write after a takeover find no row: then nothing is written, and the caller
   * knows it lost the lease. The token, counted up by every claim, tells apart two processes
   * that share an instance id (a restarted one and the one it replaced, not quite dead).
   * $1 id, $2 owner, $3 now, $4 lease expiry, $5 new status or null, $6 error or null, $7 token.
   */
  const fence = `fence AS (
  UPDATE ${sagas} SET status = coalesce($5::text, status), error = coalesce($6::text, error),
    lease_expires_at = $4::text::timestamptz, updated_at = $3::text::timestamptz
  WHERE id = $1::text AND lease_owner = $2::text AND lease_token = $7::integer
    AND status IN ('running', 'compensating')
  RETURNING id
)`;
  return {
    /**
     * The saga's row and its first step's, `running` in its first attempt, in one statement: the
     * step starts as the saga does. No row when the id is taken; the step row is then not written
     * either. $1 id, $2 name, $3 input, $4 deadline or null, $5 owner, $6 now, $7 lease expiry,
     * $8 the first step's name.
     */
    insert: `WITH saga AS (
  INSERT INTO ${sagas} (id, name, status, input, deadline_at, lease_owner, lease_token, lease_expires_at, created_at, updated_at)
  VALUES ($1::text, $2::text, 'running', $3::text, $4::text::timestamptz, $5::text, 1, $7::text::timestamptz,
    $6::text::timestamptz, $6::text::timestamptz)
  ON CONFLICT (id) DO NOTHING
  RETURNING id
)
INSERT INTO ${steps} (saga_id, position, name, status, attempts, compensation_attempts, output, errors, updated_at)
SELECT saga.id, 0, $8::text, 'running', 1, 0, NULL, '[]', $6::text::timestamptz
FROM saga
RETURNING saga_id AS id`,

    // The fence, then one step row written whole. $8 position, $9 name, $10 status, $11 attempts,
    // $12 compensation attempts, $13 output, $14 errors.
    writeStep: `WITH ${fence}
INSERT INTO ${steps} (saga_id, position, name, status, attempts, compensation_attempts, output, errors, updated_at)
SELECT fence.id, $8::integer, $9::text, $10::text, $11::integer, $12::integer, $13::text, $14::text,
  $3::text::timestamptz
FROM fence
ON CONFLICT (saga_id, position) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
  compensation_attempts = EXCLUDED.compensation_attempts, output = EXCLUDED.output,
  errors = EXCLUDED.errors, updated_at = EXCLUDED.updated_at
RETURNING 1`,

    /**
     * The fence, then two step rows written whole: a step's completion and the next step's
     * start, which happen at the same moment. $8-$14 the first row as in writeStep, $15-$21 the
     * second.
     */
    writeSteps: `WITH ${fence}
INSERT INTO ${steps} (saga_id, position, name, status, attempts, compensation_attempts, output, errors, updated_at)
SELECT fence.id, step.position, step.name, step.status, step.attempts, step.compensation_attempts,
  step.output, step.errors, $3::text::timestamptz
FROM fence CROSS JOIN (VALUES
  ($8::integer, $9::text, $10::text, $11::integer, $12::integer, $13::text, $14::text),
  ($15::integer, $16::text, $17::text, $18::integer, $19::integer, $20::text, $21::text)
) AS step (position, name, status, attempts, compensation_attempts, output, errors)
ON CONFLICT (saga_id, position) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
  compensation_attempts = EXCLUDED.compensation_attempts, output = EXCLUDED.output,
  errors = EXCLUDED.errors, updated_at = EXCLUDED.updated_at
RETURNING 1`,

    // The fence alone: a change of the saga's status with no step row to write.
    writeSaga: `WITH ${fence} SELECT 1 FROM fence`,

    /**
     * Unfinished sagas whose lease has lapsed, and this instance's own (left by a crash of a
     * process with the same instance id), oldest first, except those this instance runs: a
     * lease of its own may have lapsed while its event loop stalled, and claiming that saga
     * would run it twice here. SKIP LOCKED passes over the rows another instance is claiming or
     * writing. $1 owner, $2 now, $3 lease expiry, $4 the ids this instance runs
     * (comma-separated), $5 how many.
     */
    claim: `UPDATE ${sagas} SET lease_owner = $1::text, lease_token = lease_token + 1,
  lease_expires_at = $3::text::timestamptz
WHERE id IN (
  SELECT id FROM ${sagas}
  WHERE status IN ('running', 'compensating')
    AND id <> ALL (string_to_array($4::text, ','))
    AND (lease_expires_at <= $2::text::timestamptz OR lease_owner = $1::text)
  ORDER BY created_at
  LIMIT $5::integer
  FOR UPDATE SKIP LOCKED)
RETURNING ${SAGA_COLUMNS}`,

    // $1 ids, comma-separated.
    steps: `SELECT ${STEP_COLUMNS} FROM ${steps}
WHERE saga_id = ANY (string_to_array($1::text, ','))
ORDER BY saga_id, position`,

    // $1 owner, $2 lease expiry, $3 ids. Returns the ids still held.
    renew: `UPDATE ${sagas} SET lease_expires_at = $2::text::timestamptz
WHERE lease_owner = $1::text AND id = ANY (string_to_array($3::text, ','))
  AND status IN ('running', 'compensating')
RETURNING id`,

    // Lets another instance take the sagas at once. $1 owner, $2 ids.
    release: `UPDATE ${sagas} SET lease_expires_at = '-infinity'
WHERE lease_owner = $1::text AND id = ANY (string_to_array($2::text, ','))`,

    // $1 id.
    get: `SELECT ${SAGA_COLUMNS} FROM ${sagas} WHERE id = $1::text`,

    // $1 how many, $2 after this id (or '').
    listDead: `SELECT ${SAGA_COLUMNS} FROM ${sagas}
WHERE status = 'dead' AND id > $2::text
ORDER BY id
LIMIT $1::integer`,

    /**
     * Takes up a dead saga again, at once, on whichever instance claims it first: compensating
     * when a compensation failed, else running (a step after the pivot failed). $1 id, $2 now.
     */
    retryDead: `UPDATE ${sagas} SET status = CASE WHEN EXISTS (
    SELECT 1 FROM ${steps} WHERE saga_id = $1::text AND status = 'compensation_failed')
    THEN 'compensating' ELSE 'running' END,
  lease_owner = NULL,
  lease_expires_at = '-infinity', updated_at = $2::text::timestamptz
WHERE id = $1::text AND status = 'dead'
RETURNING id`,

    // $1 id, $2 now.
    resolveDead: `UPDATE ${sagas} SET status = 'resolved', updated_at = $2::text::timestamptz
WHERE id = $1::text AND status = 'dead'
RETURNING id`,
  };
}
