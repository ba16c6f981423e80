import { describe, expect, it } from 'vitest';
import { URL_MEMO_SIZE, UrlNormalizer, cacheKey, normalizeUrl, sameOrigin } from './cache-key.js';

describe('normalizeUrl', () => {
  it('lowercases scheme and host, drops the default port and the fragment', () => {
    expect(normalizeUrl('HTTP://Example.COM:80/a?b=1#frag')).toBe('http://example.com/a?b=1');
  });

  it('resolves a relative reference against a base', () => {
    expect(normalizeUrl('/x', 'http://h/a/b')).toBe('http://h/x');
  });

  it('rejects what is not an absolute http(s) URL', () => {
    expect(normalizeUrl('/relative')).toBeUndefined();
    expect(normalizeUrl('ftp://h/x')).toBeUndefined();
    expect(normalizeUrl('not a url')).toBeUndefined();
  });
});

describe('UrlNormalizer', () => {
  it('remembers results, and forgets them all once full rather than growing', () => {
    const n = new UrlNormalizer();
    for (let i = 0; i <= URL_MEMO_SIZE; i++) n.normalize(`http://h/${i}`);
    expect(n.normalize('http://h/0')).toEqual({ url: 'http://h/0', getKey: 'GET http://h/0' });
    expect(n.normalize('bad')).toBeUndefined();
    expect(n.normalize('bad')).toBeUndefined();
  });
});

describe('cacheKey', () => {
  it('keeps partitions apart, however they are spelled', () => {
    expect(cacheKey('GET', 'http://h/a', undefined)).toBe('GET http://h/a');
    expect(cacheKey('GET', 'http://h/a', 'alice')).not.toBe(cacheKey('GET', 'http://h/a', 'bob'));
    expect(cacheKey('GET', 'http://h/a', '')).not.toBe(cacheKey('GET', 'http://h/a', undefined));
  });
});

describe('sameOrigin', () => {
  it('compares scheme, host and port', () => {
    expect(sameOrigin('http://h/a', 'http://h:80/b')).toBe(true);
    expect(sameOrigin('http://h/a', 'https://h/a')).toBe(false);
    expect(sameOrigin('http://h/a', 'http://other/a')).toBe(false);
    expect(sameOrigin('bad', 'http://h/a')).toBe(false);
  });
});
