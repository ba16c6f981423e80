export { bulkhead, type Bulkhead, type BulkheadOptions } from './bulkhead.js';
export {
  adaptiveLimit,
  type AdaptiveAlgorithm,
  type AdaptiveLimit,
  type AdaptiveLimitCommonOptions,
  type AdaptiveLimitOptions,
  type AimdLimitOptions,
  type Gradient2LimitOptions,
  type IsDropArgs,
} from './adaptive-limit.js';
export { BulkheadRejectedError, isBulkheadRejectedError } from '@bulwark/core';
