import { describe, expect, it } from 'vitest';
import { parseCacheControl } from './cache-control.js';
import { Verdict, assess, staleIfErrorAllowed } from './reuse.js';
import type { StoredResponse } from './stores/store.js';

function entry(overrides: Partial<StoredResponse> = {}): StoredResponse {
  return {
    kind: 'response',
    status: 200,
    headers: {},
    body: new Uint8Array(0),
    requestTime: 0,
    responseTime: 0,
    initialAgeMs: 0,
    freshnessMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    immutable: false,
    etag: undefined,
    lastModified: undefined,
    variant: undefined,
    ...overrides,
  };
}

const none = parseCacheControl(undefined);

describe('assess', () => {
  it('finds a response fresh while its age is below its lifetime', () => {
    expect(assess(entry(), 59_999, none)).toBe(Verdict.Fresh);
    expect(assess(entry(), 60_000, none)).toBe(Verdict.Validate);
  });

  it('validates a no-cache response even when fresh', () => {
    expect(assess(entry({ noCache: true }), 0, none)).toBe(Verdict.Validate);
  });

  it('validates when the request says no-cache', () => {
    expect(assess(entry(), 0, parseCacheControl('no-cache'))).toBe(Verdict.Validate);
  });

  it('validates when the response is older than the request max-age', () => {
    expect(assess(entry(), 10_000, parseCacheControl('max-age=5'))).toBe(Verdict.Validate);
    expect(assess(entry(), 4_000, parseCacheControl('max-age=5'))).toBe(Verdict.Fresh);
  });

  it('lets a fresh immutable response satisfy a reload-style max-age=0', () => {
    expect(assess(entry({ immutable: true }), 10_000, parseCacheControl('max-age=0'))).toBe(
      Verdict.Fresh,
    );
    expect(assess(entry({ immutable: true }), 0, parseCacheControl('no-cache'))).toBe(
      Verdict.Validate,
    );
  });

  it('validates when less freshness is left than min-fresh asks for', () => {
    expect(assess(entry(), 50_000, parseCacheControl('min-fresh=20'))).toBe(Verdict.Validate);
    expect(assess(entry(), 30_000, parseCacheControl('min-fresh=20'))).toBe(Verdict.Fresh);
  });

  it('serves a stale response within max-stale, and not beyond', () => {
    expect(assess(entry(), 70_000, parseCacheControl('max-stale=20'))).toBe(Verdict.StaleAllowed);
    expect(assess(entry(), 90_000, parseCacheControl('max-stale=20'))).toBe(Verdict.Validate);
    expect(assess(entry(), 9e9, parseCacheControl('max-stale'))).toBe(Verdict.StaleAllowed);
  });

  it('never serves a must-revalidate response stale', () => {
    const e = entry({ mustRevalidate: true, staleWhileRevalidateMs: 60_000 });
    expect(assess(e, 70_000, parseCacheControl('max-stale'))).toBe(Verdict.Validate);
    expect(assess(e, 70_000, none)).toBe(Verdict.Validate);
  });

  it('serves stale while revalidating within the stale-while-revalidate window', () => {
    const e = entry({ staleWhileRevalidateMs: 30_000 });
    expect(assess(e, 80_000, none)).toBe(Verdict.StaleWhileRevalidate);
    expect(assess(e, 95_000, none)).toBe(Verdict.Validate);
  });
});

describe('staleIfErrorAllowed', () => {
  it('allows a stale response within the response window', () => {
    const e = entry({ staleIfErrorMs: 60_000 });
    expect(staleIfErrorAllowed(e, 100_000, none, 0)).toBe(true);
    expect(staleIfErrorAllowed(e, 130_000, none, 0)).toBe(false);
  });

  it('takes the widest of the response, request and default windows', () => {
    expect(staleIfErrorAllowed(entry(), 100_000, parseCacheControl('stale-if-error=60'), 0)).toBe(
      true,
    );
    expect(staleIfErrorAllowed(entry(), 100_000, none, 60_000)).toBe(true);
  });

  it('never allows it without a window, even for a fresh response', () => {
    expect(staleIfErrorAllowed(entry(), 0, none, 0)).toBe(false);
  });

  it('never allows it against must-revalidate or no-cache', () => {
    expect(staleIfErrorAllowed(entry({ mustRevalidate: true }), 70_000, none, 600_000)).toBe(false);
    expect(staleIfErrorAllowed(entry({ noCache: true }), 70_000, none, 600_000)).toBe(false);
  });
});
