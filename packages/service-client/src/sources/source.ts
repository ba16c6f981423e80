import { describeValue } from '@bulwark/core/internal';

/** An endpoint as a source gives it: the base URL requests go to, and its origin. */
export interface EndpointAddress {
  /** Origin and path prefix, without a trailing slash: `http://10.0.0.5:8080`, `http://h:1/api`. */
  readonly url: string;
  /** `new URL(url).origin`: the breaker's key, as the HTTP client computes it. */
  readonly origin: string;
}

/** Where a source delivers what it reads. */
export interface EndpointSink {
  /** The endpoints are these now. */
  update(endpoints: readonly EndpointAddress[]): void;
  /** A read failed: the endpoints stay as they were. */
  failed(error: unknown): void;
}

/** Where the endpoints come from: a list, a function re-read on an interval, a DNS name. */
export interface EndpointSource {
  /** Reads the endpoints for the first time, and schedules the next reads. */
  start(sink: EndpointSink): void;
  /** Stops: nothing is read afterwards, no timer is left, a read under way is abandoned. */
  close(): void;
}

/** An endpoint URL, checked: http(s), no credentials, no query or fragment. */
export function parseEndpoint(value: unknown, where: string): EndpointAddress {
  let url: URL;
  if (value instanceof URL) {
    url = value;
  } else if (typeof value === 'string') {
    try {
      url = new URL(value);
    } catch {
      throw new TypeError(
        `expected ${where} to be an absolute http(s) URL such as "http://10.0.0.5:8080", got ${describeValue(value)}`,
      );
    }
  } else {
    throw new TypeError(
      `expected ${where} to be a URL (a string or a URL), got ${describeValue(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `expected ${where} to be an http: or https: URL, got ${describeValue(url.href)}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      `expected ${where} to be a URL without credentials (send an Authorization header instead), got one with`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError(
      `expected ${where} without a query or fragment, got ${describeValue(url.href)}`,
    );
  }
  const prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  return { url: url.origin + prefix, origin: url.origin };
}

/** The addresses without repeats, in their first order. */
export function distinct(addresses: readonly EndpointAddress[]): EndpointAddress[] {
  const seen = new Set<string>();
  return addresses.filter((address) => !seen.has(address.url) && seen.add(address.url));
}
