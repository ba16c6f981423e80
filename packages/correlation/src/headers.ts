/**
 * Request headers as servers and clients hand them over: Node's `IncomingHttpHeaders` (a record
 * with lowercase names), a plain record, or anything with `get(name)` such as fetch's `Headers`.
 */
export type InboundHeaders =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Where outbound headers are written: a plain record (Node's `OutgoingHttpHeaders`, undici's
 * `request()` headers) or anything with `set(name, value)` such as fetch's `Headers`.
 */
export type OutboundHeaders =
  { set(name: string, value: string): unknown } | Record<string, unknown>;

function hasGet(
  headers: InboundHeaders,
): headers is { get(name: string): string | null | undefined } {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/**
 * The value of header `name` (lowercase), or undefined. A record may hold several values as an
 * array; other casings of the name are looked for when the lowercase one is absent.
 */
export function readHeader(
  headers: InboundHeaders,
  name: string,
): string | readonly string[] | undefined {
  if (hasGet(headers)) return headers.get(name) ?? undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) {
    if (key.length === name.length && key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

/**
 * Sets header `name` (lowercase). In a record, a key that differs only in case is replaced, so
 * the request never carries the header twice.
 */
export function writeHeader(headers: OutboundHeaders, name: string, value: string): void {
  if (typeof headers.set === 'function') {
    (headers as { set(name: string, value: string): unknown }).set(name, value);
    return;
  }
  const record = headers as Record<string, unknown>;
  if (record[name] === undefined) {
    for (const key of Object.keys(record)) {
      if (key.length === name.length && key !== name && key.toLowerCase() === name) {
        delete record[key];
      }
    }
  }
  record[name] = value;
}
