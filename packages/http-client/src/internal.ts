/**
 * What `@bulwark/service-client` shares with this client, so that both judge HTTP failures the
 * same way, format Idempotency-Keys alike and answer from a cache alike. Not part of the
 * public, semver-stable surface.
 */
export { isTransient as isTransientFailure, isLocalShutdown } from './call-attempts.js';
export { cachedResponse, isOriginFailure } from './cache-bridge.js';
export { formatIdempotencyKey, generateIdempotencyKey } from './idempotency-key.js';
export {
  DEFAULT_CONNECTIONS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_RETRY_STATUSES,
} from './options.js';
export { IDEMPOTENT_METHODS, KEYED_METHODS } from './methods.js';
