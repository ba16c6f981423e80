export {
  hedging,
  HedgingPolicy,
  type HedgingDelayArgs,
  type HedgingDelayFn,
  type HedgingOptions,
} from './hedging.js';
export { adaptiveDelay, type AdaptiveDelay, type AdaptiveDelayOptions } from './adaptive-delay.js';
export { idempotent, isIdempotent } from './idempotent.js';
export { HedgingErrorCode, NotIdempotentError, isNotIdempotentError } from './errors.js';
export type {
  HedgeCancelledEvent,
  HedgeStartedEvent,
  HedgeTrigger,
  HedgeWonEvent,
} from '@bulwark/core';
