import { describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH, fingerprint, storeKey } from './fingerprint.js';

describe('fingerprint', () => {
  it('is stable for the same method, path and body', () => {
    expect(fingerprint('POST', '/orders', '{"a":1}')).toBe(
      fingerprint('POST', '/orders', '{"a":1}'),
    );
  });

  it('changes with the method, the path, the query or the body', () => {
    const base = fingerprint('POST', '/orders', 'x');
    expect(fingerprint('PATCH', '/orders', 'x')).not.toBe(base);
    expect(fingerprint('POST', '/orders/1', 'x')).not.toBe(base);
    expect(fingerprint('POST', '/orders?a=1', 'x')).not.toBe(base);
    expect(fingerprint('POST', '/orders', 'y')).not.toBe(base);
  });

  it('cannot be fooled by moving bytes between path and body', () => {
    expect(fingerprint('POST', '/a', 'b')).not.toBe(fingerprint('POST', '/ab', ''));
  });

  it('hashes Buffers, Uint8Arrays and strings with the same bytes alike', () => {
    const text = fingerprint('POST', '/', 'héllo');
    expect(fingerprint('POST', '/', Buffer.from('héllo'))).toBe(text);
    expect(fingerprint('POST', '/', new Uint8Array(Buffer.from('héllo')))).toBe(text);
  });

  it('hashes parsed bodies canonically, whatever the key order', () => {
    expect(fingerprint('POST', '/', { a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      fingerprint('POST', '/', { b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    expect(fingerprint('POST', '/', { a: [1, 2] })).not.toBe(
      fingerprint('POST', '/', { a: [2, 1] }),
    );
  });

  it('treats a missing body, null and an empty string alike', () => {
    const empty = fingerprint('POST', '/', '');
    expect(fingerprint('POST', '/', undefined)).toBe(empty);
    expect(fingerprint('POST', '/', null)).toBe(empty);
  });

  it('follows JSON rules for undefined fields and toJSON', () => {
    expect(fingerprint('POST', '/', { a: 1, b: undefined })).toBe(
      fingerprint('POST', '/', { a: 1 }),
    );
    const date = new Date(Date.UTC(2026, 0, 1));
    expect(fingerprint('POST', '/', { at: date })).toBe(
      fingerprint('POST', '/', { at: '2026-01-01T00:00:00.000Z' }),
    );
  });

  it('refuses a circular body', () => {
    const body: Record<string, unknown> = { a: 1 };
    body['self'] = body;
    expect(() => fingerprint('POST', '/', body)).toThrow('request body is circular');
  });

  it('accepts the same object twice side by side (not circular)', () => {
    const shared = { x: 1 };
    expect(() => fingerprint('POST', '/', { a: shared, b: shared })).not.toThrow();
  });

  it('refuses a body nested deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_BODY_DEPTH + 1; i++) deep = [deep];
    expect(() => fingerprint('POST', '/', deep)).toThrow('request body nested too deeply');
  });
});

describe('storeKey', () => {
  it('scopes a key to its caller', () => {
    expect(storeKey('alice', 'k1')).not.toBe(storeKey('bob', 'k1'));
    expect(storeKey('alice', 'k1')).toBe(storeKey('alice', 'k1'));
  });

  it('keeps anonymous callers apart from every named one', () => {
    expect(storeKey(undefined, 'k1')).not.toBe(storeKey('', 'k1'));
    expect(storeKey(undefined, 'k1')).not.toBe(storeKey('null', 'k1'));
  });

  it('cannot be fooled by moving characters between identity and key', () => {
    expect(storeKey('a:b', 'c')).not.toBe(storeKey('a', 'b:c'));
    expect(storeKey('a","b', 'c')).not.toBe(storeKey('a', 'b","c'));
  });

  it('never contains the key itself', () => {
    expect(storeKey('alice', 'secret-key-123')).not.toContain('secret');
  });
});
