import { checkKnownOptions, checkOptionsObject, describeValue } from '@bulwark/core/internal';

/** What the application enqueues. */
export interface OutboxMessageInput {
  /** Where the message goes: the Redis stream (after the transport's prefix), a webhook's route. */
  topic: string;
  /**
   * Messages with the same key are published one at a time, in commit order; messages without
   * a key, or with different keys, in parallel. Usually the id of the entity that changed.
   */
  key?: string | undefined;
  /** Any JSON value: plain objects, arrays, strings, finite numbers, booleans, null; Dates as ISO strings. */
  payload: unknown;
  /** Carried with the message (and sent as HTTP headers by the webhook transport). */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** A message as the relay hands it to a transport. */
export interface OutboxMessage {
  /** Stable across every delivery of this message: a UUIDv7. Consumers deduplicate by it. */
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** The payload as the JSON text written at enqueue, byte for byte. */
  readonly payloadJson: string;
  readonly headers: Readonly<Record<string, string>>;
  /** This delivery attempt, counting from 1. */
  readonly attempt: number;
  /** When the enqueueing transaction started (epoch milliseconds, the database's clock). */
  readonly enqueuedAt: number;
}

/** A validated message, in the form written to the table. */
export interface MessageRow {
  readonly topic: string;
  readonly key: string | null;
  readonly payload: string;
  readonly headers: string | null;
}

/** Limits applied at enqueue. */
export interface MessageLimits {
  readonly maxPayloadBytes: number;
  readonly maxKeyLength: number;
}

const MESSAGE_FIELDS = ['topic', 'key', 'payload', 'headers'] as const;

/** Topics name streams and routes: a conservative character set, so they are safe everywhere. */
const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
export const MAX_TOPIC_LENGTH = 200;
/** RFC 9110 token: a header name. */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 64;
const MAX_HEADER_NAME_LENGTH = 128;
const MAX_HEADER_VALUE_LENGTH = 4096;
/**
 * Headers that describe a connection or a body framing, not a message: carried into a webhook's
 * request, they would break it, and the message would fail on every attempt.
 */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Deeper payloads are refused before they reach JSON.stringify's own recursion limit. */
export const MAX_PAYLOAD_DEPTH = 256;

/**
 * The index of the first C0 or C1 control character or DEL (a tab too), or of a lone surrogate,
 * which UTF-8 cannot carry: PostgreSQL would refuse it or Node would replace it.
 */
function badCharacterAt(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return i;
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    }
  }
  return -1;
}

function describeCharacter(value: string, index: number): string {
  const code = value.charCodeAt(index);
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${index}`;
}

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new TypeError(`expected topic to be a non-empty string, got ${describeValue(topic)}`);
  }
  if (topic.length > MAX_TOPIC_LENGTH) {
    throw new RangeError(
      `expected topic to be at most ${MAX_TOPIC_LENGTH} characters, got ${topic.length} characters`,
    );
  }
  // Topics are names the application chose, not user data: the message may show one
  // (describeValue escapes control characters and shortens it).
  if (!TOPIC_PATTERN.test(topic)) {
    throw new RangeError(
      'expected topic to be made of A-Z, a-z, 0-9 and . _ : / - (starting with a letter or ' +
        `digit), got ${describeValue(topic)}`,
    );
  }
}

/** Keys are often user or tenant ids: messages say what is wrong with one, never what it is. */
export function checkKey(key: unknown, maxLength: number): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(
      `expected key to be a non-empty string or undefined, got ${typeof key === 'string' ? 'an empty string' : describeValue(key)}`,
    );
  }
  if (key.length > maxLength) {
    throw new RangeError(
      `expected key to be at most ${maxLength} characters, got ${key.length} characters`,
    );
  }
  const bad = badCharacterAt(key);
  if (bad >= 0) {
    throw new RangeError(
      `expected key without control characters or lone surrogates, got ${describeCharacter(key, bad)}`,
    );
  }
}

function checkHeaders(headers: unknown): string | null {
  if (headers === undefined) return null;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new TypeError(
      `expected headers to be an object of strings, got ${describeValue(headers)}`,
    );
  }
  const names = Object.keys(headers);
  if (names.length === 0) return null;
  if (names.length > MAX_HEADERS) {
    throw new RangeError(`expected at most ${MAX_HEADERS} headers, got ${names.length}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (name.length > MAX_HEADER_NAME_LENGTH || !HEADER_NAME_PATTERN.test(name)) {
      throw new RangeError(
        `expected header names to be HTTP tokens of at most ${MAX_HEADER_NAME_LENGTH} characters, got ${describeValue(name)}`,
      );
    }
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower)) {
      throw new RangeError(
        `header ${JSON.stringify(name)} describes a connection, not a message, and is refused`,
      );
    }
    if (seen.has(lower)) {
      throw new RangeError(`header ${JSON.stringify(name)} is given twice (names ignore case)`);
    }
    seen.add(lower);
    const value = (headers as Record<string, unknown>)[name];
    if (typeof value !== 'string') {
      throw new TypeError(
        `expected header ${JSON.stringify(name)} to be a string, got ${describeValue(value)}`,
      );
    }
    if (value.length > MAX_HEADER_VALUE_LENGTH) {
      throw new RangeError(
        `expected header ${JSON.stringify(name)} to be at most ${MAX_HEADER_VALUE_LENGTH} characters, got ${value.length}`,
      );
    }
    const bad = badCharacterAt(value);
    if (bad >= 0) {
      throw new RangeError(
        `expected header ${JSON.stringify(name)} without control characters, got ${describeCharacter(value, bad)}`,
      );
    }
  }
  return JSON.stringify(headers);
}

/**
 * Refuses what JSON cannot carry faithfully instead of letting JSON.stringify change it:
 * NaN and Infinity would become null, a BigInt would throw deep inside, a Map or a class
 * instance would become `{}`, a function would vanish, a cycle would throw. Dates are accepted:
 * they become ISO strings, as JSON.stringify writes them. A property whose value is undefined is
 * left out, as JSON.stringify does.
 */
function checkJson(value: unknown, path: string, depth: number, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`${path} is ${describeValue(value)}, which JSON cannot represent`);
      }
      return;
    case 'object': {
      if (value === null || value instanceof Date) return;
      if (depth >= MAX_PAYLOAD_DEPTH) {
        throw new RangeError(`payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
      }
      if (ancestors.includes(value)) throw new TypeError(`${path} refers back to itself`);
      ancestors.push(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) {
            throw new TypeError(`${path}[${i}] is undefined, which JSON would turn into null`);
          }
          checkJson(item, `${path}[${i}]`, depth + 1, ancestors);
        }
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
          throw new TypeError(
            `${path} is ${typeof kind === 'string' && kind !== '' ? `a ${kind}` : 'not a plain object'}, which JSON cannot represent faithfully`,
          );
        }
        for (const name of Object.keys(value)) {
          const item = (value as Record<string, unknown>)[name];
          if (item === undefined) continue;
          checkJson(
            item,
            `${path}.${name.length > 40 ? `${name.slice(0, 40)}…` : name}`,
            depth + 1,
            ancestors,
          );
        }
      }
      ancestors.pop();
      return;
    }
    default:
      throw new TypeError(`${path} is ${describeValue(value)}, which JSON cannot represent`);
  }
}

/** Checks one message and renders it as the table stores it; throws before anything is written. */
export function toMessageRow(input: unknown, limits: MessageLimits): MessageRow {
  checkOptionsObject('enqueue', input);
  checkKnownOptions('enqueue', input, MESSAGE_FIELDS);
  const { topic, key, payload, headers } = input as OutboxMessageInput;
  checkTopic(topic);
  if (key !== undefined && key !== null) checkKey(key, limits.maxKeyLength);
  if (payload === undefined) {
    throw new TypeError('expected payload to be a JSON value, got undefined');
  }
  checkJson(payload, 'payload', 0, []);
  const json = JSON.stringify(payload);
  // A string's length bounds its UTF-8 size from below; the exact count runs only near the limit.
  if (json.length * 3 > limits.maxPayloadBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > limits.maxPayloadBytes) {
      throw new RangeError(
        `expected payload to be at most ${limits.maxPayloadBytes} bytes as JSON, got ${bytes}`,
      );
    }
  }
  return { topic, key: key ?? null, payload: json, headers: checkHeaders(headers) };
}
