import type { HttpAttemptInfo } from '@bulwark/core';
import type { Attributes, Span } from '@opentelemetry/api';
import type { OpenTelemetryApi } from './peers.js';

/**
 * How `url.full` shows a query: `redact` (the default) replaces it with `REDACTED`, as a query
 * can carry a token or a signature; `keep` exports it as sent.
 */
export type UrlQuery = 'redact' | 'keep';
export const URL_QUERY_CHOICES: readonly UrlQuery[] = ['redact', 'keep'];

/**
 * The attribute names of OpenTelemetry's HTTP client semantic conventions (stable since
 * v1.23), set on an attempt span that sent an HTTP request.
 */
export const HttpAttr = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  resendCount: 'http.request.resend_count',
  statusCode: 'http.response.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  errorType: 'error.type',
} as const;

/** The methods the conventions name; any other is reported as `_OTHER`, the original beside it. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);
const OTHER_METHOD = '_OTHER';
/** A longer method is not one a client sent on purpose: it is left out rather than exported. */
const MAX_METHOD_LENGTH = 32;
/** What credentials and a redacted query are replaced with, as the conventions spell it. */
const REDACTED = 'REDACTED';
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };
/** Client spans with a status of 400 and above are failures (server spans start at 500). */
const FIRST_ERROR_STATUS = 400;

/**
 * Sets the HTTP client attributes of the attempt numbered `attempt` that sent `http`. A
 * response status of 400 or more makes the span an error with `error.type` the status, as the
 * conventions say for client spans, whatever the retry made of it.
 */
export function setHttpAttributes(
  api: OpenTelemetryApi,
  span: Span,
  http: HttpAttemptInfo,
  attempt: number,
  urlQuery: UrlQuery,
): void {
  const attributes: Attributes = {};
  const { method, statusCode } = http;
  if (KNOWN_METHODS.has(method)) {
    attributes[HttpAttr.method] = method;
  } else {
    attributes[HttpAttr.method] = OTHER_METHOD;
    if (method.length <= MAX_METHOD_LENGTH) attributes[HttpAttr.methodOriginal] = method;
  }
  if (attempt > 1) attributes[HttpAttr.resendCount] = attempt - 1;
  const url = parseUrl(http.url);
  if (url !== undefined) {
    // An IPv6 host is written in brackets in a URL, and without them as an address.
    attributes[HttpAttr.serverAddress] = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    if (port !== undefined) attributes[HttpAttr.serverPort] = port;
    attributes[HttpAttr.urlFull] = fullUrl(url, urlQuery);
  }
  if (statusCode !== undefined) {
    attributes[HttpAttr.statusCode] = statusCode;
    if (statusCode >= FIRST_ERROR_STATUS) {
      attributes[HttpAttr.errorType] = String(statusCode);
      span.setStatus({ code: api.SpanStatusCode.ERROR });
    }
  }
  span.setAttributes(attributes);
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** The URL without credentials, and without its query unless told to keep it. */
export function fullUrl(url: URL, urlQuery: UrlQuery): string {
  if (url.username !== '' || url.password !== '') {
    url.username = REDACTED;
    url.password = REDACTED;
  }
  if (urlQuery === 'redact' && url.search !== '') url.search = REDACTED;
  return url.href;
}
