import { describe, expect, it } from 'vitest';
import {
  MAX_DELTA_SECONDS,
  parseCacheControl,
  parseDeltaSeconds,
  pragmaNoCache,
} from './cache-control.js';

describe('parseCacheControl', () => {
  it('reads every response directive it knows', () => {
    const d = parseCacheControl(
      'public, max-age=60, s-maxage=120, must-revalidate, proxy-revalidate, immutable, no-store, stale-while-revalidate=30, stale-if-error=600',
    );
    expect(d).toMatchObject({
      public: true,
      maxAge: 60,
      sMaxAge: 120,
      mustRevalidate: true,
      proxyRevalidate: true,
      immutable: true,
      noStore: true,
      staleWhileRevalidate: 30,
      staleIfError: 600,
      invalidFreshness: false,
      invalidSharedFreshness: false,
    });
  });

  it('reads every request directive it knows', () => {
    const d = parseCacheControl('max-age=5, max-stale=10, min-fresh=3, no-cache, only-if-cached');
    expect(d).toMatchObject({
      maxAge: 5,
      maxStale: 10,
      minFresh: 3,
      noCache: true,
      onlyIfCached: true,
    });
  });

  it('treats directive names case-insensitively', () => {
    expect(parseCacheControl('MAX-AGE=60, No-Store, PRIVATE')).toMatchObject({
      maxAge: 60,
      noStore: true,
      private: true,
    });
  });

  it('accepts a quoted argument where a token is expected', () => {
    expect(parseCacheControl('max-age="60"').maxAge).toBe(60);
  });

  it('tolerates whitespace around directives and empty list members', () => {
    expect(parseCacheControl(' ,  max-age = 60 ,, public ,').maxAge).toBe(60);
    expect(parseCacheControl(' ,  max-age = 60 ,, public ,').public).toBe(true);
  });

  it('marks a non-numeric max-age as invalid freshness instead of skipping it', () => {
    const d = parseCacheControl('max-age=abc');
    expect(d.maxAge).toBeUndefined();
    expect(d.invalidFreshness).toBe(true);
  });

  it('marks max-age without a value, with a sign or a fraction as invalid', () => {
    for (const value of [
      'max-age',
      'max-age=',
      'max-age=-5',
      'max-age=+5',
      'max-age=1.5',
      'max-age=1e3',
    ]) {
      expect(parseCacheControl(value).invalidFreshness, value).toBe(true);
    }
  });

  it('marks a malformed s-maxage as invalid for shared caches only', () => {
    expect(parseCacheControl('s-maxage=soon').invalidSharedFreshness).toBe(true);
    expect(parseCacheControl('s-maxage=soon').invalidFreshness).toBe(false);
  });

  it('ignores other malformed numeric directives', () => {
    const d = parseCacheControl(
      'stale-while-revalidate=x, stale-if-error=-1, min-fresh=, max-stale=abc',
    );
    expect(d.staleWhileRevalidate).toBeUndefined();
    expect(d.staleIfError).toBeUndefined();
    expect(d.minFresh).toBeUndefined();
    expect(d.maxStale).toBeUndefined();
    expect(d.invalidFreshness).toBe(false);
  });

  it('keeps the most restrictive of duplicate directives: the smallest max-age', () => {
    expect(parseCacheControl('max-age=60, max-age=30').maxAge).toBe(30);
    expect(parseCacheControl('max-age=30, max-age=60').maxAge).toBe(30);
  });

  it('keeps the largest of duplicate min-fresh directives, the most restrictive', () => {
    expect(parseCacheControl('min-fresh=5, min-fresh=20').minFresh).toBe(20);
  });

  it('counts a duplicate max-age that is malformed as invalid freshness', () => {
    const d = parseCacheControl('max-age=60, max-age=oops');
    expect(d.invalidFreshness).toBe(true);
  });

  it('clamps a huge max-age to 2^31 seconds instead of overflowing', () => {
    expect(parseCacheControl('max-age=99999999999999999999999999').maxAge).toBe(MAX_DELTA_SECONDS);
    expect(parseCacheControl(`max-age=${'9'.repeat(400)}`).maxAge).toBe(MAX_DELTA_SECONDS);
    expect(parseCacheControl('max-age=2147483649').maxAge).toBe(MAX_DELTA_SECONDS);
    expect(parseCacheControl('max-age=2147483647').maxAge).toBe(2147483647);
  });

  it('reads max-stale without a value as any staleness', () => {
    expect(parseCacheControl('max-stale').maxStale).toBe(Infinity);
    expect(parseCacheControl('max-stale, max-stale=10').maxStale).toBe(10);
  });

  it('reads a qualified no-cache as the list of fields it names', () => {
    const d = parseCacheControl('no-cache="Set-Cookie, X-User", max-age=60');
    expect(d.noCache).toBe(false);
    expect(d.noCacheFields).toEqual(['set-cookie', 'x-user']);
    expect(d.maxAge).toBe(60);
  });

  it('reads a qualified private as the list of fields it names', () => {
    const d = parseCacheControl('private="x-user", max-age=60');
    expect(d.private).toBe(false);
    expect(d.privateFields).toEqual(['x-user']);
  });

  it('lets an unqualified no-cache win over a qualified one', () => {
    const d = parseCacheControl('no-cache="x-a", no-cache');
    expect(d.noCache).toBe(true);
    expect(d.noCacheFields).toBeUndefined();
  });

  it('reads a no-cache whose quoted list is never closed as unqualified', () => {
    const d = parseCacheControl('no-cache="set-cookie, max-age=60');
    expect(d.noCache).toBe(true);
  });

  it('reads a private with an invalid field name as unqualified', () => {
    expect(parseCacheControl('private="bad name"').private).toBe(true);
  });

  it('does not split a quoted argument at its commas', () => {
    const d = parseCacheControl('no-cache="a, b", public');
    expect(d.noCacheFields).toEqual(['a', 'b']);
    expect(d.public).toBe(true);
  });

  it('honours escaped quotes inside a quoted argument', () => {
    const d = parseCacheControl('ext="a\\"b,c", max-age=5');
    expect(d.maxAge).toBe(5);
  });

  it('ignores unknown directives and extension arguments', () => {
    const d = parseCacheControl('community="UCI", foo=bar, max-age=5');
    expect(d.maxAge).toBe(5);
  });

  it('returns empty directives for an absent or empty field', () => {
    expect(parseCacheControl(undefined)).toMatchObject({ maxAge: undefined, noStore: false });
    expect(parseCacheControl('')).toMatchObject({ maxAge: undefined, noCache: false });
  });

  it('reads a quoted numeric argument with trailing junk as malformed', () => {
    expect(parseCacheControl('max-age="60"x').invalidFreshness).toBe(true);
  });
});

describe('parseDeltaSeconds', () => {
  it('accepts digits only', () => {
    expect(parseDeltaSeconds('0')).toBe(0);
    expect(parseDeltaSeconds('007')).toBe(7);
    expect(parseDeltaSeconds('-1')).toBeUndefined();
    expect(parseDeltaSeconds(' 1')).toBeUndefined();
    expect(parseDeltaSeconds('')).toBeUndefined();
  });
});

describe('pragmaNoCache', () => {
  it('finds no-cache in a Pragma list, case-insensitively', () => {
    expect(pragmaNoCache('No-Cache')).toBe(true);
    expect(pragmaNoCache('foo, no-cache')).toBe(true);
    expect(pragmaNoCache('foo')).toBe(false);
    expect(pragmaNoCache(undefined)).toBe(false);
  });
});
