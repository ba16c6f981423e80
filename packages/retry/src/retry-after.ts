/**
 * Server delay hints in response headers: how long the server asks a client to wait before the
 * next attempt. One parser for every header, strict about what it accepts: a value that is not
 * exactly what the spec allows is ignored, and the policy falls back to its backoff.
 *
 * - `Retry-After` (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date, in any of the three
 *   formats a recipient must accept (IMF-fixdate, RFC 850, asctime).
 * - `RateLimit-Reset` (IETF ratelimit-headers draft): delta-seconds.
 * - `X-RateLimit-Reset` (GitHub, Twitter, Discord...): delta-seconds, or epoch seconds when the
 *   value is clearly a Unix timestamp; fractions allowed, as some services send them.
 * - `grpc-retry-pushback-ms` (gRPC A6): milliseconds; a negative value means "do not retry".
 *
 * `Retry-After` and `grpc-retry-pushback-ms` are answers about this request. The two reset
 * headers describe a quota and come on successful responses too, so they count only when the
 * matching `*-Remaining` header says the quota is spent (or is absent).
 */

/** The longest header value looked at; an HTTP-date is 29 characters. */
const MAX_VALUE_LENGTH = 64;
/** A wait longer than a year is not a hint but garbage; such values are ignored. */
const MAX_HINT_SECONDS = 365 * 86_400;
const MAX_HINT_MS = MAX_HINT_SECONDS * 1000;
/**
 * X-RateLimit-Reset values from here up are epoch seconds (this one is September 2001). Values
 * between a year and this are neither a plausible delay nor a plausible date, and are ignored.
 */
const EPOCH_THRESHOLD_SECONDS = 1_000_000_000;
/** RFC 9110: a two-digit RFC 850 year more than 50 years in the future is in the past century. */
const TWO_DIGIT_YEAR_WINDOW = 50;

/** `grpc-retry-pushback-ms` with a negative value: the server asks the client not to retry. */
export const DO_NOT_RETRY = 'do-not-retry';

/**
 * A delay hint in milliseconds, {@link DO_NOT_RETRY} when the server asked not to retry, or
 * `undefined` when there is none (the policy then uses its backoff).
 */
export type DelayHint = number | typeof DO_NOT_RETRY | undefined;

/** A fetch `Headers` (or anything with a `get(name)`), or a plain record (Node, undici). */
export type HeadersLike =
  | { get(name: string): string | readonly string[] | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

const DELTA_SECONDS = /^\d{1,12}$/;
const DECIMAL_SECONDS = /^\d{1,12}(?:\.\d{1,6})?$/;
const SIGNED_MILLISECONDS = /^-?\d{1,15}$/;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`,
);
const ASCTIME = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ( \\d|\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`,
);

/** Milliseconds since the epoch for valid date parts, else undefined (no Feb 30, no 25:00). */
function utc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  // 60 is allowed: a leap second is a valid time of day.
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  return ms;
}

/** An HTTP-date (RFC 9110 §5.6.7) in milliseconds since the epoch, or undefined. */
export function parseHttpDate(value: string, dateNow: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) {
    return utc(+m[3]!, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = RFC_850.exec(value);
  if (m !== null) {
    const nowYear = new Date(dateNow).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + +m[3]!;
    if (year > nowYear + TWO_DIGIT_YEAR_WINDOW) year -= 100;
    return utc(year, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(value);
  if (m !== null) {
    return utc(+m[6]!, MONTHS.indexOf(m[1]!), +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  }
  return undefined;
}

function fromSeconds(seconds: number): number | undefined {
  return seconds <= MAX_HINT_SECONDS ? Math.ceil(seconds * 1000) : undefined;
}

/** A delay until `at` (epoch ms): 0 when it has passed, undefined when it is absurdly far. */
function untilDate(at: number | undefined, dateNow: number): number | undefined {
  if (at === undefined) return undefined;
  const delay = at - dateNow;
  if (delay > MAX_HINT_MS) return undefined;
  return delay > 0 ? delay : 0;
}

function clean(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_VALUE_LENGTH) return undefined;
  return value.trim();
}

/**
 * A `Retry-After` value as a delay in milliseconds: delta-seconds, or an HTTP-date relative to
 * `dateNow` (wall-clock ms, e.g. `clock.dateNow()`); a date in the past gives 0. Undefined for
 * anything malformed: garbage, negative or fractional seconds, more than a year, too long.
 */
export function parseRetryAfter(value: string, dateNow: number): number | undefined {
  const text = clean(value);
  if (text === undefined) return undefined;
  if (DELTA_SECONDS.test(text)) return fromSeconds(Number(text));
  return untilDate(parseHttpDate(text, dateNow), dateNow);
}

/** A `RateLimit-Reset` value (delta-seconds) in milliseconds, or undefined. */
export function parseRateLimitReset(value: string): number | undefined {
  const text = clean(value);
  if (text === undefined || !DELTA_SECONDS.test(text)) return undefined;
  return fromSeconds(Number(text));
}

/**
 * An `X-RateLimit-Reset` value in milliseconds, or undefined: delta-seconds, or epoch seconds
 * (relative to `dateNow`; a time in the past gives 0) when the value is clearly a timestamp.
 */
export function parseXRateLimitReset(value: string, dateNow: number): number | undefined {
  const text = clean(value);
  if (text === undefined || !DECIMAL_SECONDS.test(text)) return undefined;
  const seconds = Number(text);
  if (seconds >= EPOCH_THRESHOLD_SECONDS) return untilDate(Math.ceil(seconds * 1000), dateNow);
  return fromSeconds(seconds);
}

/**
 * A `grpc-retry-pushback-ms` value: milliseconds, {@link DO_NOT_RETRY} for a negative value, or
 * undefined when malformed.
 */
export function parseGrpcPushback(value: string): DelayHint {
  const text = clean(value);
  if (text === undefined || !SIGNED_MILLISECONDS.test(text)) return undefined;
  const ms = Number(text);
  if (ms < 0) return DO_NOT_RETRY;
  return ms <= MAX_HINT_MS ? ms : undefined;
}

/** One value of a header, looked up case-insensitively; a repeated header must agree with itself. */
function single(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const first: unknown = value[0];
  if (typeof first !== 'string') return undefined;
  for (let i = 1; i < value.length; i++) if (value[i] !== first) return undefined;
  return first;
}

function header(headers: HeadersLike, name: string): string | undefined {
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    return single((get as (name: string) => unknown).call(headers, name));
  }
  const record = headers as Readonly<Record<string, unknown>>;
  // Node and undici lower-case header names, so the direct lookup nearly always answers.
  if (Object.hasOwn(record, name)) return single(record[name]);
  for (const key of Object.keys(record)) {
    if (key.length === name.length && key.toLowerCase() === name) return single(record[key]);
  }
  return undefined;
}

/** True unless a `*-Remaining` header says there is quota left. */
function quotaSpent(headers: HeadersLike, remainingName: string): boolean {
  const remaining = header(headers, remainingName)?.trim();
  return remaining === undefined || remaining === '0';
}

/**
 * The server's delay hint in `headers`, by precedence: `grpc-retry-pushback-ms`,
 * `Retry-After`, `RateLimit-Reset`, `X-RateLimit-Reset`. A malformed header is skipped, so the
 * next one (or, when none is left, the backoff) decides. `dateNow` is wall-clock ms.
 */
export function delayFromHeaders(headers: HeadersLike, dateNow: number): DelayHint {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const pushback = header(headers, 'grpc-retry-pushback-ms');
  if (pushback !== undefined) {
    const hint = parseGrpcPushback(pushback);
    if (hint !== undefined) return hint;
  }
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const hint = parseRetryAfter(retryAfter, dateNow);
    if (hint !== undefined) return hint;
  }
  const reset = header(headers, 'ratelimit-reset');
  if (reset !== undefined && quotaSpent(headers, 'ratelimit-remaining')) {
    const hint = parseRateLimitReset(reset);
    if (hint !== undefined) return hint;
  }
  const xReset = header(headers, 'x-ratelimit-reset');
  if (xReset !== undefined && quotaSpent(headers, 'x-ratelimit-remaining')) {
    const hint = parseXRateLimitReset(xReset, dateNow);
    if (hint !== undefined) return hint;
  }
  return undefined;
}
