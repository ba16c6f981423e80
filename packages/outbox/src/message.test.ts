import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_DEPTH, MAX_TOPIC_LENGTH, toMessageRow } from './message.js';

const limits = { maxPayloadBytes: 1024, maxKeyLength: 16 };
const row = (message: unknown) => toMessageRow(message, limits);

class Money {
  constructor(readonly cents: number) {}
}

describe('a message at enqueue', () => {
  it('renders a valid message as the table stores it', () => {
    expect(
      row({ topic: 'orders.created', key: 'o-1', payload: { n: 1 }, headers: { 'x-a': 'b' } }),
    ).toEqual({
      topic: 'orders.created',
      key: 'o-1',
      payload: '{"n":1}',
      headers: '{"x-a":"b"}',
    });
    expect(row({ topic: 't', payload: null })).toEqual({
      topic: 't',
      key: null,
      payload: 'null',
      headers: null,
    });
  });

  it('writes a Date as JSON.stringify does, and leaves out properties that are undefined', () => {
    const at = new Date(Date.UTC(2026, 0, 2));
    expect(row({ topic: 't', payload: { at, gone: undefined } }).payload).toBe(
      '{"at":"2026-01-02T00:00:00.000Z"}',
    );
  });

  it.each([
    [{ topic: '', payload: 1 }, TypeError, 'expected topic to be a non-empty string, got ""'],
    [{ payload: 1 }, TypeError, 'expected topic to be a non-empty string, got undefined'],
    [{ topic: 'a\nb', payload: 1 }, RangeError, 'expected topic to be made of A-Z'],
    [{ topic: 'a b', payload: 1 }, RangeError, 'expected topic to be made of A-Z'],
    [{ topic: '.hidden', payload: 1 }, RangeError, 'starting with a letter or digit'],
    [
      { topic: 't'.repeat(MAX_TOPIC_LENGTH + 1), payload: 1 },
      RangeError,
      `expected topic to be at most ${MAX_TOPIC_LENGTH} characters, got 201 characters`,
    ],
  ])('refuses the topic of %j', (message, Kind, text) => {
    expect(() => row(message)).toThrow(Kind);
    expect(() => row(message)).toThrow(text);
  });

  it.each([
    ['a control character', 'user\r\n1', 'got U+000D at index 4'],
    ['DEL', 'user\u007f', 'got U+007F at index 4'],
    ['a C1 control', 'user\u0085', 'got U+0085 at index 4'],
    ['a lone surrogate', 'user\ud800', 'got U+D800 at index 4'],
  ])('refuses a key with %s, without echoing the key', (_what, key, text) => {
    expect(() => row({ topic: 't', key, payload: 1 })).toThrow(RangeError);
    expect(() => row({ topic: 't', key, payload: 1 })).toThrow(text);
    expect(() => row({ topic: 't', key, payload: 1 })).not.toThrow('user');
  });

  it('accepts a key with a well-formed surrogate pair, and refuses a key that is too long or empty', () => {
    expect(row({ topic: 't', key: 'emoji-😀', payload: 1 }).key).toBe('emoji-😀');
    expect(() => row({ topic: 't', key: 'k'.repeat(17), payload: 1 })).toThrow(
      'expected key to be at most 16 characters, got 17 characters',
    );
    expect(() => row({ topic: 't', key: '', payload: 1 })).toThrow(
      'expected key to be a non-empty string or undefined, got an empty string',
    );
    expect(() => row({ topic: 't', key: 42, payload: 1 })).toThrow(TypeError);
  });

  it.each([
    ['undefined', undefined, 'expected payload to be a JSON value, got undefined'],
    ['NaN', { price: Number.NaN }, 'payload.price is NaN, which JSON cannot represent'],
    ['Infinity', [1, Infinity], 'payload[1] is Infinity, which JSON cannot represent'],
    ['a BigInt', { n: 10n }, 'payload.n is 10n, which JSON cannot represent'],
    ['a function', { f: () => 1 }, 'payload.f is a function, which JSON cannot represent'],
    ['a symbol', { s: Symbol('s') }, 'payload.s is symbol, which JSON cannot represent'],
    ['a Map', { m: new Map() }, 'payload.m is a Map, which JSON cannot represent faithfully'],
    [
      'a class instance',
      new Money(5),
      'payload is a Money, which JSON cannot represent faithfully',
    ],
    ['a Buffer', Buffer.from('x'), 'payload is a Buffer'],
    // eslint-disable-next-line no-sparse-arrays
    ['an array hole', [1, , 3], 'payload[1] is undefined, which JSON would turn into null'],
  ])('refuses a payload with %s, naming where it is', (_what, payload, text) => {
    expect(() => row({ topic: 't', payload })).toThrow(TypeError);
    expect(() => row({ topic: 't', payload })).toThrow(text);
  });

  it('refuses a payload that refers back to itself', () => {
    const order: Record<string, unknown> = { id: 1 };
    order.self = { order };
    expect(() => row({ topic: 't', payload: order })).toThrow(
      'payload.self.order refers back to itself',
    );
  });

  it('accepts an object seen twice that is not its own ancestor', () => {
    const shared = { a: 1 };
    expect(row({ topic: 't', payload: { x: shared, y: shared } }).payload).toBe(
      '{"x":{"a":1},"y":{"a":1}}',
    );
  });

  it(`refuses a payload nested deeper than ${MAX_PAYLOAD_DEPTH} levels`, () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_PAYLOAD_DEPTH; i++) deep = [deep];
    expect(() => row({ topic: 't', payload: deep })).toThrow(RangeError);
  });

  it('counts the payload limit in UTF-8 bytes, not characters, and accepts one exactly at it', () => {
    // Two bytes per é, plus the two quotes of a JSON string.
    expect(row({ topic: 't', payload: 'é'.repeat(511) }).payload).toHaveLength(513);
    expect(() => row({ topic: 't', payload: 'é'.repeat(512) })).toThrow(
      'expected payload to be at most 1024 bytes as JSON, got 1026',
    );
  });

  it.each([
    [{ 'bad name': 'x' }, RangeError, 'expected header names to be HTTP tokens'],
    [{ 'x-a': 1 }, TypeError, 'expected header "x-a" to be a string, got 1'],
    [{ 'x-a': 'a\r\nInjected: 1' }, RangeError, 'expected header "x-a" without control characters'],
    [{ 'x-a': 'v'.repeat(4097) }, RangeError, 'to be at most 4096 characters'],
    [{ 'Content-Length': '5' }, RangeError, 'describes a connection, not a message'],
    [{ Host: 'evil' }, RangeError, 'describes a connection, not a message'],
    [{ 'x-a': '1', 'X-A': '2' }, RangeError, 'is given twice'],
    [[['x-a', '1']], TypeError, 'expected headers to be an object of strings'],
  ])('refuses the headers %j', (headers, Kind, text) => {
    expect(() => row({ topic: 't', payload: 1, headers })).toThrow(Kind);
    expect(() => row({ topic: 't', payload: 1, headers })).toThrow(text);
  });

  it('refuses more than 64 headers', () => {
    const headers = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-${i}`, 'v']));
    expect(() => row({ topic: 't', payload: 1, headers })).toThrow(
      'expected at most 64 headers, got 65',
    );
  });

  it('refuses a misspelt field and a message that is not an object', () => {
    expect(() => row({ topic: 't', paylaod: 1 })).toThrow(
      'unknown option "paylaod" for enqueue(); did you mean "payload"?',
    );
    expect(() => row('hello')).toThrow(TypeError);
  });
});
