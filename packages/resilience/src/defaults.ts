/**
 * The standard pipeline's defaults. The README's "Defaults" section explains each one and
 * compares it with Microsoft.Extensions.Http.Resilience's standard handler, Polly and
 * resilience4j; keep the two together.
 *
 * They are sized together: three attempts of DEFAULT_ATTEMPT_TIMEOUT_MS each, and the backoff
 * between them, fit within DEFAULT_DEADLINE_MS, so every attempt the retry may start gets its
 * whole time limit unless the downstream is slow on every one.
 */

/** The whole call, retries, backoff and every attempt included. */
export const DEFAULT_DEADLINE_MS = 10_000;

/** One attempt; inside the deadline it shrinks to what is left of it. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 3_000;

/** Attempts in all, the first included: the first and two retries. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** The first retry waits a random time below this (full jitter); each later one up to twice as long. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 100;

/** No backoff delay exceeds this. */
export const DEFAULT_RETRY_MAX_DELAY_MS = 2_000;

/** Retries (and hedges) may add this share of the first attempts' load, as Finagle's budget. */
export const DEFAULT_RETRY_BUDGET_RATIO = 0.2;

/** Retries always allowed per second, so a quiet caller can still retry. */
export const DEFAULT_RETRY_BUDGET_MIN_PER_SECOND = 10;

/** How far back the budget counts first attempts and retries. */
export const DEFAULT_RETRY_BUDGET_WINDOW_MS = 10_000;

/** The breaker opens when this share of the attempts in its window failed. */
export const DEFAULT_BREAKER_FAILURE_RATIO = 0.5;

/** No ratio is judged while the window holds fewer attempts than this. */
export const DEFAULT_BREAKER_MIN_THROUGHPUT = 20;

/** The breaker's window: the attempts of the last this many milliseconds count. */
export const DEFAULT_BREAKER_WINDOW_MS = 30_000;

/** How long the breaker stays open before it lets one trial attempt through. */
export const DEFAULT_BREAK_DURATION_MS = 5_000;

/** Each failed trial doubles the break, up to this. */
export const DEFAULT_MAX_BREAK_DURATION_MS = 60_000;

/** Calls at once, when the bulkhead is turned on without a limit of its own. */
export const DEFAULT_BULKHEAD_LIMIT = 1_000;

/** Calls allowed to wait for a slot, when the bulkhead is turned on without a queue of its own. */
export const DEFAULT_BULKHEAD_QUEUE = 0;
