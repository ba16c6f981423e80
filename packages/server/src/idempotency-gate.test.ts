import { memoryStore } from '@bulwark/idempotency';
import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { resolveIdempotency } from './idempotency-gate.js';

const clock = new FakeClock();

function request(
  overrides: Partial<{ method: string; user: string; body: unknown; key: string }> = {},
) {
  const { method = 'POST', user, body = { a: 1 }, key = 'k' } = overrides;
  return {
    method,
    path: '/orders?x=1',
    headers: { 'idempotency-key': key },
    rawHeaders: ['Content-Type', 'application/json', 'Idempotency-Key', key],
    body,
    request: { user },
  };
}

describe('resolveIdempotency', () => {
  it('is off unless asked for', () => {
    expect(resolveIdempotency(undefined, clock)).toBeUndefined();
    expect(resolveIdempotency(false, clock)).toBeUndefined();
  });

  it('handles POST and PATCH by default, other methods as configured, case-insensitively', () => {
    const gate = resolveIdempotency({ identity: 'shared' }, clock)!;
    expect(['POST', 'PATCH', 'PUT', 'GET', 'DELETE'].map((m) => gate.handles(m))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    const custom = resolveIdempotency({ identity: 'shared', methods: ['put', 'DELETE'] }, clock)!;
    expect(custom.handles('PUT')).toBe(true);
    expect(custom.handles('DELETE')).toBe(true);
    expect(custom.handles('POST')).toBe(false);
  });

  it('reads the key from the Idempotency-Key header and replays a completed request', async () => {
    const gate = resolveIdempotency({ identity: 'shared', store: memoryStore({ clock }) }, clock)!;
    const first = await gate.begin(request());
    expect(first.kind).toBe('proceed');
    if (first.kind === 'proceed') await first.complete({ status: 201, body: 'done' });
    const again = await gate.begin(request());
    expect(again.kind).toBe('replay');
  });

  it('scopes keys to the identity the callback names', async () => {
    const gate = resolveIdempotency<{ user?: string }>(
      { store: memoryStore({ clock }), identity: ({ request }) => request.user },
      clock,
    )!;
    const alice = await gate.begin(request({ user: 'alice' }));
    expect(alice.kind).toBe('proceed');
    const bob = await gate.begin(request({ user: 'bob' }));
    expect(bob.kind).toBe('proceed');
    const aliceAgain = await gate.begin(request({ user: 'alice' }));
    expect(aliceAgain.kind).toBe('reject');
  });

  it('refuses a repeated Idempotency-Key as such, in any casing', async () => {
    const gate = resolveIdempotency({ identity: 'shared' }, clock)!;
    // Joined by Node, the two halves would read as one valid sf-string.
    const decision = await gate.begin({
      ...request(),
      headers: { 'idempotency-key': '"a, b"' },
      rawHeaders: ['Idempotency-Key', '"a', 'Host', 'x', 'IDEMPOTENCY-KEY', 'b"'],
    });
    expect(decision.kind).toBe('reject');
    if (decision.kind === 'reject') {
      expect(decision.problem.detail).toBe(
        'The request carries more than one Idempotency-Key header.',
      );
    }
  });

  it('takes the joined value when the request has no raw headers', async () => {
    const gate = resolveIdempotency({ identity: 'shared' }, clock)!;
    const decision = await gate.begin({
      ...request(),
      headers: { 'idempotency-key': '"a, b"' },
      rawHeaders: undefined,
    });
    expect(decision.kind).toBe('proceed');
  });

  it('passes the core’s option checks through', () => {
    expect(() => resolveIdempotency({ identity: 'shared', ttlMs: 0 }, clock)).toThrow(
      'expected ttlMs to be an integer >= 1, got 0',
    );
  });

  it('requires an identity, or an explicit shared namespace', () => {
    expect(() => resolveIdempotency({} as never, clock)).toThrow(
      "expected idempotency.identity: a function returning who is calling (e.g. ({ request }) => request.user.id), or 'shared' to put every caller in one namespace",
    );
    expect(resolveIdempotency({ identity: 'shared' }, clock)).toBeDefined();
  });
});
