import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import type { OutboxDatabase } from './database.js';
import { checkTopic } from './message.js';
import type { OutboxQueries } from './queries.js';

/** A message that ran out of attempts (or that the broker rejected), as the table keeps it. */
export interface DeadLetter {
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly payloadJson: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Attempts made, the last included. */
  readonly attempts: number;
  /** The last attempt's error, as text. */
  readonly lastError: string | undefined;
  readonly enqueuedAt: Date;
  readonly deadAt: Date;
}

export interface ListDeadLettersOptions {
  /** Only this topic's. */
  topic?: string;
  /** At most this many, 1–10,000. Default 100. */
  limit?: number;
  /** The page after this id (the last id of the page before). Ids sort by enqueue time. */
  after?: string;
}

/** What replayAll() and dropAll() act on: every dead letter, or one topic's. */
export interface DeadLetterFilter {
  topic?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_IDS = 10_000;
export const DEFAULT_LIST_LIMIT = 100;

interface DeadLetterRow {
  id: string;
  topic: string;
  key: string | null;
  payload: string;
  headers: string | null;
  attempts: number;
  last_error: string | null;
  created_ms: number;
  dead_ms: number;
}

function checkIds(ids: unknown): asserts ids is readonly string[] {
  if (!Array.isArray(ids)) {
    throw new TypeError(`expected ids to be an array of message ids, got ${describeValue(ids)}`);
  }
  if (ids.length > MAX_IDS) {
    throw new RangeError(`expected at most ${MAX_IDS} ids, got ${ids.length}`);
  }
  for (const id of ids) {
    if (typeof id !== 'string' || !UUID.test(id)) {
      throw new TypeError(
        `expected every id to be a message id (a UUID), got ${describeValue(id)}`,
      );
    }
  }
}

function checkFilter(method: string, filter: unknown): string | null {
  checkOptionsObject(method, filter);
  checkKnownOptions(method, filter, ['topic']);
  const { topic } = filter as DeadLetterFilter;
  if (topic === undefined) return null;
  checkTopic(topic);
  return topic;
}

function ids(rows: readonly unknown[]): string[] {
  return (rows as Array<{ id: string }>).map((row) => row.id);
}

/**
 * The dead-letter table of one outbox. Replaying moves a message back into the outbox under its
 * own id, attempts reset: consumers that saw an earlier delivery still deduplicate it.
 */
export class DeadLetters {
  /** @internal Use `outbox.deadLetters`. */
  constructor(
    private readonly database: OutboxDatabase,
    private readonly queries: OutboxQueries,
  ) {}

  /** The dead letters in id order (enqueue order), a page at a time. */
  async list(options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
    checkOptionsObject('deadLetters.list', options);
    checkKnownOptions('deadLetters.list', options, ['topic', 'limit', 'after']);
    const { topic, limit = DEFAULT_LIST_LIMIT, after } = options;
    if (topic !== undefined) checkTopic(topic);
    checkInteger('limit', limit, 1, MAX_IDS);
    if (after !== undefined) checkIds([after]);
    const { rows } = await this.database.query(this.queries.listDeadLetters, [
      topic ?? null,
      after ?? null,
      limit,
    ]);
    return (rows as DeadLetterRow[]).map((row) => ({
      id: row.id,
      topic: row.topic,
      key: row.key ?? undefined,
      payloadJson: row.payload,
      headers: row.headers === null ? {} : (JSON.parse(row.headers) as Record<string, string>),
      attempts: row.attempts,
      lastError: row.last_error ?? undefined,
      enqueuedAt: new Date(row.created_ms),
      deadAt: new Date(row.dead_ms),
    }));
  }

  /** Moves these dead letters back into the outbox; resolves to the ids found and moved. */
  async replay(ids: readonly string[]): Promise<string[]> {
    checkIds(ids);
    if (ids.length === 0) return [];
    return this.run(this.queries.replayDeadLetters, ids.join(','), null);
  }

  /** Moves every dead letter (of one topic, if given) back into the outbox. */
  async replayAll(filter: DeadLetterFilter = {}): Promise<string[]> {
    return this.run(
      this.queries.replayDeadLetters,
      null,
      checkFilter('deadLetters.replayAll', filter),
    );
  }

  /** Deletes these dead letters for good; resolves to the ids found and deleted. */
  async drop(ids: readonly string[]): Promise<string[]> {
    checkIds(ids);
    if (ids.length === 0) return [];
    return this.run(this.queries.dropDeadLetters, ids.join(','), null);
  }

  /** Deletes every dead letter (of one topic, if given). */
  async dropAll(filter: DeadLetterFilter = {}): Promise<string[]> {
    return this.run(this.queries.dropDeadLetters, null, checkFilter('deadLetters.dropAll', filter));
  }

  private async run(query: string, idList: string | null, topic: string | null): Promise<string[]> {
    const { rows } = await this.database.query(query, [idList, topic]);
    return ids(rows);
  }
}
