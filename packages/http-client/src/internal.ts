/**
 * What `@bulwark/service-client` shares with this client, so that both judge HTTP failures the
 * same way. Not part of the public, semver-stable surface.
 */
export { isTransient as isTransientFailure, isLocalShutdown } from './call-attempts.js';
