/**
 * Header handling: callers hand in a `Headers` object or a plain record (ideally lowercase, but
 * any case is read correctly, since a missed `Authorization` would be a security bug).
 */

/** Headers as callers may give them. */
export type HeaderInput =
  Headers | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** Headers as the cache hands them back: lowercase names, one string per field. */
export type HeaderRecord = Record<string, string>;

/** Hop-by-hop fields (RFC 9110 §7.6.1): they end at this hop, read or not. */
export const HOP_BY_HOP_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Hop-by-hop fields are never stored (RFC 9111 §3.1), nor the Age a cache recomputes. */
export const UNSTORED_FIELDS: ReadonlySet<string> = new Set([
  'age',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * What a shared cache never stores: the same, and Set-Cookie, as the cookies one user was given
 * must never reach another. A private cache keeps Set-Cookie, as RFC 9111 §3.1 requires.
 */
const SHARED_UNSTORED_FIELDS: ReadonlySet<string> = new Set([...UNSTORED_FIELDS, 'set-cookie']);

/** The fields a private or a shared cache leaves out of what it stores. */
export function unstoredFields(shared: boolean): ReadonlySet<string> {
  return shared ? SHARED_UNSTORED_FIELDS : UNSTORED_FIELDS;
}

/** Fields a 304 must not overwrite in the stored response (RFC 9111 §3.2). */
export const NOT_UPDATED_BY_304: ReadonlySet<string> = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'content-type',
  'transfer-encoding',
]);

function isHeaders(input: HeaderInput): input is Headers {
  return typeof (input as Headers).get === 'function' && typeof input.forEach === 'function';
}

function joinValue(value: string | readonly string[] | number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.join(', ');
}

/**
 * A lowercase record copy of any header input. Repeated names are joined with `, `, Set-Cookie
 * included ({@link splitSetCookie} takes its cookies apart again).
 */
export function toHeaderRecord(input: HeaderInput | undefined): HeaderRecord {
  const out: HeaderRecord = {};
  if (input === undefined) return out;
  if (isHeaders(input)) {
    // Headers joins every repeated field but Set-Cookie, which it hands out once per cookie.
    input.forEach((value, name) => {
      const existing = out[name];
      out[name] = existing === undefined ? value : `${existing}, ${value}`;
    });
    return out;
  }
  for (const name in input) {
    const value = input[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const joined = joinValue(value);
    const existing = out[lower];
    out[lower] = existing === undefined ? joined : `${existing}, ${joined}`;
  }
  return out;
}

/** Where a cookie starts after a comma: a cookie name (a token), then `=`. */
const COOKIE_START = /[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=/y;

/**
 * The cookies of a Set-Cookie field joined with `, ` (as {@link toHeaderRecord} and stored
 * responses hold them), one per element. A comma starts a new cookie only when a `name=`
 * follows it, so the comma inside an `Expires` date stays where it is.
 */
export function splitSetCookie(value: string): string[] {
  const cookies: string[] = [];
  let start = 0;
  for (let comma = value.indexOf(','); comma !== -1; comma = value.indexOf(',', comma + 1)) {
    COOKIE_START.lastIndex = comma + 1;
    if (!COOKIE_START.test(value)) continue;
    const cookie = value.slice(start, comma).trim();
    if (cookie !== '') cookies.push(cookie);
    start = comma + 1;
  }
  const last = value.slice(start).trim();
  if (last !== '') cookies.push(last);
  return cookies;
}

/** One field, looked up case-insensitively. */
export function getHeader(input: HeaderInput | undefined, name: string): string | undefined {
  if (input === undefined) return undefined;
  if (isHeaders(input)) return input.get(name) ?? undefined;
  const direct = input[name];
  if (direct !== undefined) return joinValue(direct);
  let found: string | undefined;
  for (const key in input) {
    const value = input[key];
    if (value === undefined || key === name || key.toLowerCase() !== name) continue;
    found = found === undefined ? joinValue(value) : `${found}, ${joinValue(value)}`;
  }
  return found;
}

/**
 * The fields of a forwarded response without its hop-by-hop ones (and those its Connection
 * field names): the body is handed over whole, so framing fields no longer describe it.
 */
export function withoutHopByHop(headers: HeaderRecord): HeaderRecord {
  const connection = headers.connection;
  const named = connection?.split(',').map((t) => t.trim().toLowerCase());
  let out: HeaderRecord | undefined;
  for (const name in headers) {
    if (HOP_BY_HOP_FIELDS.has(name) || named?.includes(name) === true) {
      out ??= { ...headers };
      delete out[name];
    }
  }
  return out ?? headers;
}

/** What the cache needs to know about a request's headers, read in one pass. */
export interface RequestHeaderInfo {
  cacheControl: string | undefined;
  pragma: string | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
  /** The request is conditional or ranged: the cache passes it through untouched. */
  passThrough: boolean;
}

const EMPTY_INFO: Readonly<RequestHeaderInfo> = Object.freeze({
  cacheControl: undefined,
  pragma: undefined,
  authorization: undefined,
  cookie: undefined,
  passThrough: false,
});

function take(info: RequestHeaderInfo, lower: string, value: string): void {
  switch (lower) {
    case 'cache-control':
      info.cacheControl =
        info.cacheControl === undefined ? value : `${info.cacheControl}, ${value}`;
      break;
    case 'pragma':
      info.pragma = value;
      break;
    case 'authorization':
      info.authorization = value;
      break;
    case 'cookie':
      info.cookie = value;
      break;
    case 'if-none-match':
    case 'if-modified-since':
    case 'if-match':
    case 'if-unmodified-since':
    case 'if-range':
    case 'range':
      info.passThrough = true;
      break;
    default:
      break;
  }
}

/** Reads the request fields that drive caching, in one pass over the headers. */
export function readRequestHeaders(input: HeaderInput | undefined): Readonly<RequestHeaderInfo> {
  if (input === undefined) return EMPTY_INFO;
  const info: RequestHeaderInfo = {
    cacheControl: undefined,
    pragma: undefined,
    authorization: undefined,
    cookie: undefined,
    passThrough: false,
  };
  if (isHeaders(input)) {
    input.forEach((value, name) => take(info, name, value));
    return info;
  }
  for (const name in input) {
    const value = input[name];
    if (value === undefined) continue;
    take(info, name.toLowerCase(), joinValue(value));
  }
  return info;
}

// field-value = *field-content; no CR, LF or NUL may reach a stored response.
const UNSAFE_VALUE = /[\r\n\0]/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * The headers to store (without the `unstored` fields, those `strip` names and those Connection
 * names), or `undefined` when they are not fit to be stored: a field name that is not a token, a
 * value holding CR, LF or NUL, or more than `maxBytes` in all.
 */
export function headersToStore(
  headers: HeaderRecord,
  unstored: ReadonlySet<string>,
  strip: readonly string[] | undefined,
  maxBytes: number,
): HeaderRecord | undefined {
  const out: HeaderRecord = {};
  let bytes = 0;
  let connectionTokens: string[] | undefined;
  const connection = headers.connection;
  if (connection !== undefined) {
    connectionTokens = connection.split(',').map((t) => t.trim().toLowerCase());
  }
  for (const name in headers) {
    const value = headers[name]!;
    if (unstored.has(name)) continue;
    if (strip !== undefined && strip.includes(name)) continue;
    if (connectionTokens !== undefined && connectionTokens.includes(name)) continue;
    if (!FIELD_NAME.test(name) || UNSAFE_VALUE.test(value)) return undefined;
    bytes += name.length + value.length + 4;
    if (bytes > maxBytes) return undefined;
    out[name] = value;
  }
  return out;
}

/** The approximate wire size of a header record, for memory accounting. */
export function headerBytes(headers: HeaderRecord): number {
  let bytes = 0;
  for (const name in headers) bytes += name.length + headers[name]!.length + 4;
  return bytes;
}
