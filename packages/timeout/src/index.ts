export { deadline, DeadlinePolicy, type DeadlineOptions } from './deadline.js';
export { timeout, TimeoutPolicy, MAX_TIMEOUT_MS, type TimeoutOptions } from './timeout.js';
export type { TimeoutStrategy } from './time-limit.js';
export {
  DEFAULT_BUDGET_HEADER,
  DEFAULT_MAX_BUDGET_MS,
  ENVOY_TIMEOUT_HEADER,
  GRPC_TIMEOUT_HEADER,
  formatGrpcTimeout,
  parseGrpcTimeout,
  readBudget,
  writeBudget,
  type HeaderSource,
  type ReadBudgetOptions,
  type WriteBudgetOptions,
} from './budget-header.js';
export {
  DeadlineExceededError,
  TimeoutError,
  isDeadlineExceededError,
  isTimeoutError,
} from '@bulwark/core';
