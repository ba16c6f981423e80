import { hostname } from 'node:os';
import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOneOf,
  checkOptionsObject,
  checkString,
  describeValue,
  randomString,
} from '@bulwark/core/internal';
import type { Inbox } from '../inbox.js';
import { MAX_MESSAGE_ID_LENGTH } from '../inbox.js';
import { checkTopic } from '../message.js';
import { type MetricsOptions, type OutboxMetrics, metricsFor } from '../metrics.js';
import { DEFAULT_STREAM_PREFIX, FIELD, type RedisConsumerClientLike } from '../redis.js';

export const DEFAULT_CONSUMER_BATCH_SIZE = 100;
export const DEFAULT_BLOCK_MS = 1_000;
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
export const DEFAULT_MAX_DELIVERIES = 5;
export const DEFAULT_DEAD_LETTER_SUFFIX = ':dead';
/** Rounds of XAUTOCLAIM per stream per reclaim, at most: a large backlog is taken in turns. */
const MAX_RECLAIM_ROUNDS = 10;
/** After a failed read (Redis down), the consumer waits this long before it reads again. */
const READ_RETRY_MS = 500;
const MAX_NAME_LENGTH = 200;

const CONSUMER_OPTIONS = [
  'client',
  'topics',
  'group',
  'consumer',
  'prefix',
  'handler',
  'inbox',
  'batchSize',
  'blockMs',
  'claimIdleMs',
  'maxDeliveries',
  'deadLetterSuffix',
  'startId',
  'metrics',
  'clock',
  'onError',
] as const;

/** A message as a consumer's handler receives it. */
export interface ConsumedMessage {
  /** The outbox message id: the same on every delivery. */
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** The payload, parsed. */
  readonly payload: unknown;
  /** The payload as published, byte for byte. */
  readonly payloadJson: string;
  readonly headers: Readonly<Record<string, string>>;
  /** When the producer's transaction started (epoch milliseconds), when the entry says. */
  readonly enqueuedAt: number | undefined;
  readonly stream: string;
  /** The entry's id in its stream. */
  readonly streamId: string;
  /** Deliveries of this entry to the group so far, this one included: 1 the first time. */
  readonly deliveries: number;
}

/** What a handler gets besides the message. */
export interface HandlerContext<Tx> {
  /**
   * With an inbox: the transaction the message is recorded in (the driver's own object, a pg
   * `PoolClient` for pgDatabase()). Write the message's effects with it, and they commit with the
   * record or not at all. Without an inbox: undefined.
   */
  readonly tx: Tx;
}

export interface RedisStreamsConsumerOptions<Tx = undefined> {
  /** A connected ioredis client; the consumer duplicates it for its blocking reads. */
  client: RedisConsumerClientLike;
  /** The topics to read: the streams `prefix + topic`. */
  topics: readonly string[];
  /** The consumer group; created (from `startId`) if it does not exist. */
  group: string;
  /** This consumer's name within the group. Default: host name, process id and a random suffix. */
  consumer?: string;
  /** As the transport's. Default `outbox:`. */
  prefix?: string;
  /** Processes one message; throwing leaves it pending, to be retried after `claimIdleMs`. */
  handler: (message: ConsumedMessage, context: HandlerContext<Tx>) => Promise<void>;
  /** Records processed messages in the handler's transaction: effects once. */
  inbox?: Inbox<Tx>;
  /** Entries read (and, with an inbox, processed in one transaction) at a time. Default 100. */
  batchSize?: number;
  /** How long one read waits for new entries. Default 1,000. */
  blockMs?: number;
  /** An entry pending this long (its consumer died, or its handler failed) is taken over. Default 30,000. */
  claimIdleMs?: number;
  /** An entry delivered more often than this goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** The dead-letter stream of a stream is its name plus this. Default `:dead`. */
  deadLetterSuffix?: string;
  /** Where a new group starts: `0`, the whole stream, or `$`, new entries only. Default `0`. */
  startId?: '0' | '$';
  /** Registers the consumer metrics in this registry. */
  metrics?: MetricsOptions;
  /** Times the reclaim rounds and the waits after a failed read. Default: the system clock. */
  clock?: Clock;
  /** Told about a handler that threw (with its message) and about failed reads. Default: a process warning. */
  onError?: (args: { error: unknown; message?: ConsumedMessage }) => void;
}

/** A consumer group member that runs in the background between `start()` and `stop()`. */
export interface RedisStreamsConsumer {
  readonly consumer: string;
  readonly group: string;
  /** Creates the groups if needed and starts reading. */
  start(): Promise<void>;
  /** Stops reading, waits for the batch in flight, and closes the consumer's own connection. */
  stop(): Promise<void>;
}

/** An entry as read, before it is checked. */
interface Entry {
  readonly stream: string;
  readonly streamId: string;
  readonly fields: readonly string[];
  readonly deliveries: number;
}

type Outcome = 'processed' | 'duplicate' | 'failed' | 'dead-lettered';

function warn({ error }: { error: unknown }): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
  process.emitWarning(`outbox consumer: ${text}`, { code: 'BULWARK_OUTBOX_CONSUMER_ERROR' });
}

function checkName(option: string, value: unknown): asserts value is string {
  checkString(option, value, MAX_NAME_LENGTH);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      throw new RangeError(`expected ${option} without control characters`);
    }
  }
}

/** The fields of an entry as a map; a field given twice keeps its first value. */
function fieldMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (!map.has(fields[i]!)) map.set(fields[i]!, fields[i + 1]!);
  }
  return map;
}

/**
 * Reads an entry written by the Redis Streams transport. Everything in it came over the network
 * from whoever can write to the stream: it is checked before a handler or the inbox sees it, and
 * an entry that fails a check is dead-lettered with the reason.
 */
function parseEntry(entry: Entry): ConsumedMessage | string {
  const fields = fieldMap(entry.fields);
  const id = fields.get(FIELD.id);
  if (id === undefined || id.length === 0 || id.length > MAX_MESSAGE_ID_LENGTH) {
    return 'malformed entry: no usable id field';
  }
  if (!/^[\x21-\x7e]+$/.test(id)) return 'malformed entry: the id is not printable ASCII';
  const topic = fields.get(FIELD.topic) ?? '';
  try {
    checkTopic(topic);
  } catch {
    return 'malformed entry: no usable topic field';
  }
  const payloadJson = fields.get(FIELD.payload);
  if (payloadJson === undefined) return 'malformed entry: no payload field';
  let payload: unknown;
  try {
    payload = JSON.parse(payloadJson);
  } catch {
    return 'malformed entry: the payload is not JSON';
  }
  let headers: Record<string, string> = {};
  const headersJson = fields.get(FIELD.headers);
  if (headersJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(headersJson);
    } catch {
      return 'malformed entry: the headers are not JSON';
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Array.isArray(parsed) ||
      Object.values(parsed).some((value) => typeof value !== 'string')
    ) {
      return 'malformed entry: the headers are not an object of strings';
    }
    headers = parsed as Record<string, string>;
  }
  const enqueuedAt = Number(fields.get(FIELD.enqueuedAt));
  return {
    id,
    topic,
    key: fields.get(FIELD.key),
    payload,
    payloadJson,
    headers,
    enqueuedAt: Number.isFinite(enqueuedAt) ? enqueuedAt : undefined,
    stream: entry.stream,
    streamId: entry.streamId,
    deliveries: entry.deliveries,
  };
}

/** `[[id, [field, value, ...]], ...]`, skipping what is not that shape (deleted entries). */
function entriesOf(stream: string, raw: unknown, deliveries: number): Entry[] {
  if (!Array.isArray(raw)) return [];
  const entries: Entry[] = [];
  for (const item of raw as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    const fields = Array.isArray(item[1]) ? (item[1] as unknown[]).map(String) : [];
    entries.push({ stream, streamId: item[0], fields, deliveries });
  }
  return entries;
}

class StreamsConsumer<Tx> implements RedisStreamsConsumer {
  readonly consumer: string;
  readonly group: string;
  private readonly client: RedisConsumerClientLike;
  private readonly streams: readonly string[];
  private readonly handler: RedisStreamsConsumerOptions<Tx>['handler'];
  private readonly inbox: Inbox<Tx> | undefined;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly maxDeliveries: number;
  private readonly deadLetterSuffix: string;
  private readonly startId: '0' | '$';
  private readonly metrics: OutboxMetrics | undefined;
  private readonly clock: Clock;
  private readonly report: NonNullable<RedisStreamsConsumerOptions<Tx>['onError']>;

  private reader: RedisConsumerClientLike | undefined = undefined;
  private loop: Promise<void> | undefined = undefined;
  private stopping = false;
  private nextReclaimAt = 0;

  constructor(options: RedisStreamsConsumerOptions<Tx>) {
    checkOptionsObject('redisStreamsConsumer', options);
    checkKnownOptions('redisStreamsConsumer', options, CONSUMER_OPTIONS);
    const {
      client,
      topics,
      group,
      consumer = `${hostname()}-${process.pid}-${randomString(4, 'hex')}`,
      prefix = DEFAULT_STREAM_PREFIX,
      handler,
      inbox,
      batchSize = DEFAULT_CONSUMER_BATCH_SIZE,
      blockMs = DEFAULT_BLOCK_MS,
      claimIdleMs = DEFAULT_CLAIM_IDLE_MS,
      maxDeliveries = DEFAULT_MAX_DELIVERIES,
      deadLetterSuffix = DEFAULT_DEAD_LETTER_SUFFIX,
      startId = '0',
      metrics,
      clock = systemClock,
      onError = warn,
    } = options;
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof client.call !== 'function' ||
      typeof client.duplicate !== 'function'
    ) {
      throw new TypeError(`expected client to be an ioredis client, got ${describeValue(client)}`);
    }
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TypeError(`expected topics to be a non-empty array, got ${describeValue(topics)}`);
    }
    for (const topic of topics) checkTopic(topic);
    checkName('group', group);
    checkName('consumer', consumer);
    if (typeof prefix !== 'string' || prefix.length > MAX_NAME_LENGTH) {
      throw new TypeError(`expected prefix to be a string, got ${describeValue(prefix)}`);
    }
    checkFunction('handler', handler);
    if (inbox !== undefined && typeof inbox.markProcessedMany !== 'function') {
      throw new TypeError(
        `expected inbox to be a createInbox() inbox, got ${describeValue(inbox)}`,
      );
    }
    checkInteger('batchSize', batchSize, 1, 10_000);
    checkInteger('claimIdleMs', claimIdleMs, 1, 86_400_000);
    checkInteger('blockMs', blockMs, 1, 60_000);
    checkInteger('maxDeliveries', maxDeliveries, 1, 1_000);
    checkName('deadLetterSuffix', deadLetterSuffix);
    checkOneOf('startId', startId, ['0', '$']);
    checkClock(clock);
    checkFunction('onError', onError);
    this.client = client;
    this.streams = topics.map((topic) => prefix + topic);
    this.group = group;
    this.consumer = consumer;
    this.handler = handler;
    this.inbox = inbox;
    this.batchSize = batchSize;
    // A read never outlasts the time between two reclaims, so reclaims run on time.
    this.blockMs = Math.min(blockMs, this.reclaimIntervalMs(claimIdleMs));
    this.claimIdleMs = claimIdleMs;
    this.maxDeliveries = maxDeliveries;
    this.deadLetterSuffix = deadLetterSuffix;
    this.startId = startId;
    this.metrics = metricsFor(metrics, 'redisStreamsConsumer');
    this.clock = clock;
    this.report = onError;
  }

  /** Pending entries are looked at twice per `claimIdleMs`: one is taken over within 1.5 times it. */
  private reclaimIntervalMs(claimIdleMs = this.claimIdleMs): number {
    return Math.max(1, Math.floor(claimIdleMs / 2));
  }

  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    for (const stream of this.streams) await this.createGroup(stream);
    this.stopping = false;
    this.reader = this.client.duplicate();
    this.nextReclaimAt = this.clock.now();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    this.stopping = true;
    // Ends the blocking read at once: it fails, and the loop sees it is stopping.
    this.reader?.disconnect();
    await loop;
    this.reader = undefined;
    this.loop = undefined;
  }

  private async createGroup(stream: string): Promise<void> {
    try {
      await this.client.call('XGROUP', ['CREATE', stream, this.group, this.startId, 'MKSTREAM']);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.clock.now() >= this.nextReclaimAt) {
          for (const stream of this.streams) await this.reclaim(stream);
          this.nextReclaimAt = this.clock.now() + this.reclaimIntervalMs();
        }
        await this.read();
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          // The stream or the group was deleted: make them again, and go on.
          try {
            for (const stream of this.streams) await this.createGroup(stream);
          } catch (createError) {
            this.report({ error: createError });
          }
        } else {
          this.report({ error });
        }
        await this.sleep(READ_RETRY_MS);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** New entries for this consumer, the first delivery of each. */
  private async read(): Promise<void> {
    const reader = this.reader;
    if (reader === undefined) return;
    const reply = await reader.call('XREADGROUP', [
      'GROUP',
      this.group,
      this.consumer,
      'COUNT',
      this.batchSize,
      'BLOCK',
      this.blockMs,
      'STREAMS',
      ...this.streams,
      ...this.streams.map(() => '>'),
    ]);
    if (!Array.isArray(reply)) return;
    for (const item of reply as unknown[]) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
      await this.handle(item[0], entriesOf(item[0], item[1], 1));
    }
  }

  /**
   * Takes over entries pending longer than `claimIdleMs` (their consumer died, or their handler
   * failed) with XAUTOCLAIM, which counts a delivery for each, then handles them as new.
   */
  private async reclaim(stream: string): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < MAX_RECLAIM_ROUNDS && !this.stopping; round++) {
      const reply = await this.client.call('XAUTOCLAIM', [
        stream,
        this.group,
        this.consumer,
        this.claimIdleMs,
        cursor,
        'COUNT',
        this.batchSize,
      ]);
      if (!Array.isArray(reply)) return;
      const claimed = entriesOf(stream, reply[1], 0);
      if (claimed.length > 0) await this.handle(stream, await this.withDeliveries(claimed));
      cursor = typeof reply[0] === 'string' ? reply[0] : '0-0';
      if (cursor === '0-0') return;
    }
  }

  /** Each entry's delivery count, from XPENDING (one command per entry, pipelined by the client). */
  private async withDeliveries(entries: readonly Entry[]): Promise<Entry[]> {
    const counts = await Promise.all(
      entries.map((entry) =>
        this.client.call('XPENDING', [entry.stream, this.group, entry.streamId, entry.streamId, 1]),
      ),
    );
    return entries.map((entry, i) => {
      const row = (counts[i] as unknown[] | undefined)?.[0];
      const deliveries = Array.isArray(row) ? Number(row[3]) : NaN;
      return { ...entry, deliveries: Number.isFinite(deliveries) ? deliveries : 1 };
    });
  }

  /** Checks a batch, dead-letters what must go, processes the rest, acknowledges what is done. */
  private async handle(stream: string, entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const messages: ConsumedMessage[] = [];
    const acks: string[] = [];
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (typeof parsed === 'string') {
        await this.deadLetter(entry, parsed);
        acks.push(entry.streamId);
      } else if (entry.deliveries > this.maxDeliveries) {
        await this.deadLetter(
          entry,
          `delivered ${entry.deliveries} times, more than maxDeliveries (${this.maxDeliveries})`,
        );
        acks.push(entry.streamId);
      } else {
        if (entry.deliveries > 1) this.count(stream, 'redelivered');
        messages.push(parsed);
      }
    }
    if (messages.length > 0) {
      const done =
        this.inbox === undefined
          ? await this.processEach(messages)
          : await this.processWithInbox(this.inbox, messages);
      acks.push(...done);
    }
    if (acks.length > 0) await this.client.call('XACK', [stream, this.group, ...acks]);
  }

  /** Without an inbox: one handler call per message, in order. */
  private async processEach(messages: readonly ConsumedMessage[]): Promise<string[]> {
    const done: string[] = [];
    for (const message of messages) {
      try {
        await this.handler(message, { tx: undefined as Tx });
        done.push(message.streamId);
        this.count(message.stream, 'processed');
      } catch (error) {
        this.count(message.stream, 'failed');
        this.report({ error, message });
      }
    }
    return done;
  }

  /**
   * With an inbox: the whole batch in one transaction, each message recorded and (the first time)
   * handled in it. When a handler throws, the transaction rolls back, and the batch goes again
   * one message per transaction, so one failing message holds back no other.
   */
  private async processWithInbox(
    inbox: Inbox<Tx>,
    messages: readonly ConsumedMessage[],
  ): Promise<string[]> {
    if (messages.length > 1) {
      try {
        const outcomes = await this.transaction(inbox, messages);
        messages.forEach((message, i) => this.count(message.stream, outcomes[i]!));
        return messages.map((message) => message.streamId);
      } catch {
        // Which message failed is found below, each alone.
      }
    }
    const done: string[] = [];
    for (const message of messages) {
      try {
        const [outcome] = await this.transaction(inbox, [message]);
        this.count(message.stream, outcome!);
        done.push(message.streamId);
      } catch (error) {
        this.count(message.stream, 'failed');
        this.report({ error, message });
      }
    }
    return done;
  }

  private transaction(inbox: Inbox<Tx>, messages: readonly ConsumedMessage[]): Promise<Outcome[]> {
    return inbox.database.transaction(async (tx) => {
      const fresh = await inbox.markProcessedMany(
        tx as never,
        messages.map((message) => message.id),
      );
      const outcomes: Outcome[] = [];
      for (const message of messages) {
        // An id twice in one batch (published twice) is recorded once: the second is a duplicate.
        if (fresh.delete(message.id)) {
          await this.handler(message, { tx });
          outcomes.push('processed');
        } else {
          outcomes.push('duplicate');
        }
      }
      return outcomes;
    });
  }

  /** Moves an entry to the dead-letter stream with the reason, before it is acknowledged. */
  private async deadLetter(entry: Entry, reason: string): Promise<void> {
    await this.client.call('XADD', [
      entry.stream + this.deadLetterSuffix,
      '*',
      ...entry.fields,
      'dead_reason',
      reason,
      'dead_deliveries',
      entry.deliveries,
      'dead_group',
      this.group,
      'dead_stream_id',
      entry.streamId,
    ]);
    this.count(entry.stream, 'dead-lettered');
  }

  private count(stream: string, outcome: Outcome | 'redelivered'): void {
    const metrics = this.metrics;
    if (metrics === undefined) return;
    if (outcome === 'redelivered') metrics.redeliveries.at([stream, this.group]).value++;
    else metrics.consumed.at([stream, this.group, outcome]).value++;
  }
}

/**
 * A member of a Redis Streams consumer group for the outbox's topics: reads new entries, hands
 * each to `handler`, acknowledges it once handled, takes over entries left pending by a dead
 * consumer (XAUTOCLAIM after `claimIdleMs`), and moves an entry delivered more than
 * `maxDeliveries` times, or one it cannot read, to the dead-letter stream. Delivery is at least
 * once; with an `inbox`, effects written through the handler's `tx` happen once.
 */
export function redisStreamsConsumer<Tx = undefined>(
  options: RedisStreamsConsumerOptions<Tx>,
): RedisStreamsConsumer {
  return new StreamsConsumer(options);
}
