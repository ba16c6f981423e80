/**
 * The service client's own defaults. The pipeline's (deadline, attempt timeout, retries, budget,
 * breaker) are `@bulwark/resilience`'s, so a service client and `standardPipeline()` agree.
 */

/** Envoy's `consecutive_5xx`: failures in a row (5xx, connect errors, timeouts) that eject. */
export const DEFAULT_CONSECUTIVE_FAILURES = 5;
/** Envoy's `base_ejection_time`: an endpoint's n-th ejection lasts n times this. */
export const DEFAULT_BASE_EJECTION_MS = 30_000;
/** Envoy's `max_ejection_time`: no ejection lasts longer. */
export const DEFAULT_MAX_EJECTION_MS = 300_000;
/**
 * The share of endpoints that may be out at once. Envoy's is 10% of a mesh's many hosts; a
 * service client usually sees a handful of replicas, where 10% would be one at most whatever
 * their number. One endpoint may always be ejected, and never the last one.
 */
export const DEFAULT_MAX_EJECTION_PERCENT = 50;
/**
 * Envoy's `interval`: how often success rates are compared, and how long an endpoint stays
 * healthy before one ejection is forgiven.
 */
export const DEFAULT_OUTLIER_INTERVAL_MS = 10_000;
/** Envoy's `success_rate_minimum_hosts`: fewer endpoints with enough requests, no comparison. */
export const DEFAULT_SUCCESS_RATE_MINIMUM_ENDPOINTS = 5;
/** Envoy's `success_rate_request_volume`: requests an endpoint needs in an interval to be judged. */
export const DEFAULT_SUCCESS_RATE_REQUEST_VOLUME = 100;
/** Envoy's `success_rate_stdev_factor` (1900 there, in thousandths). */
export const DEFAULT_SUCCESS_RATE_STDEV_FACTOR = 1.9;
/** Finagle's Peak EWMA decay time: how fast an endpoint's latency estimate forgets. */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;
/** How often an endpoints function is called again. */
export const DEFAULT_REFRESH_MS = 30_000;
/** A DNS answer is used at least this long, whatever its TTL (a TTL of 0 would be a loop). */
export const DEFAULT_DNS_MIN_TTL_MS = 1_000;
/** A DNS answer is asked again after this at the latest, whatever its TTL. */
export const DEFAULT_DNS_MAX_TTL_MS = 60_000;
