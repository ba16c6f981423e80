/**
 * Building blocks outside the semver promise: the single-header parsers `delayFromHeaders()` and
 * the default delay hint are made of. Application code reads hints through those two.
 */
export {
  parseGrpcPushback,
  parseRateLimitReset,
  parseRetryAfter,
  parseXRateLimitReset,
} from './retry-after.js';
