export { bulwarkPlugin, type FastifyBulwarkOptions } from './plugin.js';
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
