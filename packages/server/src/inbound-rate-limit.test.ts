import { type RedisLike, redisStore, slidingWindow, tokenBucket } from '@bulwark/rate-limit';
import { FakeClock, settle } from '@bulwark/testing';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RateLimitOptions } from './rate-limit-options.js';
import { BulwarkStack } from './stack.js';
import { ADMITTED, PENDING, type Resumed, Ticket } from './ticket.js';

interface Caller {
  readonly user?: string;
}

class TestTicket extends Ticket<Caller> {
  readonly written: Record<string, string> = {};
  readonly resumed: Resumed[] = [];
  readonly headers = {};
  readonly rawHeaders = undefined;
  readonly body = undefined;
  constructor(
    readonly request: Caller = {},
    readonly url = '/',
    readonly method = 'GET',
  ) {
    super();
  }
  get originalUrl(): string {
    return this.url;
  }
  setHeader(name: string, value: string): void {
    this.written[name] = value;
  }
  resume(outcome: Resumed): void {
    this.resumed.push(outcome);
  }
}

/** A Redis whose replies the test gives, one decision at a time. */
class HeldRedis implements RedisLike {
  readonly status = 'ready';
  private readonly replies: Array<(reply: unknown) => void> = [];
  evalsha(): Promise<unknown> {
    return new Promise((resolve) => this.replies.push(resolve));
  }
  eval(): Promise<unknown> {
    return Promise.reject(new Error('EVAL was not expected'));
  }
  get waiting(): number {
    return this.replies.length;
  }
  /** Answers the oldest decision: allowed or not, remaining, reset and retry-after in ms. */
  async answer(reply: readonly [number, number, number, number]): Promise<void> {
    this.replies.shift()!(reply);
    await settle();
  }
}

function stackWith(
  rateLimit: Partial<RateLimitOptions<Caller>>,
  more: { metrics?: Registry; shedding?: { limit: number } } = {},
) {
  return new BulwarkStack<Caller>({
    clock: new FakeClock(),
    correlation: false,
    deadline: false,
    metrics: more.metrics === undefined ? false : { registry: more.metrics },
    shedding: more.shedding ?? false,
    rateLimit: {
      limiter: { limit: 2, windowMs: 1_000 },
      identity: ({ request }) => request.user,
      ...rateLimit,
    },
  });
}

describe('the rateLimit option', () => {
  it.each<[string, unknown, string]>([
    [
      'a limiter that is neither a limiter nor options',
      { limiter: 5, identity: 'shared' },
      'expected rateLimit.limiter to be a tokenBucket() or slidingWindow() of @bulwark/rate-limit, or the options of one, got 5',
    ],
    [
      'no identity',
      { limiter: { limit: 1, windowMs: 1 } },
      "expected rateLimit.identity: a function returning who is calling (e.g. ({ request }) => request.user?.id ?? request.ip), or 'shared' to put every request under one limit",
    ],
    [
      'an identity that is not a function',
      { limiter: { limit: 1, windowMs: 1 }, identity: 'user' },
      'expected rateLimit.identity to be a function, got "user"',
    ],
    [
      'a bad limit, named where it sits',
      { limiter: { limit: 0, windowMs: 1_000 }, identity: 'shared' },
      'rateLimit.limiter: expected limit to be an integer between 1 and 10000000, got 0',
    ],
    [
      'an unknown algorithm',
      { limiter: { algorithm: 'leaky', limit: 1, windowMs: 1 }, identity: 'shared' },
      'rateLimit.limiter: expected algorithm to be "token-bucket" or "sliding-window", got "leaky"',
    ],
    [
      'a misspelt limiter option',
      { limiter: { limit: 1, window: 1 }, identity: 'shared' },
      'unknown option "rateLimit.limiter.window" for bulwark(); did you mean "windowMs"?',
    ],
    [
      'a misspelt option',
      { limiter: { limit: 1, windowMs: 1 }, identity: 'shared', header: false },
      'unknown option "rateLimit.header" for bulwark(); did you mean "headers"?',
    ],
    [
      'a path that is not a path',
      { limiter: { limit: 1, windowMs: 1 }, identity: 'shared', paths: ['api'] },
      'expected rateLimit.paths[0] to be a path starting with "/" without query or spaces, got "api"',
    ],
    [
      'paths that are not an array',
      { limiter: { limit: 1, windowMs: 1 }, identity: 'shared', excludePaths: '/health' },
      'expected rateLimit.excludePaths to be an array of path prefixes, got "/health"',
    ],
    [
      'headers that are not a boolean',
      { limiter: { limit: 1, windowMs: 1 }, identity: 'shared', headers: 'yes' },
      'expected rateLimit.headers to be a boolean, got "yes"',
    ],
    [
      'true, with nothing to limit by',
      true,
      'expected rateLimit.limiter to be a tokenBucket() or slidingWindow() of @bulwark/rate-limit, or the options of one, got undefined',
    ],
  ])('refuses %s', (_case, rateLimit, message) => {
    expect(() => new BulwarkStack({ rateLimit: rateLimit as never })).toThrow(message);
  });

  it('builds a token bucket on the stack’s clock, a sliding window when asked, and takes a limiter as it is', () => {
    const clock = new FakeClock();
    const built = new BulwarkStack({
      clock,
      rateLimit: { limiter: { limit: 5, windowMs: 1_000 }, identity: 'shared' },
    });
    expect(built.rateLimit?.limiter.algorithm).toBe('token-bucket');
    expect(built.rateLimit?.limiter.clock).toBe(clock);
    const window = new BulwarkStack({
      rateLimit: {
        limiter: { algorithm: 'sliding-window', limit: 5, windowMs: 1_000 },
        identity: 'shared',
      },
    });
    expect(window.rateLimit?.limiter.algorithm).toBe('sliding-window');
    const given = slidingWindow({ limit: 5, windowMs: 1_000 });
    const taken = new BulwarkStack({ rateLimit: { limiter: given, identity: 'shared' } });
    expect(taken.rateLimit?.limiter).toBe(given);
  });

  it('applies under its paths, and never under the excluded ones or to own routes', () => {
    const stack = stackWith({ paths: ['/api/'], excludePaths: ['/api/public'] });
    const limit = stack.rateLimit!;
    expect(limit.applies('/api')).toBe(true);
    expect(limit.applies('/api/orders?page=2')).toBe(true);
    expect(limit.applies('/apix')).toBe(false);
    expect(limit.applies('/api/public/logo.png')).toBe(false);
    expect(limit.applies('/')).toBe(false);
    expect(stack.admit(new TestTicket({}, '/livez')).kind).toBe('own-route');
  });
});

describe('admission under a rate limit', () => {
  it('refuses past the caller’s limit with an answer to write as it is, counted by reason', async () => {
    const registry = new Registry();
    const stack = stackWith({}, { metrics: registry });
    const alice = { user: 'alice' };
    expect(stack.admit(new TestTicket(alice))).toBe(ADMITTED);
    const second = new TestTicket(alice);
    expect(stack.admit(second)).toBe(ADMITTED);
    expect(second.written).toEqual({
      'ratelimit-policy': '"default";q=2;w=1',
      ratelimit: '"default";r=0;t=1',
    });
    const refused = stack.admit(new TestTicket(alice));
    expect(refused.kind === 'answer' && refused.answer).toMatchObject({
      statusCode: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
    });
    expect(stack.admit(new TestTicket({ user: 'bob' }))).toBe(ADMITTED);
    expect(await registry.metrics()).toContain(
      'bulwark_http_server_rate_limited_total{reason="limit"} 1',
    );
    stack.close();
  });

  it('fails a request with the application’s error when its identity throws or names no key', () => {
    const broken = stackWith({
      identity: () => {
        throw new Error('no session store');
      },
    });
    const thrown = broken.admit(new TestTicket());
    expect(thrown.kind === 'rejected' && thrown.error.message).toBe('no session store');
    const long = stackWith({ identity: () => 'k'.repeat(300) });
    const refused = long.admit(new TestTicket());
    expect(refused.kind === 'rejected' && refused.error).toBeInstanceOf(RangeError);
  });

  it('waits for a remote decision without taking a slot, while other requests go on', async () => {
    const redis = new HeldRedis();
    const limiter = tokenBucket({
      limit: 10,
      windowMs: 1_000,
      store: redisStore({ client: redis, clock: new FakeClock() }),
    });
    const stack = stackWith({ limiter, paths: ['/api'] }, { shedding: { limit: 1 } });
    const waiting = new TestTicket({ user: 'alice' }, '/api/orders');
    expect(stack.admit(waiting)).toBe(PENDING);
    expect(stack.slots?.active).toBe(0);
    // Another request, not limited, takes the one slot meanwhile and gives it back.
    const other = new TestTicket({}, '/home');
    expect(stack.admit(other)).toBe(ADMITTED);
    stack.release(other);
    await redis.answer([1, 9, 100, 0]);
    expect(waiting.resumed).toEqual([ADMITTED]);
    expect(waiting.written.ratelimit).toBe('"default";r=9;t=1');
    expect(stack.slots?.active).toBe(1);
    // A request whose client leaves while Redis decides never takes a slot.
    const leaving = new TestTicket({ user: 'bob' }, '/api/orders');
    expect(stack.admit(leaving)).toBe(PENDING);
    stack.release(leaving);
    await redis.answer([1, 9, 100, 0]);
    expect(leaving.resumed).toEqual([{ kind: 'gone' }]);
    expect(stack.slots?.active).toBe(1);
    expect(redis.waiting).toBe(0);
  });
});
