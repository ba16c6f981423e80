/**
 * Building blocks for Bulwark's own policy packages. Not part of the public, semver-stable
 * surface: application code should use the factories of each package instead.
 */
export { unrefTimer } from './clock.js';
export { Context } from './context.js';
export { emit, emitCall, SuccessReporter, successReporter } from './events.js';
export { isFailedResult, markFailedResult } from './failed-result.js';
export { httpAttemptOf, httpAttemptSource, type HttpAttemptSource } from './http-attempt.js';
export { BulwarkPolicy, terminal, type Next } from './policy.js';
export { releaseResult } from './release-result.js';
export { randomByte, randomString, randomText, takeRandomBytes } from './random.js';
export { Scope } from './scope.js';
export { Expirable, TimerQueue } from './timer-queue.js';
export * from './validate.js';
export { Continue, Frame, type FusedLayer, type FusedLimit, toContext } from './fused.js';
export type { QueueEntry } from './timer-queue.js';
