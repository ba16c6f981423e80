export { httpAnswerFor, type HttpAnswer } from './http-errors.js';
export type { ProblemDetails } from '@bulwark/idempotency';
export type {
  BulwarkOptions,
  CorrelationOptions,
  DeadlineOptions,
  HealthOptions,
  HealthPaths,
  MetricsOptions,
  SheddingOptions,
} from './options.js';
export type { IdempotencyOptions } from './idempotency-options.js';
export type { InboundLimiterOptions, RateLimitOptions } from './rate-limit-options.js';
export type { PressureReason } from './pressure.js';
