import type { StoredRecord, StoredResponse, VaryMarker } from './store.js';

/**
 * The binary form of a stored record, for stores that hold bytes (Redis): a version byte, the
 * length of a JSON header, the JSON header, then the body bytes as they are. Binary-safe, and
 * one copy of the body, not a base64 inflation of it.
 */
const VERSION = 0xb1;
const PREFIX_BYTES = 5;

export function encodeRecord(record: StoredRecord): Buffer {
  if (record.kind === 'vary') {
    const meta = Buffer.from(JSON.stringify(record));
    const out = Buffer.allocUnsafe(PREFIX_BYTES + meta.length);
    out[0] = VERSION;
    out.writeUInt32BE(meta.length, 1);
    meta.copy(out, PREFIX_BYTES);
    return out;
  }
  const { body, ...rest } = record;
  const meta = Buffer.from(JSON.stringify(rest));
  const out = Buffer.allocUnsafe(PREFIX_BYTES + meta.length + body.byteLength);
  out[0] = VERSION;
  out.writeUInt32BE(meta.length, 1);
  meta.copy(out, PREFIX_BYTES);
  out.set(body, PREFIX_BYTES + meta.length);
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isObject(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

const NUMBER_FIELDS = [
  'status',
  'requestTime',
  'responseTime',
  'initialAgeMs',
  'freshnessMs',
  'staleWhileRevalidateMs',
  'staleIfErrorMs',
] as const;
const BOOLEAN_FIELDS = ['mustRevalidate', 'noCache', 'immutable'] as const;
const OPTIONAL_STRING_FIELDS = ['etag', 'lastModified', 'variant'] as const;

/**
 * The record, or `undefined` for bytes that are not one (another writer's data under the same
 * prefix, a truncated value, a future version): such a value reads as a miss, never as an error.
 */
export function decodeRecord(bytes: Uint8Array): StoredRecord | undefined {
  if (bytes.byteLength < PREFIX_BYTES || bytes[0] !== VERSION) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLength = buffer.readUInt32BE(1);
  if (PREFIX_BYTES + metaLength > buffer.length) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(buffer.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + metaLength));
  } catch {
    return undefined;
  }
  if (!isObject(meta)) return undefined;
  if (meta.kind === 'vary') {
    const { names, id, expiresAt } = meta;
    if (
      !Array.isArray(names) ||
      !names.every((n) => typeof n === 'string') ||
      typeof id !== 'string' ||
      typeof expiresAt !== 'number'
    ) {
      return undefined;
    }
    return { kind: 'vary', names: names, id, expiresAt } satisfies VaryMarker;
  }
  if (meta.kind !== 'response' || !isStringRecord(meta.headers)) return undefined;
  for (const field of NUMBER_FIELDS) if (typeof meta[field] !== 'number') return undefined;
  for (const field of BOOLEAN_FIELDS) if (typeof meta[field] !== 'boolean') return undefined;
  for (const field of OPTIONAL_STRING_FIELDS) {
    if (meta[field] !== undefined && typeof meta[field] !== 'string') return undefined;
  }
  // A copy: the reply buffer may be a slice of a larger one the client reuses.
  const body = new Uint8Array(buffer.subarray(PREFIX_BYTES + metaLength));
  return { ...(meta as unknown as Omit<StoredResponse, 'body'>), body };
}
