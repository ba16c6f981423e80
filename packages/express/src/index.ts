export { bulwark, type BulwarkMiddleware } from './middleware.js';
export { bulwarkErrorHandler } from './error-handler.js';
export { httpAnswerFor, type HttpAnswer, type ProblemDetails } from '@bulwark/server';
export type {
  BulwarkOptions,
  CorrelationOptions,
  DeadlineOptions,
  HealthOptions,
  HealthPaths,
  IdempotencyOptions,
  InboundLimiterOptions,
  MetricsOptions,
  PressureReason,
  RateLimitOptions,
  SheddingOptions,
} from '@bulwark/server';
