import { hash } from 'node:crypto';

/** Deeper request bodies are refused rather than risk the stack. */
export const MAX_BODY_DEPTH = 512;

/**
 * A canonical encoding of a parsed body: object keys sorted, so two clients that serialise the
 * same JSON in a different key order get the same fingerprint. Follows JSON.stringify's rules for
 * what is dropped (undefined, functions, symbols) and honours `toJSON`.
 */
function canonical(value: unknown, depth: number, seen: Set<object>): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}n`;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  const object = value;
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return canonical((toJSON as () => unknown).call(object), depth, seen);
  }
  if (depth >= MAX_BODY_DEPTH) throw new RangeError('request body nested too deeply');
  if (seen.has(object)) throw new TypeError('request body is circular');
  seen.add(object);
  let out: string;
  if (Array.isArray(object)) {
    const items = (object as unknown[]).map((item) => canonical(item, depth + 1, seen) ?? 'null');
    out = `[${items.join(',')}]`;
  } else if (object instanceof Uint8Array) {
    out = `b64:${Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64')}`;
  } else {
    const parts: string[] = [];
    for (const key of Object.keys(object).sort()) {
      const encoded = canonical((object as Record<string, unknown>)[key], depth + 1, seen);
      if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(object);
  return out;
}

/** The bytes of a request body as the fingerprint sees them. Throws for circular or too deep bodies. */
export function bodyBytes(body: unknown): Uint8Array | string {
  if (body === undefined || body === null) return '';
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return canonical(body, 0, new Set()) ?? '';
}

/**
 * SHA-256 over method, path and body. Raw bodies (Buffer, string) are hashed as given; parsed
 * bodies (objects) canonically. The parts are length-prefixed so no two requests collide by
 * shifting bytes between method, path and body.
 */
export function fingerprint(method: string, path: string, body: unknown): string {
  const bytes = bodyBytes(body);
  const head = `${method.length}:${method}\n${Buffer.byteLength(path)}:${path}\n`;
  // One-shot hashing: a Hash object per request cost more than the digest itself.
  return hash(
    'sha256',
    typeof bytes === 'string' ? head + bytes : Buffer.concat([Buffer.from(head), bytes]),
    'base64url',
  );
}

/**
 * Where a (caller, key) pair is stored: a hash, so a key never reaches the store verbatim, and
 * the JSON array encoding keeps `("a:b", "c")` and `("a", "b:c")` apart. A request without an
 * identity lives in its own namespace (`null`), distinct from every named caller's.
 */
export function storeKey(identity: string | undefined, key: string): string {
  return hash('sha256', JSON.stringify([identity ?? null, key]), 'base64url');
}
