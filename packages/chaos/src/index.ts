export { chaosLatency, type ChaosLatencyOptions } from './latency.js';
export { chaosFault, type ChaosFaultOptions } from './fault.js';
export { chaosOutcome, type ChaosOutcomeOptions } from './outcome.js';
export { chaosBehavior, type ChaosBehaviorOptions } from './behavior.js';
export type { ChaosArgs, ChaosPolicy, ChaosPolicyOptions } from './chaos-policy.js';
export type { ChaosSourceOptions } from './injection.js';
export { chaosSwitch, type ChaosSwitch } from './switch.js';
export { ChaosErrorCode, ChaosFaultError, isChaosFaultError } from './errors.js';
export type {
  ChaosBehaviorEvent,
  ChaosEvent,
  ChaosFaultEvent,
  ChaosHttpEvent,
  ChaosHttpStatusEvent,
  ChaosKind,
  ChaosLatencyEvent,
  ChaosListener,
  ChaosOutcomeEvent,
  ChaosResetAfterHeadersEvent,
  ChaosResetBeforeHeadersEvent,
  ChaosSlowBodyEvent,
  ChaosTruncatedBodyEvent,
} from './events.js';
