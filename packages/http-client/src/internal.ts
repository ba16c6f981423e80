/**
 * What `@bulwark/service-client` shares with this client, so that both judge HTTP failures the
 * same way, format Idempotency-Keys alike and answer from a cache alike. Not part of the
 * public, semver-stable surface.
 */
export { isTransient as isTransientFailure, isLocalShutdown } from './call-attempts.js';
export { cachedResponse, isOriginFailure } from './cache-bridge.js';
export { formatIdempotencyKey, generateIdempotencyKey } from './idempotency-key.js';
