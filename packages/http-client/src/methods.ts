/**
 * RFC 9110 §9.2.2: methods whose repetition has the same effect on the server as one request.
 * A request with one of these may be sent again after any failure.
 */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

/**
 * Methods that are not idempotent, but become safe to retry when the request carries an
 * `Idempotency-Key` the server deduplicates on (IETF httpapi-idempotency-key-header).
 */
export const KEYED_METHODS: readonly string[] = Object.freeze(['POST', 'PATCH']);

const idempotent = new Set(IDEMPOTENT_METHODS);
const keyed = new Set(KEYED_METHODS);

/** Upper-cases the common methods without allocating; anything else is upper-cased. */
export function normalizeMethod(method: string): string {
  switch (method) {
    case 'GET':
    case 'get':
      return 'GET';
    case 'POST':
    case 'post':
      return 'POST';
    case 'PUT':
    case 'put':
      return 'PUT';
    case 'DELETE':
    case 'delete':
      return 'DELETE';
    case 'PATCH':
    case 'patch':
      return 'PATCH';
    case 'HEAD':
    case 'head':
      return 'HEAD';
    default:
      return method.toUpperCase();
  }
}

export function isIdempotentMethod(method: string): boolean {
  return idempotent.has(method);
}

export function isKeyedMethod(method: string): boolean {
  return keyed.has(method);
}
