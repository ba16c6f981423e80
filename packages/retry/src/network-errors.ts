/**
 * Error codes of transient network failures: the connection broke or could not be made, and a
 * new attempt may well succeed. Node's system errors and undici's errors carry them in `code`;
 * `fetch()` wraps them as `TypeError('fetch failed')` with the original as `cause`.
 *
 * Left out on purpose: ENOTFOUND (a name that does not resolve is nearly always a wrong name,
 * while EAI_AGAIN is the resolver's "try again"), and UND_ERR_ABORTED (the caller gave up).
 */
export const RETRYABLE_NETWORK_ERROR_CODES: readonly string[] = Object.freeze([
  // Node system errors
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  // undici
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** How deep to follow `cause` links: real chains are 2 or 3 long, and a cycle must end. */
const MAX_CAUSE_DEPTH = 8;
/** How many members of an AggregateError to look at (happy eyeballs gives one per address). */
const MAX_AGGREGATE_MEMBERS = 16;

function codeOf(error: object): unknown {
  return (error as { code?: unknown }).code;
}

function matches(error: unknown, codes: ReadonlySet<string>, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_CAUSE_DEPTH) return false;
  const code = codeOf(error);
  if (typeof code === 'string' && codes.has(code)) return true;
  // Node's connect with autoSelectFamily fails with an AggregateError of per-address errors.
  const members = (error as { errors?: unknown }).errors;
  if (Array.isArray(members)) {
    const count = Math.min(members.length, MAX_AGGREGATE_MEMBERS);
    for (let i = 0; i < count; i++) {
      if (matches(members[i], codes, depth + 1)) return true;
    }
  }
  return matches((error as { cause?: unknown }).cause, codes, depth + 1);
}

/**
 * A predicate that is true for an error whose `code`, or the `code` of an error in its `cause`
 * chain (or in an AggregateError's `errors`), is one of `codes`.
 */
export function errorCodeIn(codes: Iterable<string>): (error: unknown) => boolean {
  const set = new Set(codes);
  for (const code of set) {
    if (typeof code !== 'string') {
      throw new TypeError(`expected codes to hold strings, got ${typeof code}`);
    }
  }
  return (error) => matches(error, set, 0);
}

/** True for transient network failures: see {@link RETRYABLE_NETWORK_ERROR_CODES}. */
export const isRetryableNetworkError: (error: unknown) => boolean = errorCodeIn(
  RETRYABLE_NETWORK_ERROR_CODES,
);
