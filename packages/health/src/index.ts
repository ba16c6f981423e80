export {
  healthRegistry,
  DEFAULT_CACHE_MS,
  type HealthRegistry,
  type HealthRegistryOptions,
  type HealthViewOptions,
  type ShutdownAware,
} from './health-registry.js';
export {
  DEFAULT_CHECK_TIMEOUT_MS,
  type HealthCheckArgs,
  type HealthCheckDefinition,
  type HealthCheckFn,
  type HealthCheckResult,
  type HealthObservation,
} from './health-check.js';
export {
  HEALTH_CONTENT_TYPE,
  type HealthBody,
  type HealthCheckEntry,
  type HealthReport,
} from './health-report.js';
export type { HealthKind, HealthStatus } from './status.js';
export type {
  HealthCheckEvent,
  HealthEvent,
  HealthListener,
  HealthReportEvent,
  ShutdownEvent,
} from './events.js';
export { eventLoopCheck, type EventLoopCheckOptions } from './checks/event-loop.js';
export { memoryCheck, type MemoryCheckOptions } from './checks/memory.js';
export {
  breakerCheck,
  type BreakerCheckOptions,
  type BreakerLike,
  type BreakerSetLike,
  type BreakerStateView,
} from './checks/breaker.js';
export { redisCheck, type RedisCheckOptions, type RedisPingLike } from './checks/redis.js';
export { httpCheck, type HttpCheckOptions } from './checks/http.js';
export {
  gracefulShutdown,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_READINESS_DELAY_MS,
  type GracefulShutdown,
  type GracefulShutdownOptions,
  type ShutdownArgs,
  type ShutdownResult,
  type ShutdownServer,
  type ShutdownState,
  type SignalSource,
} from './graceful-shutdown.js';
