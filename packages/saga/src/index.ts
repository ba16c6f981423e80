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
