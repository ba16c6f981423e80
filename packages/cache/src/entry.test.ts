import { describe, expect, it } from 'vitest';
import { parseCacheControl } from './cache-control.js';
import {
  MAX_VALIDATOR_RETENTION_MS,
  MIN_VALIDATOR_RETENTION_MS,
  type OriginReply,
  type StoragePolicy,
  decideStorage,
  mergeNotModified,
  notModifiedMatches,
  retentionMs,
} from './entry.js';
import { formatHttpDate } from './http-date.js';

const NOW = Date.UTC(2026, 0, 1);
const POLICY: StoragePolicy = {
  shared: false,
  maxEntryBytes: 1024,
  maxHeaderBytes: 1024,
  defaultTtlMs: undefined,
  staleIfErrorMs: 0,
  keepStaleMs: 0,
};

function reply(headers: Record<string, string>, status = 200, body = 'hello'): OriginReply {
  return {
    status,
    headers: { date: formatHttpDate(NOW), ...headers },
    body: new TextEncoder().encode(body),
    requestTime: NOW,
    responseTime: NOW,
  };
}

function decide(
  headers: Record<string, string>,
  options: {
    status?: number;
    request?: string;
    authorization?: boolean;
    policy?: Partial<StoragePolicy>;
    body?: string;
  } = {},
) {
  return decideStorage(
    reply(headers, options.status, options.body),
    {
      directives: parseCacheControl(options.request),
      authorization: options.authorization ?? false,
    },
    { ...POLICY, ...options.policy },
    { 'accept-language': 'en' },
  );
}

describe('decideStorage', () => {
  it('stores a fresh response, with its lifetime and validators', () => {
    const d = decide({ 'cache-control': 'max-age=60', etag: '"v1"' });
    expect(d.reason).toBeUndefined();
    expect(d.entry).toMatchObject({ status: 200, freshnessMs: 60_000, etag: '"v1"' });
  });

  it('does not store when the request says no-store', () => {
    expect(decide({ 'cache-control': 'max-age=60' }, { request: 'no-store' }).reason).toBe(
      'request-no-store',
    );
  });

  it('does not store a no-store response', () => {
    expect(decide({ 'cache-control': 'max-age=60, no-store' }).reason).toBe('no-store');
  });

  it('does not store partial content or a 304', () => {
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 206 }).reason).toBe('status');
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 304 }).reason).toBe('status');
  });

  it('stores a status that is not heuristically cacheable only with explicit freshness', () => {
    expect(decide({}, { status: 302 }).reason).toBe('status');
    expect(decide({ 'cache-control': 'max-age=60' }, { status: 302 }).reason).toBeUndefined();
  });

  it('keeps private responses out of a shared cache only', () => {
    const headers = { 'cache-control': 'private, max-age=60' };
    expect(decide(headers, { policy: { shared: true } }).reason).toBe('private');
    expect(decide(headers).reason).toBeUndefined();
  });

  it('keeps responses setting a cookie out of a shared cache, unless the cookie is excluded', () => {
    expect(
      decide({ 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }, { policy: { shared: true } })
        .reason,
    ).toBe('set-cookie');
    const excluded = decide(
      { 'cache-control': 'max-age=60, no-cache="set-cookie"', 'set-cookie': 'a=1' },
      { policy: { shared: true } },
    );
    expect(excluded.reason).toBeUndefined();
    expect(excluded.entry?.headers['set-cookie']).toBeUndefined();
  });

  it('stores a response to an authenticated request only when it says public, s-maxage or must-revalidate', () => {
    expect(decide({ 'cache-control': 'max-age=60' }, { authorization: true }).reason).toBe(
      'authorization',
    );
    for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
      const shared = decide(
        { 'cache-control': cc },
        { authorization: true, policy: { shared: true } },
      );
      expect(shared.reason, cc).toBeUndefined();
    }
    const privateCache = decide({ 'cache-control': 'public, max-age=60' }, { authorization: true });
    expect(privateCache.reason).toBeUndefined();
  });

  it('never stores Vary: * or an invalid Vary', () => {
    expect(decide({ 'cache-control': 'max-age=60', vary: '*' }).reason).toBe('vary-star');
    expect(decide({ 'cache-control': 'max-age=60', vary: 'a b' }).reason).toBe('invalid-vary');
  });

  it('records the variant of a response that varies', () => {
    const d = decide({ 'cache-control': 'max-age=60', vary: 'Accept-Language' });
    expect(d.entry?.variant).toBe('[["accept-language"],["en"]]');
  });

  it('does not store a body over the size limit', () => {
    expect(decide({ 'cache-control': 'max-age=60' }, { body: 'x'.repeat(2_000) }).reason).toBe(
      'too-large',
    );
  });

  it('does not store headers that are unsafe or over the size limit', () => {
    expect(decide({ 'cache-control': 'max-age=60', 'x-a': 'x'.repeat(2_000) }).reason).toBe(
      'invalid-headers',
    );
  });

  it('does not store what could never be reused', () => {
    expect(decide({}).reason).toBe('not-reusable');
    expect(decide({ 'cache-control': 'no-cache' }).reason).toBe('not-reusable');
  });

  it('stores a response without freshness when a stale-if-error window makes it useful', () => {
    expect(decide({}, { policy: { staleIfErrorMs: 60_000 } }).reason).toBeUndefined();
  });

  it('stores a no-cache response that has a validator, for revalidation', () => {
    expect(decide({ 'cache-control': 'no-cache', etag: '"a"' }).entry?.noCache).toBe(true);
  });

  it('does not take an unquoted ETag or an invalid Last-Modified as a validator', () => {
    const d = decide({ 'cache-control': 'max-age=60', etag: 'abc', 'last-modified': 'never' });
    expect(d.entry?.etag).toBeUndefined();
    expect(d.entry?.lastModified).toBeUndefined();
  });

  it('marks s-maxage and proxy-revalidate as must-revalidate in a shared cache only', () => {
    const shared = { policy: { shared: true } };
    expect(decide({ 'cache-control': 's-maxage=60' }, shared).entry?.mustRevalidate).toBe(true);
    expect(
      decide({ 'cache-control': 'max-age=60, proxy-revalidate' }, shared).entry?.mustRevalidate,
    ).toBe(true);
    expect(decide({ 'cache-control': 'max-age=60, proxy-revalidate' }).entry?.mustRevalidate).toBe(
      false,
    );
  });

  it('adds a Date to a response that has none', () => {
    const d = decideStorage(
      { ...reply({ 'cache-control': 'max-age=60' }), headers: { 'cache-control': 'max-age=60' } },
      { directives: parseCacheControl(undefined), authorization: false },
      POLICY,
      undefined,
    );
    expect(d.entry?.headers.date).toBe(formatHttpDate(NOW));
  });

  it('stores its own copy of a body that is a view into a larger buffer', () => {
    const pool = new Uint8Array(8192);
    const view = pool.subarray(10, 15);
    const d = decideStorage(
      { ...reply({ 'cache-control': 'max-age=60' }), body: view },
      { directives: parseCacheControl(undefined), authorization: false },
      POLICY,
      undefined,
    );
    expect(d.entry?.body.buffer.byteLength).toBe(5);
  });

  it('copies a Buffer from Node’s shared pool rather than pinning the pool', () => {
    const pooled = Buffer.from('hello');
    expect(pooled.buffer.byteLength).toBeGreaterThan(5);
    const d = decideStorage(
      { ...reply({ 'cache-control': 'max-age=60' }), body: pooled },
      { directives: parseCacheControl(undefined), authorization: false },
      POLICY,
      undefined,
    );
    expect(d.entry?.body.buffer.byteLength).toBe(5);
    expect(Buffer.from(d.entry!.body).toString()).toBe('hello');
  });
});

describe('retentionMs', () => {
  const keep = (staleIfErrorMs = 0, keepStaleMs = 0) => ({ staleIfErrorMs, keepStaleMs });

  it('keeps a fresh entry without validators for its remaining lifetime', () => {
    expect(retentionMs(decide({ 'cache-control': 'max-age=60' }).entry!, keep())).toBe(60_000);
  });

  it('adds the stale windows', () => {
    const e = decide({
      'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=300',
    }).entry!;
    expect(retentionMs(e, keep())).toBe(360_000);
    expect(retentionMs(decide({ 'cache-control': 'max-age=60' }).entry!, keep(600_000))).toBe(
      660_000,
    );
  });

  it('keeps a stale entry for keepStaleMs, for requests that accept stale responses', () => {
    expect(retentionMs(decide({ 'cache-control': 'max-age=60' }).entry!, keep(0, 30_000))).toBe(
      90_000,
    );
  });

  it('keeps an entry with a validator long enough for a cheap 304', () => {
    const e = decide({ 'cache-control': 'max-age=60', etag: '"a"' }).entry!;
    expect(retentionMs(e, keep())).toBe(60_000 + MIN_VALIDATOR_RETENTION_MS);
    const long = decide({ 'cache-control': 'max-age=31536000', etag: '"a"' }).entry!;
    expect(retentionMs(long, keep())).toBe(31_536_000_000 + MAX_VALIDATOR_RETENTION_MS);
  });

  it('adds no stale window to a must-revalidate entry', () => {
    const e = decide({ 'cache-control': 'max-age=60, must-revalidate, stale-if-error=300' }).entry!;
    expect(retentionMs(e, keep(600_000, 600_000))).toBe(60_000);
  });

  it('keeps nothing that could never be reused, whatever keepStaleMs says', () => {
    const e = decide({ 'cache-control': 'max-age=60' }).entry!;
    expect(retentionMs({ ...e, freshnessMs: 0 }, keep(0, 600_000))).toBe(0);
  });
});

describe('notModifiedMatches (RFC 9111 §4.3.4)', () => {
  const stored = decide({ 'cache-control': 'max-age=60', etag: '"v1"' }).entry!;
  const weak = decide({ 'cache-control': 'max-age=60', etag: 'W/"v1"' }).entry!;

  it('matches a strong validator strongly', () => {
    expect(notModifiedMatches(stored, { etag: '"v1"' })).toBe(true);
    expect(notModifiedMatches(stored, { etag: '"v2"' })).toBe(false);
    expect(notModifiedMatches(weak, { etag: '"v1"' })).toBe(false);
  });

  it('matches a weak validator weakly', () => {
    expect(notModifiedMatches(weak, { etag: 'W/"v1"' })).toBe(true);
    expect(notModifiedMatches(stored, { etag: 'W/"v1"' })).toBe(true);
  });

  it('compares Last-Modified when the 304 carries no ETag', () => {
    const lm = decide({
      'cache-control': 'max-age=60',
      'last-modified': formatHttpDate(NOW - 1_000),
    }).entry!;
    expect(notModifiedMatches(lm, { 'last-modified': formatHttpDate(NOW - 1_000) })).toBe(true);
    expect(notModifiedMatches(lm, { 'last-modified': formatHttpDate(NOW) })).toBe(false);
  });

  it('refuses a Last-Modified 304 for a response stored without one, or with an unparsable date', () => {
    expect(notModifiedMatches(stored, { 'last-modified': formatHttpDate(NOW) })).toBe(false);
    const lm = decide({ 'cache-control': 'max-age=60', 'last-modified': 'yesterday' }).entry!;
    expect(notModifiedMatches(lm, { 'last-modified': 'yesterday' })).toBe(false);
  });

  it('lets a 304 without validators select the response its conditional request named', () => {
    // Servers and CDNs often leave out the ETag RFC 9110 §15.4.5 asks a 304 to repeat.
    expect(notModifiedMatches(stored, {})).toBe(true);
    expect(notModifiedMatches(weak, {})).toBe(true);
    const lm = decide({
      'cache-control': 'max-age=60',
      'last-modified': formatHttpDate(NOW - 1_000),
    }).entry!;
    expect(notModifiedMatches(lm, {})).toBe(true);
    const bare = decide({ 'cache-control': 'max-age=60' }).entry!;
    expect(notModifiedMatches(bare, {})).toBe(true);
  });
});

describe('mergeNotModified (RFC 9111 §3.2)', () => {
  it('takes the new fields but keeps the body-describing ones', () => {
    const stored = decide({
      'cache-control': 'max-age=60',
      etag: '"v1"',
      'content-type': 'text/plain',
      'content-length': '5',
      'x-a': 'old',
    }).entry!;
    const merged = mergeNotModified(
      stored,
      {
        ...reply({
          'cache-control': 'max-age=120',
          'content-type': 'text/html',
          'content-length': '0',
          'x-a': 'new',
          connection: 'close',
        }),
        responseTime: NOW + 5_000,
      },
      false,
    );
    expect(merged.headers).toMatchObject({
      'cache-control': 'max-age=120',
      'content-type': 'text/plain',
      'content-length': '5',
      'x-a': 'new',
    });
    expect(merged.headers.connection).toBeUndefined();
    expect(merged.body).toBe(stored.body);
    expect(merged.responseTime).toBe(NOW + 5_000);
  });

  it('takes the Set-Cookie of a 304 into a private entry only', () => {
    const stored = decide({ 'cache-control': 'max-age=60', 'set-cookie': 'sid=old' }).entry!;
    const notModified = reply({ 'set-cookie': 'sid=new' });
    expect(mergeNotModified(stored, notModified, false).headers['set-cookie']).toBe('sid=new');
    const sharedEntry = decide(
      { 'cache-control': 'max-age=60, no-cache="set-cookie"', 'set-cookie': 'sid=old' },
      { policy: { shared: true } },
    ).entry!;
    expect(sharedEntry.headers['set-cookie']).toBeUndefined();
    expect(mergeNotModified(sharedEntry, notModified, true).headers['set-cookie']).toBeUndefined();
  });
});
