import { describeValue } from '@bulwark/core/internal';

/** Where a request goes: the origin (the breaker's key) and the path with its query. */
export interface Target {
  readonly origin: string;
  readonly path: string;
}

/** The parsed `baseUrl` option: its origin and the path every relative target goes under. */
export interface Base {
  readonly origin: string;
  /** The base path without a trailing slash ('' for the root). */
  readonly prefix: string;
}

export type QueryValue = string | number | boolean | undefined;

// scheme://authority, then the rest. Anything unusual (userinfo, IPv6) goes through URL.
const ABSOLUTE = /^(https?):\/\/([^/?#@[\]]+)(?=[/?#]|$)([^#]*)/i;
/** Raw origins seen, normalised: bounded, as a caller could send anything. */
const ORIGIN_CACHE_LIMIT = 1000;
const originCache = new Map<string, string>();

function checkHttp(url: URL, raw: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`expected an http: or https: URL, got ${describeValue(raw)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('expected a URL without credentials; send an Authorization header instead');
  }
}

/** `http://Host:80` and `http://host` are one origin, hence one breaker. */
function normalizeOrigin(raw: string): string {
  let origin = originCache.get(raw);
  if (origin === undefined) {
    origin = new URL(raw).origin;
    if (originCache.size >= ORIGIN_CACHE_LIMIT) originCache.clear();
    originCache.set(raw, origin);
  }
  return origin;
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(
      `expected url to be an absolute http(s) URL or a path, got ${describeValue(raw)}`,
    );
  }
  checkHttp(url, raw);
  return url;
}

export function parseBase(baseUrl: string | URL): Base {
  const url = typeof baseUrl === 'string' ? parseUrl(baseUrl) : baseUrl;
  if (!(url instanceof URL)) {
    throw new TypeError(`expected baseUrl to be a string or a URL, got ${describeValue(baseUrl)}`);
  }
  checkHttp(url, url.href);
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError(
      `expected baseUrl without a query or fragment, got ${describeValue(url.href)}`,
    );
  }
  const prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { origin: url.origin, prefix };
}

function appendQuery(path: string, query: Readonly<Record<string, QueryValue>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.append(name, String(value));
  }
  const search = params.toString();
  if (search === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${search}`;
}

/**
 * Splits a request's URL into origin and path without building a `URL` for the common shapes:
 * a path under `baseUrl`, or `http(s)://host[:port]/path`.
 */
export function resolveTarget(
  url: string | URL,
  base: Base | undefined,
  query: Readonly<Record<string, QueryValue>> | undefined,
): Target {
  let origin: string;
  let path: string;
  if (typeof url === 'string' && url.charCodeAt(0) === 47 /* / */ && url.charCodeAt(1) !== 47) {
    if (base === undefined) {
      throw new TypeError(
        `expected an absolute URL, or a baseUrl option for the path ${describeValue(url)}`,
      );
    }
    origin = base.origin;
    path = base.prefix === '' ? url : base.prefix + url;
  } else if (typeof url === 'string') {
    const match = ABSOLUTE.exec(url);
    if (match !== null) {
      origin = normalizeOrigin(`${match[1]!}://${match[2]!}`);
      const rest = match[3]!;
      path = rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
    } else {
      const parsed = parseUrl(url);
      origin = parsed.origin;
      path = parsed.pathname + parsed.search;
    }
  } else if (url instanceof URL) {
    checkHttp(url, url.href);
    origin = url.origin;
    path = url.pathname + url.search;
  } else {
    throw new TypeError(`expected url to be a string or a URL, got ${describeValue(url)}`);
  }
  return { origin, path: query === undefined ? path : appendQuery(path, query) };
}
