export {
  DEFAULT_COMPENSATION_MAX_ATTEMPTS,
  DEFAULT_STEP_MAX_ATTEMPTS,
  Saga,
  defineSaga,
  type CompensationContext,
  type SagaData,
  type SagaOptions,
  type StepContext,
  type StepOptions,
  type StepRetryOptions,
} from './saga.js';
export {
  OrchestratorStoppedError,
  SagaAlreadyStartedError,
  SagaErrorCode,
  SagaLeaseLostError,
  SagaNotFoundError,
  isOrchestratorStoppedError,
  isSagaAlreadyStartedError,
  isSagaLeaseLostError,
  isSagaNotFoundError,
} from './errors.js';
export {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_POLL_INTERVAL_MS,
  Orchestrator,
  createOrchestrator,
  type OrchestratorOptions,
  type RunOptions,
} from './orchestrator.js';
export type { ListDeadOptions, SagaState, StepState } from './states.js';
export type { SagaOutcome, SagaStatus, StepFailure, StepStatus } from './execution.js';
export { DEFAULT_TABLE } from './schema.js';
export { DEFAULT_METRICS_PREFIX, type MetricsOptions, type RegistryLike } from './metrics.js';
