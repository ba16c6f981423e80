import { describe, expect, it } from 'vitest';
import { type CacheStatusParts, appendCacheStatus, formatCacheStatus } from './cache-status.js';

const base: CacheStatusParts = {
  cacheStatus: 'hit',
  ttl: undefined,
  fwd: undefined,
  fwdStatus: undefined,
  stored: false,
  collapsed: false,
};

describe('formatCacheStatus (RFC 9211)', () => {
  it('writes a hit with its remaining freshness', () => {
    expect(formatCacheStatus('bulwark', { ...base, ttl: 42 })).toBe('bulwark; hit; ttl=42');
  });

  it('writes a forwarded, stored response', () => {
    expect(
      formatCacheStatus('bulwark', {
        ...base,
        cacheStatus: 'miss',
        fwd: 'uri-miss',
        fwdStatus: 200,
        stored: true,
      }),
    ).toBe('bulwark; fwd=uri-miss; fwd-status=200; stored');
  });

  it('writes a collapsed request', () => {
    expect(
      formatCacheStatus('c', { ...base, cacheStatus: 'miss', fwd: 'uri-miss', collapsed: true }),
    ).toBe('c; fwd=uri-miss; collapsed');
  });

  it('writes stale responses with a negative ttl and a detail', () => {
    expect(
      formatCacheStatus('b', { ...base, cacheStatus: 'stale-while-revalidate', ttl: -5 }),
    ).toBe('b; hit; ttl=-5; detail=stale-while-revalidate');
    expect(
      formatCacheStatus('b', {
        ...base,
        cacheStatus: 'stale-if-error',
        fwd: 'stale',
        fwdStatus: 503,
        ttl: -30,
      }),
    ).toBe('b; fwd=stale; fwd-status=503; ttl=-30; detail=stale-if-error');
  });

  it('writes an only-if-cached miss without hit', () => {
    expect(formatCacheStatus('b', { ...base, cacheStatus: 'only-if-cached-miss' })).toBe(
      'b; detail=only-if-cached',
    );
  });
});

describe('appendCacheStatus', () => {
  it('adds this cache after the caches nearer the origin', () => {
    expect(appendCacheStatus('cdn; hit', 'bulwark; hit')).toBe('cdn; hit, bulwark; hit');
    expect(appendCacheStatus(undefined, 'bulwark; hit')).toBe('bulwark; hit');
  });
});
