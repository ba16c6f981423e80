export { type Clock, type TimerHandle, systemClock } from './clock.js';
export type { ExecutionContext, ContextFn } from './context.js';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  ErrorCode,
  IsolatedCircuitError,
  TimeoutError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isBulwarkError,
  isCancelledError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  isTimeoutError,
  type BulwarkErrorShape,
} from './errors.js';
export {
  combineListeners,
  type AttemptEvent,
  type BreakerRejectedEvent,
  type BreakerState,
  type BreakerStateEvent,
  type BulkheadLimitEvent,
  type BulkheadQueuedEvent,
  type BulkheadRejectedEvent,
  type CallEvent,
  type DeadlineExceededEvent,
  type GiveUpReason,
  type PolicyEvent,
  type PolicyEventType,
  type RetryDelaySource,
  type RetryGaveUpEvent,
  type RetryScheduledEvent,
  type TelemetryListener,
  type TimeoutEvent,
} from './events.js';
export { pipeline, type AnyPolicy, type Pipeline, type PipelineOptions } from './pipeline.js';
export { isBulwarkPolicy, type Policy } from './policy.js';
