/**
 * The same brand as `@bulwark/core`'s errors, under the same registered symbol, so core's
 * `isBulwarkError()` recognises these too, across installed copies.
 */
const BRAND = Symbol.for('bulwark.error');

/** Stable codes of this package's errors. A code, once published, keeps its meaning. */
export const SagaErrorCode = {
  LeaseLost: 'BULWARK_SAGA_LEASE_LOST',
  AlreadyStarted: 'BULWARK_SAGA_ALREADY_STARTED',
  NotFound: 'BULWARK_SAGA_NOT_FOUND',
  Stopped: 'BULWARK_SAGA_ORCHESTRATOR_STOPPED',
} as const;
export type SagaErrorCode = (typeof SagaErrorCode)[keyof typeof SagaErrorCode];

function brand(error: Error, code: SagaErrorCode, name: string): void {
  Object.defineProperty(error, BRAND, { value: true });
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  error.name = name;
}

function hasCode(error: unknown, code: SagaErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    (error as { code?: unknown }).code === code
  );
}

/**
 * This orchestrator no longer holds the saga's lease: it could not renew it in time, or another
 * instance took the saga over. The step's `signal` aborts with it, no further state is written,
 * and `run()` rejects with it; the saga goes on in the instance that holds the lease.
 */
export class SagaLeaseLostError extends Error {
  declare readonly code: typeof SagaErrorCode.LeaseLost;
  constructor(readonly sagaId: string) {
    super(`the lease of saga ${sagaId} was lost: another orchestrator instance runs it now`);
    brand(this, SagaErrorCode.LeaseLost, 'SagaLeaseLostError');
  }
}
export const isSagaLeaseLostError = (e: unknown): e is SagaLeaseLostError =>
  hasCode(e, SagaErrorCode.LeaseLost);

/** `run()` was given the id of a saga that already exists: an id starts one saga, once. */
export class SagaAlreadyStartedError extends Error {
  declare readonly code: typeof SagaErrorCode.AlreadyStarted;
  constructor(readonly sagaId: string) {
    super(`saga ${sagaId} was already started: read its state with orchestrator.get(id)`);
    brand(this, SagaErrorCode.AlreadyStarted, 'SagaAlreadyStartedError');
  }
}
export const isSagaAlreadyStartedError = (e: unknown): e is SagaAlreadyStartedError =>
  hasCode(e, SagaErrorCode.AlreadyStarted);

/** No saga with this id is in the state the operation needs (dead, for retry() and resolve()). */
export class SagaNotFoundError extends Error {
  declare readonly code: typeof SagaErrorCode.NotFound;
  constructor(
    readonly sagaId: string,
    wanted: string,
  ) {
    super(`no ${wanted} saga with id ${sagaId}`);
    brand(this, SagaErrorCode.NotFound, 'SagaNotFoundError');
  }
}
export const isSagaNotFoundError = (e: unknown): e is SagaNotFoundError =>
  hasCode(e, SagaErrorCode.NotFound);

/**
 * The orchestrator was stopped while the saga ran: the step in flight was aborted, and the saga
 * stays unfinished in the database, to be resumed by the next orchestrator that starts.
 */
export class OrchestratorStoppedError extends Error {
  declare readonly code: typeof SagaErrorCode.Stopped;
  constructor(readonly sagaId: string) {
    super(`the orchestrator stopped while saga ${sagaId} ran: it resumes on the next start`);
    brand(this, SagaErrorCode.Stopped, 'OrchestratorStoppedError');
  }
}
export const isOrchestratorStoppedError = (e: unknown): e is OrchestratorStoppedError =>
  hasCode(e, SagaErrorCode.Stopped);
