-- The inbox table of @bulwark/outbox's consumers under its default name: what
-- createInbox().migrate() runs, in the consumer's own database. Every statement is idempotent.
CREATE TABLE IF NOT EXISTS "bulwark_inbox" (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS "bulwark_inbox_processed_at"
  ON "bulwark_inbox" (processed_at);
