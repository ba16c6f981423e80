-- The tables of @bulwark/outbox under their default names: what createOutbox().migrate() runs,
-- for your own migration tool. Run it once per database; every statement is idempotent. Under
-- another table name, take createOutbox({ table }).schemaSql() instead.
CREATE TABLE IF NOT EXISTS "bulwark_outbox" (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id uuid NOT NULL,
  topic text NOT NULL,
  key text,
  payload text NOT NULL,
  headers text,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL DEFAULT '-infinity',
  last_error text,
  published_at timestamptz
);
CREATE INDEX IF NOT EXISTS "bulwark_outbox_pending"
  ON "bulwark_outbox" (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS "bulwark_outbox_key_pending"
  ON "bulwark_outbox" (key, seq) WHERE published_at IS NULL AND key IS NOT NULL;
CREATE INDEX IF NOT EXISTS "bulwark_outbox_published"
  ON "bulwark_outbox" (published_at) WHERE published_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS "bulwark_outbox_dead_letters" (
  id uuid PRIMARY KEY,
  seq bigint NOT NULL,
  topic text NOT NULL,
  key text,
  payload text NOT NULL,
  headers text,
  created_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  last_error text,
  dead_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "bulwark_outbox_dead_letters_dead_at"
  ON "bulwark_outbox_dead_letters" (dead_at);
