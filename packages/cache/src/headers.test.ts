import { describe, expect, it } from 'vitest';
import {
  UNSTORED_FIELDS,
  getHeader,
  headersToStore,
  readRequestHeaders,
  splitSetCookie,
  toHeaderRecord,
  unstoredFields,
  withoutHopByHop,
} from './headers.js';

describe('toHeaderRecord', () => {
  it('lowercases names and joins repeated fields and arrays', () => {
    expect(
      toHeaderRecord({
        'Content-Type': 'text/plain',
        accept: ['a', 'b'],
        'X-N': 5,
        skip: undefined,
      }),
    ).toEqual({ 'content-type': 'text/plain', accept: 'a, b', 'x-n': '5' });
    expect(toHeaderRecord({ Vary: 'a', vary: 'b' })).toEqual({ vary: 'a, b' });
  });

  it('copies a Headers object', () => {
    expect(toHeaderRecord(new Headers({ 'X-A': '1' }))).toEqual({ 'x-a': '1' });
  });

  it('keeps every Set-Cookie of a Headers object, which hands them out one by one', () => {
    const headers = new Headers();
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    expect(toHeaderRecord(headers)).toEqual({ 'set-cookie': 'a=1, b=2' });
  });

  it('returns an empty record for no headers', () => {
    expect(toHeaderRecord(undefined)).toEqual({});
  });
});

describe('splitSetCookie', () => {
  it('splits joined cookies at the commas that start a new one, not those in Expires', () => {
    const cookies = [
      'sid=abc; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly',
      'theme=dark',
      '__Host-x=1; Expires=Thu, 01 Jan 2037 00:00:00 GMT',
    ];
    expect(splitSetCookie(cookies.join(', '))).toEqual(cookies);
    expect(splitSetCookie(cookies.join(','))).toEqual(cookies);
  });

  it('keeps a lone cookie whole, and a comma inside a value where it is', () => {
    expect(splitSetCookie('a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT')).toEqual([
      'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
    ]);
    expect(splitSetCookie('list=x,y; Path=/, b=2')).toEqual(['list=x,y; Path=/', 'b=2']);
    expect(splitSetCookie('')).toEqual([]);
  });
});

describe('getHeader', () => {
  it('finds a field whatever the case of its name', () => {
    expect(getHeader({ Authorization: 'Bearer x' }, 'authorization')).toBe('Bearer x');
    expect(getHeader(new Headers({ Authorization: 'Bearer x' }), 'authorization')).toBe('Bearer x');
    expect(getHeader({ authorization: 'a' }, 'cookie')).toBeUndefined();
  });
});

describe('readRequestHeaders', () => {
  it('sees Authorization and Cookie in any case', () => {
    const info = readRequestHeaders({ AUTHORIZATION: 'Bearer t', Cookie: 'sid=1' });
    expect(info.authorization).toBe('Bearer t');
    expect(info.cookie).toBe('sid=1');
  });

  it('flags conditional and range requests for pass-through', () => {
    for (const name of [
      'If-None-Match',
      'if-modified-since',
      'If-Match',
      'if-unmodified-since',
      'if-range',
      'Range',
    ]) {
      expect(readRequestHeaders({ [name]: 'x' }).passThrough, name).toBe(true);
    }
    expect(readRequestHeaders({ accept: '*/*' }).passThrough).toBe(false);
  });

  it('joins repeated Cache-Control fields', () => {
    expect(
      readRequestHeaders({ 'cache-control': 'max-age=5', 'Cache-Control': 'no-cache' })
        .cacheControl,
    ).toBe('max-age=5, no-cache');
  });

  it('reads a Headers object', () => {
    expect(readRequestHeaders(new Headers({ pragma: 'no-cache' })).pragma).toBe('no-cache');
  });
});

describe('headersToStore', () => {
  const received = {
    'content-type': 'text/plain',
    connection: 'keep-alive, x-hop',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-hop': '1',
    age: '5',
    'set-cookie': 'sid=1',
  };

  it('drops hop-by-hop fields, Age and the fields Connection names, and keeps Set-Cookie privately', () => {
    expect(headersToStore(received, unstoredFields(false), undefined, 1024)).toEqual({
      'content-type': 'text/plain',
      'set-cookie': 'sid=1',
    });
  });

  it('drops Set-Cookie too for a shared cache', () => {
    expect(headersToStore(received, unstoredFields(true), undefined, 1024)).toEqual({
      'content-type': 'text/plain',
    });
  });

  it('drops the fields a qualified directive names', () => {
    expect(headersToStore({ 'x-user': 'bob', a: '1' }, UNSTORED_FIELDS, ['x-user'], 1024)).toEqual({
      a: '1',
    });
  });

  it('refuses a value with CR, LF or NUL', () => {
    expect(
      headersToStore({ a: 'x\r\nset-cookie: y' }, UNSTORED_FIELDS, undefined, 1024),
    ).toBeUndefined();
    expect(headersToStore({ a: 'x\0' }, UNSTORED_FIELDS, undefined, 1024)).toBeUndefined();
  });

  it('refuses a field name that is not a token', () => {
    expect(headersToStore({ 'bad name': 'x' }, UNSTORED_FIELDS, undefined, 1024)).toBeUndefined();
  });

  it('refuses headers larger than the limit', () => {
    expect(
      headersToStore({ a: 'x'.repeat(2_000) }, UNSTORED_FIELDS, undefined, 1_024),
    ).toBeUndefined();
  });
});

describe('withoutHopByHop', () => {
  it('drops framing fields and keeps the record when there are none', () => {
    const plain = { 'content-type': 'text/plain' };
    expect(withoutHopByHop(plain)).toBe(plain);
    expect(
      withoutHopByHop({ a: '1', 'transfer-encoding': 'chunked', connection: 'close' }),
    ).toEqual({
      a: '1',
    });
  });
});
