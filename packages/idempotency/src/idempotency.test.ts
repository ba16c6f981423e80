import { FakeClock } from '@bulwark/testing';
import { describe, expect, it, vi } from 'vitest';
import type { IdempotencyEvent } from './events.js';
import {
  type IdempotencyDecision,
  type IdempotencyOptions,
  type IdempotencyRequest,
  idempotency,
} from './idempotency.js';
import { memoryStore } from './stores/memory.js';
import type { IdempotencyStore } from './stores/store.js';

function setup(options: IdempotencyOptions = {}): {
  clock: FakeClock;
  events: IdempotencyEvent[];
  idem: ReturnType<typeof idempotency>;
} {
  const clock = new FakeClock();
  const events: IdempotencyEvent[] = [];
  const idem = idempotency({
    store: memoryStore({ clock }),
    clock,
    listener: (e) => events.push(e),
    ...options,
  });
  return { clock, events, idem };
}

function post(
  key: string | readonly string[] | undefined,
  extra: Partial<IdempotencyRequest> = {},
): IdempotencyRequest {
  return { method: 'POST', path: '/orders', key, body: '{"item":"book"}', ...extra };
}

function expectKind<K extends IdempotencyDecision['kind']>(
  decision: IdempotencyDecision,
  kind: K,
): Extract<IdempotencyDecision, { kind: K }> {
  expect(decision.kind).toBe(kind);
  return decision as Extract<IdempotencyDecision, { kind: K }>;
}

describe('idempotency: which requests it handles', () => {
  it('bypasses methods it does not handle, even with a key', async () => {
    const { idem } = setup();
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      expect((await idem.begin(post('"k"', { method }))).kind).toBe('bypass');
    }
  });

  it('handles POST and PATCH by default, in any case', async () => {
    const { idem } = setup();
    expect((await idem.begin(post('"a"'))).kind).toBe('proceed');
    expect((await idem.begin(post('"b"', { method: 'patch' }))).kind).toBe('proceed');
  });

  it('handles the methods it is configured for', async () => {
    const { idem } = setup({ methods: ['PUT'] });
    expect((await idem.begin(post('"a"'))).kind).toBe('bypass');
    expect((await idem.begin(post('"a"', { method: 'PUT' }))).kind).toBe('proceed');
  });

  it('lets a keyless request run unprotected unless a key is required', async () => {
    const { idem } = setup();
    expect((await idem.begin(post(undefined))).kind).toBe('bypass');
    expect((await idem.begin(post([]))).kind).toBe('bypass');
  });

  it('answers 400 problem+json for a missing key where one is required', async () => {
    const { idem } = setup({ required: true });
    const rejection = expectKind(await idem.begin(post(undefined)), 'reject');
    expect(rejection.status).toBe(400);
    expect(rejection.reason).toBe('missing');
    expect(rejection.headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(JSON.parse(rejection.body)).toEqual({
      type: 'urn:bulwark:idempotency:key-missing',
      title: 'Idempotency-Key is missing',
      status: 400,
      detail: 'This operation requires an Idempotency-Key header.',
    });
  });

  it('asks a required function per request', async () => {
    const required = vi.fn(({ path }: { path: string }) => path.startsWith('/payments'));
    const { idem } = setup({ required });
    expect((await idem.begin(post(undefined))).kind).toBe('bypass');
    expect((await idem.begin(post(undefined, { path: '/payments' }))).kind).toBe('reject');
    expect(required).toHaveBeenLastCalledWith({ method: 'POST', path: '/payments' });
  });
});

describe('idempotency: key validation', () => {
  function spyStore(): IdempotencyStore & { calls: number } {
    const inner = memoryStore();
    const store = {
      calls: 0,
      claim: (...args: Parameters<IdempotencyStore['claim']>) => {
        store.calls++;
        return inner.claim(...args);
      },
      complete: inner.complete.bind(inner),
      release: inner.release.bind(inner),
    };
    return store;
  }

  it('refuses a 100 KB key with 400 without touching the store or echoing it', async () => {
    const store = spyStore();
    const { idem } = setup({ store });
    const key = `"${'k'.repeat(100 * 1024)}"`;
    const rejection = expectKind(await idem.begin(post(key)), 'reject');
    expect(rejection.status).toBe(400);
    expect(rejection.reason).toBe('invalid');
    expect(rejection.problem.detail).toBe(
      'The Idempotency-Key header is longer than 256 characters.',
    );
    expect(rejection.body).not.toContain('kkkk');
    expect(store.calls).toBe(0);
  });

  it('refuses a key with control characters with 400 without echoing it', async () => {
    const store = spyStore();
    const { idem } = setup({ store });
    const rejection = expectKind(await idem.begin(post('"abc\u0007secret"')), 'reject');
    expect(rejection.status).toBe(400);
    expect(rejection.problem.detail).toBe(
      'The Idempotency-Key header contains characters outside printable ASCII.',
    );
    expect(rejection.body).not.toContain('secret');
    expect(store.calls).toBe(0);
  });

  it('refuses malformed, empty and repeated keys with 400', async () => {
    const { idem } = setup();
    const details = [];
    for (const key of ['"unterminated', '', ['"a"', '"b"']] as const) {
      const rejection = expectKind(await idem.begin(post(key)), 'reject');
      expect(rejection.status).toBe(400);
      details.push(rejection.problem.detail);
    }
    expect(details).toEqual([
      'The Idempotency-Key header must be a quoted string ("...") or a token, with nothing after it.',
      'The Idempotency-Key header is empty.',
      'The request carries more than one Idempotency-Key header.',
    ]);
  });

  it('applies maxKeyLength', async () => {
    const { idem } = setup({ maxKeyLength: 8 });
    expect((await idem.begin(post('12345678'))).kind).toBe('proceed');
    const rejection = expectKind(await idem.begin(post('123456789')), 'reject');
    expect(rejection.problem.detail).toBe(
      'The Idempotency-Key header is longer than 8 characters.',
    );
  });

  it('refuses with 400 a parsed body it cannot fingerprint', async () => {
    const { idem } = setup();
    const body: Record<string, unknown> = {};
    body['self'] = body;
    const rejection = expectKind(await idem.begin(post('"k"', { body })), 'reject');
    expect(rejection.status).toBe(400);
    expect(rejection.problem.title).toBe('Request body cannot be fingerprinted');
  });
});

describe('idempotency: at most once', () => {
  it('claims a new key, then answers 409 to a duplicate while the first runs', async () => {
    const { idem } = setup();
    expectKind(await idem.begin(post('"k"')), 'proceed');
    const conflict = expectKind(await idem.begin(post('"k"')), 'reject');
    expect(conflict.status).toBe(409);
    expect(conflict.reason).toBe('conflict');
    expect(conflict.headers).toEqual({
      'content-type': 'application/problem+json',
      'retry-after': '1',
    });
  });

  it('replays the stored status, selected headers and body, marked Idempotent-Replayed', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    const stored = await claim.complete({
      status: 201,
      headers: {
        'Content-Type': 'application/json',
        location: '/orders/7',
        'set-cookie': ['session=abc'],
        'x-internal': 'no',
        'content-length': 11,
        etag: undefined,
      },
      body: '{"id":7}',
    });
    expect(stored).toBe(true);
    const replay = expectKind(await idem.begin(post('"k"')), 'replay');
    expect(replay.response.status).toBe(201);
    expect(replay.response.headers).toEqual({
      'content-type': 'application/json',
      location: '/orders/7',
      'idempotent-replayed': 'true',
    });
    expect(replay.response.body.toString()).toBe('{"id":7}');
  });

  it('replays the configured headers only, stringifying numbers and keeping lists', async () => {
    const { idem } = setup({ replayHeaders: ['X-Request-Cost', 'Link'] });
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await claim.complete({
      status: 200,
      headers: { 'x-request-cost': 3, link: ['<a>; rel=a', '<b>; rel=b'], 'content-type': 'x' },
      body: new Uint8Array([1, 2, 3]),
    });
    const replay = expectKind(await idem.begin(post('"k"')), 'replay');
    expect(replay.response.headers).toEqual({
      'x-request-cost': '3',
      link: ['<a>; rel=a', '<b>; rel=b'],
      'idempotent-replayed': 'true',
    });
    expect([...replay.response.body]).toEqual([1, 2, 3]);
  });

  it('stores a copy of the body, so a reused buffer cannot change a replay', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    const body = Buffer.from('original');
    await claim.complete({ status: 200, body });
    body.write('XXXXXXXX');
    const first = expectKind(await idem.begin(post('"k"')), 'replay');
    first.response.body.write('YYYYYYYY');
    const second = expectKind(await idem.begin(post('"k"')), 'replay');
    expect(second.response.body.toString()).toBe('original');
  });

  it('answers 422 to the same key with a different body, path or method', async () => {
    const { idem } = setup({ methods: ['POST', 'PATCH'] });
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await claim.complete({ status: 201, body: 'ok' });
    for (const change of [
      { body: '{"item":"pen"}' },
      { path: '/orders?express=1' },
      { method: 'PATCH' },
    ]) {
      const rejection = expectKind(await idem.begin(post('"k"', change)), 'reject');
      expect(rejection.status).toBe(422);
      expect(rejection.reason).toBe('mismatch');
      expect(rejection.problem.title).toBe('Idempotency-Key is already used');
    }
  });

  it('answers 422, not 409, to a different payload while the first still runs', async () => {
    const { idem } = setup();
    expectKind(await idem.begin(post('"k"')), 'proceed');
    const rejection = expectKind(await idem.begin(post('"k"', { body: 'other' })), 'reject');
    expect(rejection.status).toBe(422);
  });

  it('matches a parsed body regardless of key order', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"', { body: { a: 1, b: 2 } })), 'proceed');
    await claim.complete({ status: 201, body: 'ok' });
    expect((await idem.begin(post('"k"', { body: { b: 2, a: 1 } }))).kind).toBe('replay');
  });

  it('never shows one caller another caller’s response for the same key', async () => {
    const { idem } = setup();
    const alice = expectKind(await idem.begin(post('"k"', { identity: 'alice' })), 'proceed');
    await alice.complete({ status: 201, body: 'alice order' });
    const bob = expectKind(await idem.begin(post('"k"', { identity: 'bob' })), 'proceed');
    await bob.complete({ status: 201, body: 'bob order' });
    const anonymous = await idem.begin(post('"k"'));
    expect(anonymous.kind).toBe('proceed');
    const aliceAgain = expectKind(await idem.begin(post('"k"', { identity: 'alice' })), 'replay');
    expect(aliceAgain.response.body.toString()).toBe('alice order');
    const bobAgain = expectKind(await idem.begin(post('"k"', { identity: 'bob' })), 'replay');
    expect(bobAgain.response.body.toString()).toBe('bob order');
  });

  it('frees the key on release, so a retry runs', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await claim.release();
    expect((await idem.begin(post('"k"'))).kind).toBe('proceed');
  });

  it('frees the key instead of storing a 429 or any 5xx by default', async () => {
    const { idem, events } = setup();
    for (const status of [429, 500, 502, 503, 504]) {
      const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
      expect(await claim.complete({ status, body: 'busy or broken' })).toBe(false);
    }
    expect(
      events.filter((e) => e.type === 'idempotency-completion').map((e) => [e.outcome, e.status]),
    ).toEqual([
      ['released', 429],
      ['released', 500],
      ['released', 502],
      ['released', 503],
      ['released', 504],
    ]);
    // A client error is the handler's answer, and replayed like any other.
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(await claim.complete({ status: 409, body: 'sold out' })).toBe(true);
    expect(expectKind(await idem.begin(post('"k"')), 'replay').response.status).toBe(409);
  });

  it('releases instead of storing a body larger than maxBodyBytes', async () => {
    const { idem, events } = setup({ maxBodyBytes: 4 });
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(claim.maxBodyBytes).toBe(4);
    expect(await claim.complete({ status: 201, body: 'too big' })).toBe(false);
    expect(events.at(-1)).toMatchObject({ outcome: 'too-large', status: 201 });
    const again = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(await again.complete({ status: 201, body: 'four' })).toBe(true);
    expect(expectKind(await idem.begin(post('"k"')), 'replay').response.body.toString()).toBe(
      'four',
    );
  });

  it('reports why a claim was released', async () => {
    const { idem, events } = setup();
    const first = expectKind(await idem.begin(post('"a"')), 'proceed');
    await first.release('client-closed');
    const second = expectKind(await idem.begin(post('"b"')), 'proceed');
    await second.release('too-large');
    const third = expectKind(await idem.begin(post('"c"')), 'proceed');
    await expect(third.release('oops' as never)).rejects.toThrow(
      new TypeError(
        'expected reason to be one of "failed", "client-closed", "too-large", got "oops"',
      ),
    );
    expect(events.filter((e) => e.type === 'idempotency-completion').map((e) => e.outcome)).toEqual(
      ['released', 'too-large'],
    );
    // The bad call did not count: the claim can still be released.
    await third.release();
    expect((await idem.begin(post('"c"'))).kind).toBe('proceed');
  });

  it('asks shouldStore which responses to keep', async () => {
    const { idem } = setup({ shouldStore: ({ status }) => status !== 503 });
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(await claim.complete({ status: 503 })).toBe(false);
    const again = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(await again.complete({ status: 500, body: 'kept' })).toBe(true);
    expect(expectKind(await idem.begin(post('"k"')), 'replay').response.status).toBe(500);
  });

  it('counts only the first of complete and release', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    expect(await claim.complete({ status: 201, body: 'first' })).toBe(true);
    expect(await claim.complete({ status: 500, body: 'second' })).toBe(false);
    await claim.release();
    expect(expectKind(await idem.begin(post('"k"')), 'replay').response.body.toString()).toBe(
      'first',
    );
  });

  it('refuses a response status outside 100–599', async () => {
    const { idem } = setup();
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await expect(claim.complete({ status: 42 })).rejects.toThrow(
      new RangeError('expected status to be an integer between 100 and 599, got 42'),
    );
  });
});

describe('idempotency: expiry', () => {
  it('lets a claim that never completes expire after lockTimeoutMs', async () => {
    const { idem, clock, events } = setup({ lockTimeoutMs: 30_000 });
    const crashed = expectKind(await idem.begin(post('"k"')), 'proceed');
    await clock.advance(29_999);
    expect(expectKind(await idem.begin(post('"k"')), 'reject').status).toBe(409);
    await clock.advance(1);
    const retry = expectKind(await idem.begin(post('"k"')), 'proceed');
    await retry.complete({ status: 201, body: 'second' });
    // The first request finishing late must not overwrite what the retry stored.
    expect(await crashed.complete({ status: 201, body: 'first' })).toBe(false);
    expect(events.at(-1)).toEqual({
      type: 'idempotency-completion',
      outcome: 'claim-lost',
      status: 201,
      error: undefined,
    });
    expect(expectKind(await idem.begin(post('"k"')), 'replay').response.body.toString()).toBe(
      'second',
    );
  });

  it('forgets a completed response after ttlMs', async () => {
    const { idem, clock } = setup({ ttlMs: 60_000 });
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await claim.complete({ status: 201, body: 'ok' });
    await clock.advance(59_999);
    expect((await idem.begin(post('"k"'))).kind).toBe('replay');
    await clock.advance(1);
    expect((await idem.begin(post('"k"'))).kind).toBe('proceed');
  });

  it('stamps records with the clock’s wall time', async () => {
    const clock = new FakeClock({ date: Date.UTC(2026, 5, 1) });
    const claims: unknown[] = [];
    const inner = memoryStore({ clock });
    const idem = idempotency({
      clock,
      store: {
        claim: (key, claim, lockMs) => {
          claims.push(claim);
          return inner.claim(key, claim, lockMs);
        },
        complete: (...args) => inner.complete(...args),
        release: (...args) => inner.release(...args),
      },
    });
    await idem.begin(post('"k"'));
    expect(claims[0]).toMatchObject({ state: 'in_progress', startedAt: Date.UTC(2026, 5, 1) });
  });
});

describe('idempotency: store failures', () => {
  const failing = (error: Error): IdempotencyStore => ({
    claim: () => Promise.reject(error),
    complete: () => Promise.reject(error),
    release: () => Promise.reject(error),
  });

  it('answers 503 when the store cannot claim, so the request never runs twice', async () => {
    const error = new Error('ECONNREFUSED');
    const { idem, events } = setup({ store: failing(error) });
    const rejection = expectKind(await idem.begin(post('"k"')), 'reject');
    expect(rejection.status).toBe(503);
    expect(rejection.reason).toBe('unavailable');
    expect(rejection.headers['retry-after']).toBe('5');
    expect(rejection.body).not.toContain('ECONNREFUSED');
    expect(events).toEqual([
      { type: 'idempotency-decision', outcome: 'unavailable', method: 'POST', error },
    ]);
  });

  it('answers 503 when the store throws synchronously', async () => {
    const { idem } = setup({
      store: {
        claim: () => {
          throw new Error('bad');
        },
        complete: () => false,
        release: () => false,
      },
    });
    expect(expectKind(await idem.begin(post('"k"')), 'reject').status).toBe(503);
  });

  it('resolves complete and release to nothing stored when the store fails, reporting it', async () => {
    const error = new Error('gone');
    const inner = memoryStore();
    const events: IdempotencyEvent[] = [];
    // The claim works; completing and releasing fail.
    const store: IdempotencyStore = {
      claim: (...args) => inner.claim(...args),
      complete: failing(error).complete,
      release: failing(error).release,
    };
    const idem2 = idempotency({ store, listener: (e) => events.push(e) });
    const claim = expectKind(await idem2.begin(post('"k"')), 'proceed');
    expect(await claim.complete({ status: 201, body: 'x' })).toBe(false);
    const other = expectKind(await idem2.begin(post('"j"')), 'proceed');
    await expect(other.release()).resolves.toBeUndefined();
    expect(events.filter((e) => e.type === 'idempotency-completion')).toEqual([
      { type: 'idempotency-completion', outcome: 'store-error', status: 201, error },
      { type: 'idempotency-completion', outcome: 'store-error', status: undefined, error },
    ]);
  });
});

describe('idempotency: telemetry and options', () => {
  it('reports each decision and completion', async () => {
    const { idem, events } = setup({ required: true });
    await idem.begin(post('"k"', { method: 'GET' }));
    await idem.begin(post(undefined));
    await idem.begin(post('"bad'));
    const claim = expectKind(await idem.begin(post('"k"')), 'proceed');
    await idem.begin(post('"k"'));
    await idem.begin(post('"k"', { body: 'other' }));
    await claim.complete({ status: 201 });
    await idem.begin(post('"k"'));
    const decisions = events.map(
      (e) => `${e.type === 'idempotency-decision' ? 'd' : 'c'}:${e.outcome}`,
    );
    expect(decisions).toEqual([
      'd:bypass',
      'd:missing',
      'd:invalid',
      'd:proceed',
      'd:conflict',
      'd:mismatch',
      'c:stored',
      'd:replay',
    ]);
  });

  it('is not disturbed by a listener that throws', async () => {
    const idem = idempotency({
      listener: () => {
        throw new Error('exporter down');
      },
    });
    expect((await idem.begin(post('"k"'))).kind).toBe('proceed');
  });

  it('rejects a non-string identity', async () => {
    const { idem } = setup();
    await expect(idem.begin(post('"k"', { identity: 42 as never }))).rejects.toThrow(
      new TypeError('expected identity to be a string or undefined'),
    );
  });

  it('validates its options', () => {
    expect(() => idempotency({ store: {} as never })).toThrow(
      new TypeError('expected store to have claim(), complete() and release() methods'),
    );
    expect(() => idempotency({ methods: ['POST', ''] })).toThrow(
      new TypeError('expected methods to be an array of non-empty strings'),
    );
    expect(() => idempotency({ required: 'yes' as never })).toThrow(
      new TypeError('expected required to be a boolean, got "yes"'),
    );
    expect(() => idempotency({ ttlMs: 0 })).toThrow(
      new RangeError('expected ttlMs to be an integer >= 1, got 0'),
    );
    expect(() => idempotency({ lockTimeoutMs: -1 })).toThrow(
      new RangeError('expected lockTimeoutMs to be an integer >= 1, got -1'),
    );
    expect(() => idempotency({ maxKeyLength: 10_000 })).toThrow(
      new RangeError('expected maxKeyLength to be an integer between 1 and 8192, got 10000'),
    );
    expect(() => idempotency({ replayHeaders: 'content-type' as never })).toThrow(
      new TypeError('expected replayHeaders to be an array of non-empty strings'),
    );
    expect(() => idempotency({ shouldStore: true as never })).toThrow(
      new TypeError('expected shouldStore to be a function, got boolean'),
    );
    expect(() => idempotency({ maxBodyBytes: -1 })).toThrow(
      new RangeError('expected maxBodyBytes to be an integer >= 0, got -1'),
    );
    expect(() => idempotency({ ttl: 5 } as never)).toThrow(
      new TypeError(
        'unknown option "ttl" for idempotency(); did you mean "ttlMs"? expected one of store, methods, required, ttlMs, lockTimeoutMs, maxKeyLength, replayHeaders, shouldStore, maxBodyBytes, clock, listener',
      ),
    );
    expect(() => idempotency(null as never)).toThrow(
      new TypeError('expected the options of idempotency() to be an object, got null'),
    );
  });
});
