import { ErrorCode, isBulwarkError } from '@bulwark/core';

/**
 * The `outcome` label of calls and attempts. Bulwark's own failures get names of their own, so
 * a dashboard tells a dependency that fails from a breaker that protects it or a deadline that
 * ran out; any other failure (a thrown error, or a result a retry counted as a failure) is
 * `failure`.
 */
export const OUTCOMES = [
  'success',
  'failure',
  'timeout',
  'deadline-exceeded',
  'cancelled',
  'circuit-open',
  'bulkhead-rejected',
  'rate-limited',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

const SUCCESS = 0;
const FAILURE = 1;
const RATE_LIMITED_CODE = 'BULWARK_RATE_LIMITED';

const OUTCOME_BY_CODE: ReadonlyMap<string, number> = new Map([
  [ErrorCode.Timeout, OUTCOMES.indexOf('timeout')],
  [ErrorCode.DeadlineExceeded, OUTCOMES.indexOf('deadline-exceeded')],
  [ErrorCode.Cancelled, OUTCOMES.indexOf('cancelled')],
  [ErrorCode.BrokenCircuit, OUTCOMES.indexOf('circuit-open')],
  [ErrorCode.IsolatedCircuit, OUTCOMES.indexOf('circuit-open')],
  [ErrorCode.BulkheadRejected, OUTCOMES.indexOf('bulkhead-rejected')],
  // @bulwark/rate-limit's RateLimitedError: its code is that package's, and this one needs no
  // dependency on it to name it.
  [RATE_LIMITED_CODE, OUTCOMES.indexOf('rate-limited')],
]);

/** The index in {@link OUTCOMES} of an event's outcome. */
export function outcomeIndex(outcome: 'success' | 'failure', error: unknown): number {
  if (outcome === 'success') return SUCCESS;
  return isBulwarkError(error) ? (OUTCOME_BY_CODE.get(error.code) ?? FAILURE) : FAILURE;
}

/**
 * A short, low-cardinality name for a failure, for span attributes (`error.type`, the reason of
 * a retry): a result's HTTP status, else an error's `code` (Bulwark's codes, Node's ECONNRESET),
 * else its class name; `_OTHER` as OpenTelemetry's conventions say when nothing better is known.
 */
export function describeFailure(failure: unknown): string {
  if (typeof failure === 'object' && failure !== null) {
    const { status, statusCode, code, name } = failure as Record<string, unknown>;
    if (!(failure instanceof Error)) {
      const httpStatus = typeof status === 'number' ? status : statusCode;
      if (typeof httpStatus === 'number') return String(httpStatus);
    }
    if (typeof code === 'string' && code.length > 0 && code.length <= 64) return code;
    if (typeof name === 'string' && name.length > 0 && name.length <= 64) return name;
  }
  return '_OTHER';
}
