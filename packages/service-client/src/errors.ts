/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of the service client's own errors. A code, once published, keeps its meaning. */
export const ServiceClientErrorCode = {
  NoEndpoints: 'BULWARK_NO_ENDPOINTS',
} as const;
export type ServiceClientErrorCode =
  (typeof ServiceClientErrorCode)[keyof typeof ServiceClientErrorCode];

/**
 * No endpoint of the service could take the call: none is known (an empty list, a DNS name with
 * no address yet, a function that failed), or every one is out of rotation (ejected, or its
 * circuit open). Nothing was sent. `retryAfterMs` says when the first of them comes back, when
 * that is known; the server adapters answer 503 with it as Retry-After.
 */
export class NoEndpointsAvailableError extends Error {
  declare readonly code: typeof ServiceClientErrorCode.NoEndpoints;
  constructor(
    /** The service client's `name`. */
    readonly service: string,
    /** Endpoints the client knows (all of them unavailable); 0 when it knows none. */
    readonly endpoints: number,
    /** Milliseconds until the first unavailable endpoint may take calls again, when known. */
    readonly retryAfterMs: number | undefined,
    /** Why none is known: the failure of the last attempt to read them, if any. */
    cause?: unknown,
  ) {
    super(
      endpoints === 0
        ? `service ${service} has no endpoints${cause === undefined ? '' : ` (${describe(cause)})`}`
        : `no endpoint of service ${service} is available: all ${endpoints} are ejected or their circuit is open${retryAfterMs === undefined ? '' : `; the first is back in ${retryAfterMs} ms`}`,
      cause === undefined ? undefined : { cause },
    );
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, 'code', {
      value: ServiceClientErrorCode.NoEndpoints,
      enumerable: true,
    });
    this.name = 'NoEndpointsAvailableError';
  }
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
}

export const isNoEndpointsAvailableError = (e: unknown): e is NoEndpointsAvailableError =>
  typeof e === 'object' &&
  e !== null &&
  (e as Record<symbol, unknown>)[BRAND] === true &&
  (e as { code?: unknown }).code === ServiceClientErrorCode.NoEndpoints;
