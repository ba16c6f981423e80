import { type Clock, TimeoutError, systemClock } from '@bulwark/core';
import {
  checkBoolean,
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import { type Backoff, exponentialBackoff } from '@bulwark/retry';
import type { OutboxDatabase } from './database.js';
import { isPublishRejectedError, isTransportUnavailableError } from './errors.js';
import type { OutboxMessage } from './message.js';
import type { OutboxMetrics } from './metrics.js';
import type { OutboxQueries } from './queries.js';
import { type SqlClient, sqlClientOf } from './sql-client.js';
import type { PublishContext, Transport } from './transport.js';

export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;
/** Between failed attempts of one message: 1 s doubling to 5 min, full jitter. */
const DEFAULT_BACKOFF_OPTIONS = { initialDelayMs: 1_000, maxDelayMs: 300_000 } as const;
/**
 * While the broker or the database is down, the relay waits from 100 ms up to
 * `pollIntervalMs`, decorrelated jitter, so a fleet of relays does not come back in step.
 */
const OUTAGE_BACKOFF = exponentialBackoff({
  initialDelayMs: 100,
  maxDelayMs: 3_600_000,
  jitter: 'decorrelated',
});
/** How often a running relay measures the lag gauge, at most. */
const LAG_INTERVAL_MS = 1_000;
/** How often a relay that keeps published rows deletes the expired ones, at most. */
const PRUNE_INTERVAL_MS = 60_000;
/** Rows one prune deletes at most: the rest wait for the next, so no prune holds locks long. */
const PRUNE_LIMIT = 10_000;
/** A failed attempt's error is stored for the dead-letter table; this bounds its size. */
const MAX_ERROR_LENGTH = 2_000;
const MAX_BATCH_SIZE = 10_000;
const MAX_WAIT_MS = 3_600_000;

const RELAY_OPTIONS = [
  'transport',
  'batchSize',
  'pollIntervalMs',
  'listen',
  'maxAttempts',
  'backoff',
  'publishTimeoutMs',
  'keepPublishedMs',
  'clock',
  'random',
  'onError',
] as const;

export interface RelayOptions {
  /** Where messages go: `redisStreamsTransport()`, `webhookTransport()` or your own. */
  transport: Transport;
  /** Rows claimed per batch (at most one per key). Default 100. */
  batchSize?: number;
  /** The longest the relay sleeps: the polling fallback when no NOTIFY comes. Default 1,000. */
  pollIntervalMs?: number;
  /** Wake on the NOTIFY every enqueue sends, when the database adapter can listen. Default true. */
  listen?: boolean;
  /** Failed attempts after which a message is dead-lettered. Default 10. */
  maxAttempts?: number;
  /** The wait after each failed attempt. Default: 1 s doubling to 5 min, full jitter. */
  backoff?: Backoff;
  /** How long one batch's publish may take before it counts as failed. Default 30,000. */
  publishTimeoutMs?: number;
  /** 0 deletes a row once published; more marks it and deletes it this much later; Infinity keeps it. Default 0. */
  keepPublishedMs?: number;
  /** Times waits and backoffs, and dates `available_at`. Default: the system clock. */
  clock?: Clock;
  /** The jitter's random source, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Told about failures of the relay itself (the database, listening); default: a process warning. */
  onError?: (args: { error: unknown }) => void;
}

/** What one batch did. */
export interface RelayBatch {
  /** Rows claimed. */
  readonly claimed: number;
  /** Published and marked (or deleted). */
  readonly published: number;
  /** Failed, to be tried again after a backoff (an unavailable broker's included). */
  readonly retried: number;
  /** Failed because the broker could not be reached: not counted against the message. */
  readonly unavailable: number;
  /** Moved to the dead-letter table. */
  readonly deadLettered: number;
}

/** What a relay needs from its outbox. */
export interface RelaySource {
  readonly name: string;
  readonly database: OutboxDatabase;
  readonly queries: OutboxQueries;
  readonly metrics: OutboxMetrics | undefined;
}

type CounterCell = ReturnType<OutboxMetrics['published']['at']>;

/** One topic's counter series. */
interface TopicCounters {
  readonly published: CounterCell;
  readonly error: CounterCell;
  readonly unavailable: CounterCell;
  readonly rejected: CounterCell;
  readonly deadLettered: CounterCell;
}

/** What became of one claimed row. */
type Disposition = 'published' | 'retry' | 'unavailable' | 'rejected' | 'exhausted';

interface Settled {
  readonly batch: RelayBatch;
  /** One per claimed row, in claim order. */
  readonly dispositions: readonly Disposition[];
}

const NOTHING_SETTLED: Settled = {
  batch: { claimed: 0, published: 0, retried: 0, unavailable: 0, deadLettered: 0 },
  dispositions: [],
};
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

interface ClaimedRow {
  seq: string;
  id: string;
  topic: string;
  key: string | null;
  payload: string;
  headers: string | null;
  attempts: number;
  created_ms: number;
}

interface Retry {
  seq: string;
  available_at: string;
  error: string;
  counted: boolean;
}

function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    text = `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  } else {
    text = `thrown: ${describeValue(error)}`;
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

function checkTransport(value: unknown): asserts value is Transport {
  const transport = value as Partial<Transport> | null | undefined;
  if (
    typeof transport !== 'object' ||
    transport === null ||
    typeof transport.name !== 'string' ||
    typeof transport.publish !== 'function'
  ) {
    throw new TypeError(
      `expected transport to be a Transport (name and publish()), got ${describeValue(value)}`,
    );
  }
}

function warn({ error }: { error: unknown }): void {
  process.emitWarning(`outbox relay: ${describeError(error)}`, {
    code: 'BULWARK_OUTBOX_RELAY_ERROR',
  });
}

/**
 * Publishes what the outbox holds. Each batch is one transaction: claim rows with `FOR UPDATE
 * SKIP LOCKED`, publish them, then delete (or mark) the published ones, reschedule the failed
 * ones and dead-letter the exhausted ones, and commit. The row locks live exactly as long as the
 * publish, so relays side by side never publish one row at the same time, and a relay that dies
 * mid-batch releases its rows with its connection. A relay that dies after publishing and before
 * committing leaves the rows to be published again: delivery is at least once.
 */
export class Relay {
  private readonly transport: Transport;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly listenEnabled: boolean;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly publishTimeoutMs: number;
  private readonly keepPublishedMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly report: (args: { error: unknown }) => void;

  private loop: Promise<void> | undefined = undefined;
  private stopping = false;
  private notified = false;
  private wake: (() => void) | undefined = undefined;
  private unlisten: (() => Promise<void>) | undefined = undefined;
  private lastListenAttempt = -Infinity;
  private outageDelayMs = 0;
  private lastLagAt = -Infinity;
  private lastPruneAt: number;
  private oldestPendingMs: number | undefined = undefined;
  private stopLagCollector: (() => void) | undefined = undefined;
  private readonly countersByTopic = new Map<string, TopicCounters>();

  /** @internal Use `outbox.relay()`. */
  constructor(
    private readonly source: RelaySource,
    options: RelayOptions,
  ) {
    checkOptionsObject('relay', options);
    checkKnownOptions('relay', options, RELAY_OPTIONS);
    const {
      transport,
      batchSize = DEFAULT_BATCH_SIZE,
      pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
      listen = true,
      maxAttempts = DEFAULT_MAX_ATTEMPTS,
      backoff = exponentialBackoff(DEFAULT_BACKOFF_OPTIONS),
      publishTimeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS,
      keepPublishedMs = 0,
      clock = systemClock,
      random = Math.random,
      onError = warn,
    } = options;
    checkTransport(transport);
    checkInteger('batchSize', batchSize, 1, MAX_BATCH_SIZE);
    checkInteger('pollIntervalMs', pollIntervalMs, 1, MAX_WAIT_MS);
    checkBoolean('listen', listen);
    checkInteger('maxAttempts', maxAttempts, 1, 1_000);
    checkFunction('backoff', backoff);
    checkInteger('publishTimeoutMs', publishTimeoutMs, 1, MAX_WAIT_MS);
    checkInteger('keepPublishedMs', keepPublishedMs, 0, Number.MAX_SAFE_INTEGER, true);
    checkClock(clock);
    checkFunction('random', random);
    checkFunction('onError', onError);
    this.transport = transport;
    this.batchSize = batchSize;
    this.pollIntervalMs = pollIntervalMs;
    this.listenEnabled = listen;
    this.maxAttempts = maxAttempts;
    this.backoff = backoff;
    this.publishTimeoutMs = publishTimeoutMs;
    this.keepPublishedMs = keepPublishedMs;
    this.clock = clock;
    this.random = random;
    this.report = onError;
    this.lastPruneAt = clock.now();
  }

  /** True between `start()` and the end of `stop()`. */
  get running(): boolean {
    return this.loop !== undefined;
  }

  /**
   * Starts publishing in the background, and resolves once the relay listens for NOTIFY (or
   * could not, and polls). Calling it again while running does nothing.
   */
  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    this.stopping = false;
    if (this.source.metrics !== undefined && this.stopLagCollector === undefined) {
      const cell = this.source.metrics.lag.at([this.source.name]);
      this.stopLagCollector = this.source.metrics.lag.addCollector(() => {
        const oldest = this.oldestPendingMs;
        cell.value = oldest === undefined ? 0 : Math.max(0, this.clock.dateNow() - oldest) / 1000;
      });
    }
    await this.listenIfDue();
    this.loop = this.run();
  }

  /** Stops after the batch in flight (bounded by `publishTimeoutMs`) and stops listening. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    this.stopping = true;
    this.wake?.();
    await loop;
    this.loop = undefined;
    await this.stopListening();
    this.stopLagCollector?.();
    this.stopLagCollector = undefined;
  }

  /**
   * Claims and publishes one batch now, whether or not the relay runs: for a cron job, a
   * serverless function, a test, or draining before shutdown (call it until `claimed` is 0).
   */
  async runOnce(): Promise<RelayBatch> {
    const started = this.clock.now();
    const { queries, database } = this.source;
    let messages: OutboxMessage[] = [];
    const { batch, dispositions } = await database.transaction(async (tx) => {
      const sql = sqlClientOf(tx, 'the transaction');
      const claimedAt = new Date(this.clock.dateNow()).toISOString();
      await sql.query(queries.claimPlan);
      const { rows } = await sql.query(queries.claim, [claimedAt, this.batchSize]);
      if (rows.length === 0) return NOTHING_SETTLED;
      const claimed = rows as ClaimedRow[];
      messages = claimed.map(toMessage);
      return this.settle(sql, claimed, await this.publish(messages));
    });
    if (batch.claimed > 0) this.record(messages, dispositions, started);
    return batch;
  }

  /** Publishes a batch; one outcome per message: undefined for published, else the error. */
  private async publish(messages: readonly OutboxMessage[]): Promise<readonly unknown[]> {
    const controller = new AbortController();
    const timer = this.clock.setTimeout(
      () => controller.abort(new TimeoutError(this.publishTimeoutMs)),
      this.publishTimeoutMs,
    );
    // A transport that ignores the signal is still cut off at the timeout.
    const timedOut = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
        once: true,
      });
    });
    const context: PublishContext = { signal: controller.signal };
    try {
      if (this.transport.publishBatch !== undefined) {
        try {
          const outcomes = await Promise.race([
            this.transport.publishBatch(messages, context),
            timedOut,
          ]);
          if (!Array.isArray(outcomes) || outcomes.length !== messages.length) {
            const error = new TypeError(
              `${this.transport.name} transport's publishBatch() returned ${describeValue(outcomes)} for ${messages.length} messages`,
            );
            return messages.map(() => error);
          }
          return outcomes as readonly unknown[];
        } catch (error) {
          return messages.map(() => error ?? new Error('publishBatch() rejected without a reason'));
        }
      }
      return await Promise.all(
        messages.map((message) =>
          Promise.race([this.transport.publish(message, context), timedOut]).then(
            () => undefined,
            (error: unknown) => error ?? new Error('publish() rejected without a reason'),
          ),
        ),
      );
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Writes each row's outcome, inside the batch's transaction. */
  private async settle(
    sql: SqlClient,
    rows: readonly ClaimedRow[],
    outcomes: readonly unknown[],
  ): Promise<Settled> {
    const { queries } = this.source;
    const now = this.clock.dateNow();
    const dispositions: Disposition[] = [];
    const publishedSeqs: string[] = [];
    const retries: Retry[] = [];
    const dead: Array<{ seq: string; error: string }> = [];
    let unavailable = 0;
    let outageDelayMs = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const outcome = outcomes[i];
      if (outcome === undefined || outcome === null) {
        dispositions.push('published');
        publishedSeqs.push(row.seq);
        continue;
      }
      const error = describeError(outcome);
      if (isTransportUnavailableError(outcome)) {
        dispositions.push('unavailable');
        unavailable++;
        if (outageDelayMs === 0) outageDelayMs = this.nextOutageDelay();
        const availableAt = new Date(now + outageDelayMs).toISOString();
        retries.push({ seq: row.seq, available_at: availableAt, error, counted: false });
      } else if (isPublishRejectedError(outcome)) {
        dispositions.push('rejected');
        dead.push({ seq: row.seq, error });
      } else if (row.attempts + 1 >= this.maxAttempts) {
        dispositions.push('exhausted');
        dead.push({ seq: row.seq, error });
      } else {
        dispositions.push('retry');
        const delay = this.backoff({
          attempt: row.attempts + 1,
          previousDelayMs: 0,
          random: this.random,
        });
        const availableAt = new Date(now + (delay > 0 ? delay : 0)).toISOString();
        retries.push({ seq: row.seq, available_at: availableAt, error, counted: true });
      }
    }
    if (publishedSeqs.length > 0) {
      const seqs = publishedSeqs.join(',');
      if (this.keepPublishedMs === 0) await sql.query(queries.deletePublished, [seqs]);
      else await sql.query(queries.markPublished, [seqs, new Date(now).toISOString()]);
    }
    if (retries.length > 0) await sql.query(queries.retry, [JSON.stringify(retries)]);
    if (dead.length > 0) {
      await sql.query(queries.deadLetter, [JSON.stringify(dead), new Date(now).toISOString()]);
    }
    return {
      batch: {
        claimed: rows.length,
        published: publishedSeqs.length,
        retried: retries.length,
        unavailable,
        deadLettered: dead.length,
      },
      dispositions,
    };
  }

  /** The next wait of an outage: longer each time, never past the poll interval. */
  private nextOutageDelay(): number {
    const delay = OUTAGE_BACKOFF({
      attempt: 1,
      previousDelayMs: this.outageDelayMs,
      random: this.random,
    });
    this.outageDelayMs = Math.min(delay, this.pollIntervalMs);
    return this.outageDelayMs;
  }

  /** This topic's series, found once: see TopicCounters. */
  private counters(metrics: OutboxMetrics, topic: string): TopicCounters {
    let counters = this.countersByTopic.get(topic);
    if (counters === undefined) {
      const name = this.source.name;
      counters = {
        published: metrics.published.at([name, topic]),
        error: metrics.failures.at([name, topic, 'error']),
        unavailable: metrics.failures.at([name, topic, 'unavailable']),
        rejected: metrics.failures.at([name, topic, 'rejected']),
        deadLettered: metrics.deadLettered.at([name, topic]),
      };
      this.countersByTopic.set(topic, counters);
    }
    return counters;
  }

  /** Counts a committed batch. */
  private record(
    messages: readonly OutboxMessage[],
    dispositions: readonly Disposition[],
    started: number,
  ): void {
    const metrics = this.source.metrics;
    if (metrics === undefined) return;
    const name = this.source.name;
    metrics.batchDuration.at([name]).observe((this.clock.now() - started) / 1000);
    const delays = metrics.publishDelay.at([name]);
    const now = this.clock.dateNow();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const counters = this.counters(metrics, message.topic);
      switch (dispositions[i]) {
        case 'published':
          counters.published.value++;
          delays.observe(Math.max(0, now - message.enqueuedAt) / 1000);
          break;
        case 'retry':
          counters.error.value++;
          break;
        case 'unavailable':
          counters.unavailable.value++;
          break;
        case 'rejected':
          counters.rejected.value++;
          counters.deadLettered.value++;
          break;
        case 'exhausted':
          counters.error.value++;
          counters.deadLettered.value++;
          break;
      }
    }
  }

  /**
   * The relay's life: a batch, then no wait after a full batch (more rows are likely), the
   * outage backoff when nothing could be published for want of the broker or the database (a
   * NOTIFY does not cut it short), and otherwise a sleep until a NOTIFY or the poll interval.
   */
  private async run(): Promise<void> {
    while (!this.stopping) {
      this.notified = false;
      let delay: number;
      let wakeOnNotify = true;
      let databaseUp = true;
      try {
        const batch = await this.runOnce();
        if (batch.unavailable > 0 && batch.published === 0) {
          delay = this.outageDelayMs;
          wakeOnNotify = false;
        } else {
          delay = batch.claimed === this.batchSize ? 0 : this.pollIntervalMs;
          if (batch.unavailable > 0) delay = Math.min(delay, this.outageDelayMs);
          else this.outageDelayMs = 0;
        }
      } catch (error) {
        this.report({ error });
        databaseUp = false;
        delay = this.nextOutageDelay();
        wakeOnNotify = false;
      }
      if (databaseUp) await this.housekeeping();
      if (!this.stopping && delay > 0) await this.sleep(delay, wakeOnNotify);
    }
  }

  /** Lag measurement, pruning of kept rows, and listening again after a lost connection. */
  private async housekeeping(): Promise<void> {
    const now = this.clock.now();
    try {
      if (this.source.metrics !== undefined && now - this.lastLagAt >= LAG_INTERVAL_MS) {
        this.lastLagAt = now;
        const { rows } = await this.source.database.query(this.source.queries.oldestPending);
        this.oldestPendingMs = (rows[0] as { created_ms: number } | undefined)?.created_ms;
      }
      const keep = this.keepPublishedMs;
      if (
        keep > 0 &&
        keep !== Infinity &&
        now - this.lastPruneAt >= Math.min(keep, PRUNE_INTERVAL_MS)
      ) {
        this.lastPruneAt = now;
        const before = new Date(this.clock.dateNow() - keep).toISOString();
        await this.source.database.query(this.source.queries.prunePublished, [before, PRUNE_LIMIT]);
      }
    } catch (error) {
      this.report({ error });
    }
    await this.listenIfDue();
  }

  private async listenIfDue(): Promise<void> {
    const database = this.source.database;
    if (!this.listenEnabled || database.listen === undefined || this.unlisten !== undefined) return;
    const now = this.clock.now();
    if (now - this.lastListenAttempt < this.pollIntervalMs) return;
    this.lastListenAttempt = now;
    try {
      this.unlisten = await database.listen(this.source.name, this.onNotify, this.onListenError);
    } catch (error) {
      this.report({ error });
    }
  }

  private async stopListening(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    this.lastListenAttempt = -Infinity;
    if (unlisten === undefined) return;
    try {
      await unlisten();
    } catch (error) {
      this.report({ error });
    }
  }

  private readonly onNotify = (): void => {
    this.notified = true;
    this.wake?.();
  };

  private readonly onListenError = (error: unknown): void => {
    this.unlisten = undefined;
    this.report({ error });
  };

  private sleep(ms: number, wakeOnNotify: boolean): Promise<void> {
    if (wakeOnNotify && this.notified) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        if (!wakeOnNotify && !this.stopping) return;
        this.clock.clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

function toMessage(row: ClaimedRow): OutboxMessage {
  return {
    id: row.id,
    topic: row.topic,
    key: row.key ?? undefined,
    payloadJson: row.payload,
    headers:
      row.headers === null ? NO_HEADERS : (JSON.parse(row.headers) as Record<string, string>),
    attempt: row.attempts + 1,
    enqueuedAt: row.created_ms,
  };
}
