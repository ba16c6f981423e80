import { describeValue } from '@bulwark/core/internal';
import type { RateLimitDecision } from './decision.js';

/**
 * The fields of the IETF httpapi draft "RateLimit header fields for HTTP"
 * (draft-ietf-httpapi-ratelimit-headers-09 and -10), built from decisions:
 *
 *     RateLimit-Policy: "default";q=100;w=60
 *     RateLimit: "default";r=42;t=12
 *
 * Both are structured-field Lists (RFC 9651) of Strings with Integer parameters, one member per
 * decision: `q` the quota and `w` the window in seconds; `r` the remaining quota and `t` the
 * seconds until more is available. No partition key (`pk`) is sent: keys are often user or
 * tenant ids. Field names are lower case, as Node writes them.
 */

/** The `RateLimit-Policy` field name. */
export const RATELIMIT_POLICY_HEADER = 'ratelimit-policy';
/** The `RateLimit` field name. */
export const RATELIMIT_HEADER = 'ratelimit';
/** The `Retry-After` field name. */
export const RETRY_AFTER_HEADER = 'retry-after';

const MS_PER_SECOND = 1000;
/** What `rateLimit()`'s limiters accept as a name: safe inside a structured-field String as is. */
const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The headers for one response: the three fields, `ratelimit` and `retry-after` when known. */
export interface RateLimitHeaders {
  'ratelimit-policy': string;
  ratelimit?: string;
  'retry-after'?: string;
}

type Decisions = RateLimitDecision | readonly RateLimitDecision[];

function isList(decisions: Decisions): decisions is readonly RateLimitDecision[] {
  return Array.isArray(decisions);
}

function list(decisions: Decisions): readonly RateLimitDecision[] {
  if (!isList(decisions)) return [decisions];
  // Both fields are non-empty Lists: with no decision there is nothing to send.
  if (decisions.length === 0) throw new RangeError('expected at least one decision, got none');
  return decisions;
}

function checked(decision: RateLimitDecision): RateLimitDecision {
  const { policy } = decision;
  if (typeof policy !== 'string' || !POLICY_NAME.test(policy)) {
    throw new TypeError(
      `expected decision.policy to be 1 to 64 letters, digits, "_", "." or "-", got ${describeValue(policy)}`,
    );
  }
  for (const field of ['limit', 'windowMs', 'remaining', 'resetMs', 'retryAfterMs'] as const) {
    const value = decision[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `expected decision.${field} to be an integer >= 0, got ${describeValue(value)}`,
      );
    }
  }
  return decision;
}

/** Whole seconds for a Retry-After, rounded up so a client never comes back early, and >= 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / MS_PER_SECOND));
}

/**
 * The policy item: `w` must be whole seconds. A window that is not is rounded up to the next
 * second and the quota scaled to it, rounded down, so the advertised rate is never above the
 * real one (10 per 100 ms becomes `q=100;w=1`; 3 per 1500 ms, `q=4;w=2`).
 */
function policyItem(decision: RateLimitDecision): string {
  const { policy, limit, windowMs } = decision;
  if (windowMs % MS_PER_SECOND === 0) return `"${policy}";q=${limit};w=${windowMs / MS_PER_SECOND}`;
  const seconds = Math.ceil(windowMs / MS_PER_SECOND);
  const quota = Math.floor((limit * seconds * MS_PER_SECOND) / windowMs);
  return `"${policy}";q=${quota};w=${seconds}`;
}

/**
 * `t` is when more quota is there. After an allowed decision that is `resetMs` (the key is back
 * to full then). After a refusal it is the `Retry-After`, as the draft asks a Retry-After never
 * to point before `t`, and it is indeed when the refused permits come back.
 */
function limitItem(decision: RateLimitDecision): string {
  const seconds = decision.allowed
    ? Math.ceil(decision.resetMs / MS_PER_SECOND)
    : retryAfterSeconds(decision.retryAfterMs);
  return `"${decision.policy}";r=${decision.remaining};t=${seconds}`;
}

/** The `RateLimit-Policy` field value for one decision or several (one member each). */
export function formatRateLimitPolicy(decisions: Decisions): string {
  return list(decisions)
    .map((decision) => policyItem(checked(decision)))
    .join(', ');
}

/**
 * The `RateLimit` field value, or undefined when no decision's figures are known (each one taken
 * while the store failed is left out).
 */
export function formatRateLimit(decisions: Decisions): string | undefined {
  const items = list(decisions)
    .filter((decision) => !checked(decision).storeFailed)
    .map(limitItem);
  return items.length === 0 ? undefined : items.join(', ');
}

/**
 * The `Retry-After` field value in whole seconds: the longest wait among the refused decisions
 * (all of them must pass), or undefined when none was refused.
 */
export function formatRetryAfter(decisions: Decisions): string | undefined {
  let seconds = 0;
  for (const decision of list(decisions)) {
    if (!checked(decision).allowed) {
      seconds = Math.max(seconds, retryAfterSeconds(decision.retryAfterMs));
    }
  }
  return seconds === 0 ? undefined : String(seconds);
}

/**
 * The three fields for a response, from the decisions made for its request: `ratelimit-policy`
 * always, `ratelimit` when the figures are known, `retry-after` when a decision refused it.
 * Set them on the response as they are (`res.setHeader(name, value)` for each entry).
 */
export function rateLimitHeaders(decisions: Decisions): RateLimitHeaders {
  const headers: RateLimitHeaders = { 'ratelimit-policy': formatRateLimitPolicy(decisions) };
  const limit = formatRateLimit(decisions);
  if (limit !== undefined) headers.ratelimit = limit;
  const retryAfter = formatRetryAfter(decisions);
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  return headers;
}
