// A process of the fleet tests (fleet.test.ts), run as an application would run the outbox:
// its own pg pool, the built package. What it does is MODE:
//   relay       runs a relay that POSTs to TARGET with the webhook transport until SIGTERM;
//   relay-hang  runs a relay whose transport never answers, printing the ids it was handed;
//   enqueue     enqueues ID_COUNT messages in one transaction, commits, prints "committed",
//               and waits to be killed.
import pg from 'pg';
import { createOutbox, pgDatabase, webhookTransport } from '@bulwark/outbox';

const { MODE, DATABASE_URL, TABLE, TARGET, RELAY_NAME = '' } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
// A SIGKILLed sibling or the server's shutdown can reach idle clients as errors: not this test's.
pool.on('error', () => undefined);
const outbox = createOutbox({ database: pgDatabase(pool), table: TABLE });

if (MODE === 'enqueue') {
  const client = await pool.connect();
  await client.query('BEGIN');
  const messages = Array.from({ length: Number(process.env.ID_COUNT) }, (_, n) => ({
    topic: 'fleet',
    key: `k${n % 3}`,
    payload: { n },
  }));
  const ids = await outbox.enqueue(client, messages);
  await client.query('COMMIT');
  process.stdout.write(`committed ${ids.join(',')}\n`);
  // The parent SIGKILLs this process here: after the commit, before any relay ran.
  globalThis.setInterval(() => undefined, 60_000);
} else {
  const transport =
    MODE === 'relay-hang'
      ? {
          name: 'hang',
          publish(message) {
            process.stdout.write(`handed ${message.id}\n`);
            return new Promise(() => undefined);
          },
        }
      : webhookTransport({ url: TARGET, headers: { 'x-relay': RELAY_NAME } });
  const relay = outbox.relay({
    transport,
    batchSize: 10,
    pollIntervalMs: 200,
    onError: ({ error }) => process.stderr.write(`relay error: ${String(error)}\n`),
  });
  await relay.start();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void relay
      .stop()
      .then(() => pool.end())
      .then(() => process.exit(0));
  });
}
