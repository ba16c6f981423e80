import { describe, expect, it } from 'vitest';
import { parseBase, resolveTarget } from './target.js';

describe('resolveTarget', () => {
  const base = parseBase('http://api.test:8080/v1/');

  it('puts a path under the base URL', () => {
    expect(base).toEqual({ origin: 'http://api.test:8080', prefix: '/v1' });
    expect(resolveTarget('/users/1?x=1', base, undefined)).toEqual({
      origin: 'http://api.test:8080',
      path: '/v1/users/1?x=1',
    });
    expect(resolveTarget('/a', parseBase('http://h'), undefined)).toEqual({
      origin: 'http://h',
      path: '/a',
    });
  });

  it('splits absolute URLs into a normalised origin and a path', () => {
    expect(resolveTarget('HTTP://Example.COM:80/A?b', undefined, undefined)).toEqual({
      origin: 'http://example.com',
      path: '/A?b',
    });
    expect(resolveTarget('https://h', undefined, undefined)).toEqual({
      origin: 'https://h',
      path: '/',
    });
    expect(resolveTarget('https://h?q=1#frag', undefined, undefined)).toEqual({
      origin: 'https://h',
      path: '/?q=1',
    });
    expect(resolveTarget('http://[::1]:3000/x', undefined, undefined)).toEqual({
      origin: 'http://[::1]:3000',
      path: '/x',
    });
    expect(resolveTarget(new URL('https://h:443/p?q'), undefined, undefined)).toEqual({
      origin: 'https://h',
      path: '/p?q',
    });
  });

  it('appends query parameters, leaving out undefined ones', () => {
    expect(resolveTarget('/s', base, { q: 'a&b', n: 1, t: true, u: undefined }).path).toBe(
      '/v1/s?q=a%26b&n=1&t=true',
    );
    expect(resolveTarget('/s?x=1', base, { y: 2 }).path).toBe('/v1/s?x=1&y=2');
    expect(resolveTarget('/s', base, { u: undefined }).path).toBe('/v1/s');
  });

  it('refuses what it cannot send', () => {
    expect(() => resolveTarget('/path', undefined, undefined)).toThrow(
      new TypeError('expected an absolute URL, or a baseUrl option for the path "/path"'),
    );
    expect(() => resolveTarget('ftp://h/x', undefined, undefined)).toThrow(
      new TypeError('expected an http: or https: URL, got "ftp://h/x"'),
    );
    expect(() => resolveTarget('not a url', undefined, undefined)).toThrow(
      new TypeError('expected url to be an absolute http(s) URL or a path, got "not a url"'),
    );
    expect(() => resolveTarget('http://user:pw@h/', undefined, undefined)).toThrow(
      new TypeError('expected a URL without credentials; send an Authorization header instead'),
    );
    expect(() => resolveTarget(42 as unknown as string, undefined, undefined)).toThrow(
      new TypeError('expected url to be a string or a URL, got 42'),
    );
  });
});

describe('parseBase', () => {
  it('refuses a base with a query or a fragment, or of another type', () => {
    expect(() => parseBase('http://h/?a=1')).toThrow(
      new TypeError('expected baseUrl without a query or fragment, got "http://h/?a=1"'),
    );
    expect(() => parseBase(7 as unknown as string)).toThrow(
      new TypeError('expected baseUrl to be a string or a URL, got 7'),
    );
    expect(parseBase(new URL('https://h/base'))).toEqual({ origin: 'https://h', prefix: '/base' });
  });
});
