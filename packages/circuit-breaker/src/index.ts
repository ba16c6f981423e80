export {
  breakerRegistry,
  type BreakerRegistry,
  type BreakerRegistryOptions,
  type RegistryBreakerOptions,
} from './breaker-registry.js';
export type { BreakerView } from './breaker-view.js';
export type { BreakBackoffOptions } from './break-backoff.js';
export {
  circuitBreaker,
  type CircuitBreaker,
  type CircuitBreakerOptions,
} from './circuit-breaker.js';
export type { BreakerClassify, ErrorClassifyArgs, ResultClassifyArgs } from './classify.js';
export { consecutive, type ConsecutiveOptions } from './consecutive.js';
export { countWindow, type CountWindowOptions } from './count-window.js';
export type { SlowCallOptions } from './slow-call.js';
export type { BreakerSnapshot } from './snapshot.js';
export type { BreakerStrategy, StrategyKind, StrategySnapshot } from './strategy.js';
export { timeWindow, type TimeWindowOptions } from './time-window.js';
