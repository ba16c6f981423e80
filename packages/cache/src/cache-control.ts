/**
 * The Cache-Control parser (RFC 9111 §5.2), shared by request and response directives.
 *
 * Malformed input never throws. The rules, from RFC 9111 §4.2.1 and §5.2:
 * - names are case-insensitive; both token and quoted-string arguments are accepted;
 * - a repeated numeric directive keeps its most restrictive value (the smallest, except
 *   `min-fresh`, where the largest is the most restrictive);
 * - a `max-age` or `s-maxage` that is not a delta-seconds value (`max-age=abc`) makes the
 *   response stale, as RFC 9111 §4.2.1 encourages, rather than being silently skipped;
 *   other malformed numeric directives are ignored;
 * - values beyond 2^31 seconds are clamped, never overflowed (§1.2.2);
 * - `no-cache` and `private` with a malformed field list are taken unqualified: the stricter reading.
 */

/** The largest delta-seconds honoured (RFC 9111 §1.2.2); larger values are clamped to it. */
export const MAX_DELTA_SECONDS = 2_147_483_648;

export interface CacheDirectives {
  maxAge: number | undefined;
  sMaxAge: number | undefined;
  /** `Infinity` when given without a value (any staleness is acceptable). */
  maxStale: number | undefined;
  minFresh: number | undefined;
  staleWhileRevalidate: number | undefined;
  staleIfError: number | undefined;
  /** A `max-age` was present but malformed: the response counts as stale. */
  invalidFreshness: boolean;
  /** An `s-maxage` was present but malformed: stale for a shared cache; a private one ignores it. */
  invalidSharedFreshness: boolean;
  /** Unqualified `no-cache`: validate before every reuse. */
  noCache: boolean;
  /** The fields named by a qualified `no-cache="..."`: they are not stored. */
  noCacheFields: readonly string[] | undefined;
  noStore: boolean;
  /** Unqualified `private`. */
  private: boolean;
  /** The fields named by a qualified `private="..."`: a shared cache does not store them. */
  privateFields: readonly string[] | undefined;
  public: boolean;
  mustRevalidate: boolean;
  proxyRevalidate: boolean;
  immutable: boolean;
  onlyIfCached: boolean;
}

/** Directives of a message without a Cache-Control field. Frozen: shared by every such message. */
export const NO_DIRECTIVES: Readonly<CacheDirectives> = Object.freeze(emptyDirectives());

function emptyDirectives(): CacheDirectives {
  return {
    maxAge: undefined,
    sMaxAge: undefined,
    maxStale: undefined,
    minFresh: undefined,
    staleWhileRevalidate: undefined,
    staleIfError: undefined,
    invalidFreshness: false,
    invalidSharedFreshness: false,
    noCache: false,
    noCacheFields: undefined,
    noStore: false,
    private: false,
    privateFields: undefined,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    immutable: false,
    onlyIfCached: false,
  };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DELTA_SECONDS = /^[0-9]+$/;

/** True for an RFC 9110 token (a field name, a directive name). */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/** A delta-seconds value (RFC 9111 §1.2.2), clamped to 2^31; `undefined` when malformed. */
export function parseDeltaSeconds(value: string): number | undefined {
  if (!DELTA_SECONDS.test(value)) return undefined;
  // Digits beyond 10 are past the clamp whatever they are; Number() of 400 digits is Infinity.
  if (value.length > 10) return MAX_DELTA_SECONDS;
  const seconds = Number(value);
  return seconds > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : seconds;
}

interface RawDirective {
  name: string;
  /** `undefined` when the directive has no `=`. */
  value: string | undefined;
  /** The argument was a quoted-string without its closing quote. */
  malformed: boolean;
}

/** Splits a field value into directives, honouring quoted-strings (which may hold commas). */
function splitDirectives(header: string): RawDirective[] {
  const out: RawDirective[] = [];
  const length = header.length;
  let i = 0;
  while (i < length) {
    // Skip separators and whitespace.
    while (i < length && isSeparator(header.charCodeAt(i))) i++;
    if (i >= length) break;
    const nameStart = i;
    while (i < length) {
      const c = header.charCodeAt(i);
      if (c === 0x2c /* , */ || c === 0x3d /* = */) break;
      i++;
    }
    const name = header.slice(nameStart, i).trim().toLowerCase();
    if (i >= length || header.charCodeAt(i) === 0x2c) {
      if (name.length > 0) out.push({ name, value: undefined, malformed: false });
      continue;
    }
    i++; // '='
    while (i < length && isWhitespace(header.charCodeAt(i))) i++;
    if (i < length && header.charCodeAt(i) === 0x22 /* " */) {
      let value = '';
      let closed = false;
      i++;
      while (i < length) {
        const c = header.charCodeAt(i);
        if (c === 0x5c /* \ */ && i + 1 < length) {
          value += header[i + 1];
          i += 2;
          continue;
        }
        if (c === 0x22) {
          closed = true;
          i++;
          break;
        }
        value += header[i];
        i++;
      }
      // Anything between the closing quote and the next comma makes the argument malformed.
      const restStart = i;
      while (i < length && header.charCodeAt(i) !== 0x2c) i++;
      const trailing = header.slice(restStart, i).trim().length > 0;
      out.push({ name, value, malformed: !closed || trailing });
    } else {
      const valueStart = i;
      while (i < length && header.charCodeAt(i) !== 0x2c) i++;
      out.push({ name, value: header.slice(valueStart, i).trim(), malformed: false });
    }
  }
  return out;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isSeparator(c: number): boolean {
  return c === 0x2c || c === 0x20 || c === 0x09;
}

/** A field-name list argument (`no-cache="set-cookie, x-user"`), or `undefined` when malformed. */
function parseFieldList(value: string): string[] | undefined {
  const fields: string[] = [];
  for (const part of value.split(',')) {
    const field = part.trim().toLowerCase();
    if (field.length === 0) continue;
    if (!isToken(field)) return undefined;
    fields.push(field);
  }
  return fields.length > 0 ? fields : undefined;
}

type NumericKey =
  'maxAge' | 'sMaxAge' | 'maxStale' | 'minFresh' | 'staleWhileRevalidate' | 'staleIfError';

const NUMERIC: Record<string, NumericKey> = {
  'max-age': 'maxAge',
  's-maxage': 'sMaxAge',
  'max-stale': 'maxStale',
  'min-fresh': 'minFresh',
  'stale-while-revalidate': 'staleWhileRevalidate',
  'stale-if-error': 'staleIfError',
};

function setNumeric(out: CacheDirectives, key: NumericKey, n: number): void {
  const current = out[key];
  if (current === undefined) out[key] = n;
  else out[key] = key === 'minFresh' ? Math.max(current, n) : Math.min(current, n);
}

/**
 * Parses a Cache-Control field value (several field lines joined with commas are one value).
 * Unknown directives are ignored (RFC 9111 §5.2.3).
 */
export function parseCacheControl(header: string | undefined): CacheDirectives {
  if (header === undefined || header.length === 0) return emptyDirectives();
  const out = emptyDirectives();
  let noCacheFields: string[] | undefined;
  let privateFields: string[] | undefined;
  for (const { name, value, malformed } of splitDirectives(header)) {
    const numeric = NUMERIC[name];
    if (numeric !== undefined) {
      if (numeric === 'maxStale' && value === undefined) {
        setNumeric(out, numeric, Infinity);
        continue;
      }
      const seconds = value === undefined || malformed ? undefined : parseDeltaSeconds(value);
      if (seconds !== undefined) setNumeric(out, numeric, seconds);
      else if (numeric === 'maxAge') out.invalidFreshness = true;
      else if (numeric === 'sMaxAge') out.invalidSharedFreshness = true;
      continue;
    }
    switch (name) {
      case 'no-cache':
      case 'private': {
        const fields = value === undefined || malformed ? undefined : parseFieldList(value);
        if (name === 'no-cache') {
          if (fields === undefined) out.noCache = true;
          else (noCacheFields ??= []).push(...fields);
        } else if (fields === undefined) {
          out.private = true;
        } else {
          (privateFields ??= []).push(...fields);
        }
        break;
      }
      case 'no-store':
        out.noStore = true;
        break;
      case 'public':
        out.public = true;
        break;
      case 'must-revalidate':
        out.mustRevalidate = true;
        break;
      case 'proxy-revalidate':
        out.proxyRevalidate = true;
        break;
      case 'immutable':
        out.immutable = true;
        break;
      case 'only-if-cached':
        out.onlyIfCached = true;
        break;
      default:
        break;
    }
  }
  // Unqualified wins over qualified: it is the stricter of the two.
  if (!out.noCache && noCacheFields !== undefined) out.noCacheFields = noCacheFields;
  if (!out.private && privateFields !== undefined) out.privateFields = privateFields;
  return out;
}

/** True when a Pragma field value holds `no-cache` (honoured only without Cache-Control). */
export function pragmaNoCache(pragma: string | undefined): boolean {
  if (pragma === undefined) return false;
  for (const part of pragma.split(',')) {
    if (part.trim().toLowerCase() === 'no-cache') return true;
  }
  return false;
}
