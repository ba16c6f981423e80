/**
 * The stack the adapters drive. Not part of the public, semver-stable surface: applications use
 * `@bulwark/express` or `@bulwark/fastify`, which re-export the public types.
 */
export {
  CLIENT_CLOSED_REQUEST,
  DEFAULT_RETRY_AFTER_SECONDS,
  expiredBudgetError,
  retryAfterSeconds,
  shedError,
  withHttpFields,
} from './http-errors.js';
export {
  IdempotencyGate,
  UNPARSED_BODY,
  resolveIdempotency,
  type GateRequest,
  type IdempotencyStep,
} from './idempotency-gate.js';
export {
  PressureMonitor,
  ProcessProbe,
  judge,
  type PressureLimits,
  type PressureProbe,
  type PressureReading,
} from './pressure.js';
export { RequestMetrics } from './request-metrics.js';
export { FixedSlots } from './slots.js';
export {
  BulwarkStack,
  DEFAULT_LIVENESS_PATH,
  DEFAULT_METRICS_PATH,
  DEFAULT_METRICS_PREFIX,
  DEFAULT_READINESS_PATH,
  DEFAULT_STARTUP_PATH,
  type OwnAnswer,
} from './stack.js';
export {
  ADMITTED,
  GONE,
  MS_PER_SECOND,
  PENDING,
  Ticket,
  pathOf,
  type Admission,
  type Admitted,
  type Answer,
  type Answered,
  type Gone,
  type InboundHeaders,
  type OwnRoute,
  type OwnRouteAdmission,
  type Pending,
  type Rejected,
  type Resumed,
} from './ticket.js';
