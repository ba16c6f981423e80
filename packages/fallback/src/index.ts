export {
  fallback,
  FallbackPolicy,
  type FallbackFnOptions,
  type FallbackOptions,
  type FallbackValueOptions,
} from './fallback.js';
export type { FallbackArgs, FallbackFn } from './timed-fallback.js';
export {
  DEFAULT_WHEN,
  type FallbackClassifier,
  type FallbackErrorPredicate,
  type FallbackResultPredicate,
} from './classify.js';
export { FallbackErrorCode, FallbackFailedError, isFallbackFailedError } from './errors.js';
export type { FallbackEvent } from '@bulwark/core';
