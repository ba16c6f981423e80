import type { Clock } from '@bulwark/core';
import {
  checkBoolean,
  checkFunction,
  checkKnownOptions,
  describeValue,
} from '@bulwark/core/internal';
import { PROBLEM_CONTENT_TYPE } from '@bulwark/idempotency';
import {
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
  type RateLimitDecision,
  type RateLimiter,
  type TokenBucketOptions,
  formatRateLimit,
  formatRateLimitPolicy,
  retryAfterSeconds,
  slidingWindow,
  tokenBucket,
} from '@bulwark/rate-limit';
import { rateLimitedProblem } from './http-errors.js';
import type { InboundLimiterOptions, RateLimitOptions } from './rate-limit-options.js';
import { FACTORY, featureOptions, optionNames } from './stack-options.js';
import { type Answer, type Ticket, pathOf } from './ticket.js';

const RATE_LIMIT_OPTIONS = optionNames<RateLimitOptions>({
  limiter: true,
  identity: true,
  paths: true,
  excludePaths: true,
  headers: true,
});
const LIMITER_OPTIONS = optionNames<TokenBucketOptions & { algorithm?: unknown }>({
  algorithm: true,
  limit: true,
  windowMs: true,
  burst: true,
  name: true,
  store: true,
  maxKeyLength: true,
  queue: true,
  maxWaitMs: true,
  onStoreError: true,
  listener: true,
  clock: true,
});
const SLASH = 0x2f;
const MAX_PATH_LENGTH = 1024;

const LIMITED_BODY = JSON.stringify(rateLimitedProblem(false));
const UNAVAILABLE_BODY = JSON.stringify(rateLimitedProblem(true));

/** The validated `rateLimit` option. */
export interface RateLimitSettings<Req> {
  readonly limiter: RateLimiter;
  /** Undefined for `'shared'`: every request under the limiter's one unkeyed limit. */
  readonly identity: ((args: { readonly request: Req }) => string | undefined) | undefined;
  /** Prefixes without a trailing slash ("/" for every path); undefined for every path. */
  readonly paths: readonly string[] | undefined;
  readonly excludePaths: readonly string[];
  readonly headers: boolean;
}

export function parseRateLimit<Req>(
  value: unknown,
  clock: Clock,
): RateLimitSettings<Req> | undefined {
  const options = featureOptions<RateLimitOptions<Req>>(
    'rateLimit',
    value,
    false,
    RATE_LIMIT_OPTIONS,
  );
  if (options === undefined) return undefined;
  const { identity, paths, excludePaths = [], headers = true } = options;
  const limiter = parseLimiter(options.limiter, clock);
  if (identity !== 'shared') {
    if (identity === undefined) {
      throw new TypeError(
        "expected rateLimit.identity: a function returning who is calling (e.g. ({ request }) => request.user?.id ?? request.ip), or 'shared' to put every request under one limit",
      );
    }
    checkFunction('rateLimit.identity', identity);
  }
  checkBoolean('rateLimit.headers', headers);
  return {
    limiter,
    identity: identity === 'shared' ? undefined : identity,
    paths: paths === undefined ? undefined : parsePrefixes('rateLimit.paths', paths),
    excludePaths: parsePrefixes('rateLimit.excludePaths', excludePaths),
    headers,
  };
}

/** A limiter as given, or one built from its options on the stack's clock. */
function parseLimiter(value: unknown, clock: Clock): RateLimiter {
  if (isLimiter(value)) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `expected rateLimit.limiter to be a tokenBucket() or slidingWindow() of @bulwark/rate-limit, or the options of one, got ${describeValue(value)}`,
    );
  }
  checkKnownOptions(FACTORY, value, LIMITER_OPTIONS, 'rateLimit.limiter');
  const { algorithm = 'token-bucket', ...options } = value as InboundLimiterOptions;
  const built: TokenBucketOptions = { ...options, clock: options.clock ?? clock };
  // The rate-limit package checks the rest, and names the option: say where it sits.
  return within('rateLimit.limiter', () => {
    if (algorithm === 'token-bucket') return tokenBucket(built);
    if (algorithm === 'sliding-window') return slidingWindow(built);
    throw new TypeError(
      `expected algorithm to be "token-bucket" or "sliding-window", got ${describeValue(algorithm)}`,
    );
  });
}

function isLimiter(value: unknown): value is RateLimiter {
  const limiter = value as Partial<RateLimiter> | null;
  return (
    typeof limiter === 'object' &&
    limiter !== null &&
    typeof limiter.take === 'function' &&
    typeof limiter.policy === 'string'
  );
}

/** Runs `build`, prefixing the path of the options to the message of an option error. */
function within<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error: unknown) {
    if (error instanceof RangeError) throw new RangeError(`${path}: ${error.message}`);
    if (error instanceof TypeError) throw new TypeError(`${path}: ${error.message}`);
    throw error;
  }
}

/** Path prefixes, each kept without its trailing slash ("/" stays "/"). */
function parsePrefixes(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `expected ${name} to be an array of path prefixes, got ${describeValue(value)}`,
    );
  }
  return (value as unknown[]).map((prefix, i) => {
    if (
      typeof prefix !== 'string' ||
      !prefix.startsWith('/') ||
      prefix.length > MAX_PATH_LENGTH ||
      /[?#\s]/.test(prefix)
    ) {
      throw new TypeError(
        `expected ${name}[${i}] to be a path starting with "/" without query or spaces, got ${describeValue(prefix)}`,
      );
    }
    return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  });
}

/** Whether `prefix` covers `path`: itself, or a path below it ("/api" covers "/api/x", not "/apix"). */
function covers(prefix: string, path: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  return path.startsWith(prefix) && path.charCodeAt(prefix.length) === SLASH;
}

function coveredByAny(prefixes: readonly string[], path: string): boolean {
  for (let i = 0; i < prefixes.length; i++) if (covers(prefixes[i]!, path)) return true;
  return false;
}

/**
 * The rate limit on inbound requests: which requests it applies to, one decision per request,
 * and the fields and answers that tell the caller where it stands.
 */
export class InboundRateLimit<Req> {
  /** `RateLimit-Policy` names the limiter's quota, which never changes: written once. */
  private policyField: string | undefined = undefined;

  constructor(private readonly settings: RateLimitSettings<Req>) {}

  get limiter(): RateLimiter {
    return this.settings.limiter;
  }

  /** Whether a request to this URL counts against the limit. */
  applies(url: string): boolean {
    const { paths, excludePaths } = this.settings;
    if (paths === undefined && excludePaths.length === 0) return true;
    const path = pathOf(url);
    if (paths !== undefined && !coveredByAny(paths, path)) return false;
    return !coveredByAny(excludePaths, path);
  }

  /**
   * Takes one permit for the request's caller: decided at once in memory, a promise with a
   * Redis store. Throws what the identity callback throws, and the limiter's error for a key
   * it cannot take (not a non-empty string of at most its `maxKeyLength`).
   */
  take(ticket: Ticket<Req>): RateLimitDecision | Promise<RateLimitDecision> {
    const identity = this.settings.identity;
    const key = identity === undefined ? undefined : identity({ request: ticket.request });
    return key === undefined ? this.settings.limiter.take() : this.settings.limiter.take(key);
  }

  /** Writes `RateLimit-Policy` and `RateLimit` on a response the limit let through, if asked to. */
  allowed(ticket: Ticket<Req>, decision: RateLimitDecision): void {
    if (!this.settings.headers) return;
    ticket.setHeader(RATELIMIT_POLICY_HEADER, this.policy(decision));
    // Unknown while the store fails: the field is left out rather than made up.
    const remaining = formatRateLimit(decision);
    if (remaining !== undefined) ticket.setHeader(RATELIMIT_HEADER, remaining);
  }

  /**
   * The answer to a refused request: 429, or 503 when the store failed and the limiter refuses
   * then, as a problem with `Retry-After`, `RateLimit-Policy` and, when known, `RateLimit`.
   */
  refusal(decision: RateLimitDecision): Answer {
    const headers: Record<string, string> = {
      'content-type': PROBLEM_CONTENT_TYPE,
      [RETRY_AFTER_HEADER]: String(retryAfterSeconds(decision.retryAfterMs)),
      [RATELIMIT_POLICY_HEADER]: this.policy(decision),
    };
    const remaining = formatRateLimit(decision);
    if (remaining !== undefined) headers[RATELIMIT_HEADER] = remaining;
    const { status } = rateLimitedProblem(decision.storeFailed);
    return {
      statusCode: status,
      headers,
      body: decision.storeFailed ? UNAVAILABLE_BODY : LIMITED_BODY,
    };
  }

  private policy(decision: RateLimitDecision): string {
    return (this.policyField ??= formatRateLimitPolicy(decision));
  }
}
