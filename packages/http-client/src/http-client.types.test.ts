// What the types say about `breakers`. The `expectTypeOf` and `@ts-expect-error` lines are
// checked by the package's typecheck (tsc over src/), the runtime lines by vitest.
import type { BreakerRegistry } from '@bulwark/circuit-breaker';
import { breakerCheck } from '@bulwark/health';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type HttpClient, createHttpClient } from './http-client.js';
import type { HttpClientOptions } from './options.js';

describe('HttpClient.breakers', () => {
  it('is a BreakerRegistry for a client with breakers (the default), usable without `!`', async () => {
    const plain = createHttpClient();
    const tuned = createHttpClient({ breaker: { breakDurationMs: 5_000 } });
    try {
      expectTypeOf(plain.breakers).toEqualTypeOf<BreakerRegistry>();
      expectTypeOf(tuned.breakers).toEqualTypeOf<BreakerRegistry>();
      expectTypeOf(plain).toMatchTypeOf<HttpClient>();
      const check = breakerCheck({ name: 'orders', breaker: plain.breakers });
      expect(await check.check({ signal: new AbortController().signal })).toMatchObject({
        status: 'pass',
      });
      expect(tuned.breakers.views()).toEqual([]);
    } finally {
      await Promise.all([plain.destroy(), tuned.destroy()]);
    }
  });

  it('is undefined for a client built with breaker: false', async () => {
    const off = createHttpClient({ breaker: false });
    try {
      expectTypeOf(off.breakers).toEqualTypeOf<undefined>();
      expect(() =>
        // @ts-expect-error: there is no registry to check, and the types say so.
        breakerCheck({ name: 'orders', breaker: off.breakers }),
      ).toThrow(new TypeError('expected breaker to have a view() or views() method'));
      expect(off.breakers).toBeUndefined();
    } finally {
      await off.destroy();
    }
  });

  it('may be either when the options are only known to be HttpClientOptions', async () => {
    // Declared, not inferred: whether breaker is false is not known to the compiler.
    const options: HttpClientOptions = {};
    const either = createHttpClient(options);
    try {
      expectTypeOf(either.breakers).toEqualTypeOf<BreakerRegistry | undefined>();
      expect(either.breakers).toBeDefined();
    } finally {
      await either.destroy();
    }
  });
});
