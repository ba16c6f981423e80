import type { Clock } from '@bulwark/core';
import {
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import type { OutboxDatabase } from '@bulwark/outbox';
import { SagaNotFoundError } from './errors.js';
import type { SagaStatus, StepFailure, StepStatus } from './execution.js';
import type { SagaQueries } from './schema.js';

const MAX_LIST_LIMIT = 1_000;

/** A step as `get()` reports it: plain JSON, for a person or a dashboard. */
export interface StepState {
  readonly name: string;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly compensationAttempts: number;
  readonly output: unknown;
  readonly errors: readonly StepFailure[];
  /** ISO date, or null for a pending step. */
  readonly updatedAt: string | null;
}

/** A saga as `get()` and `listDead()` report it: plain JSON. */
export interface SagaState {
  readonly id: string;
  readonly name: string;
  readonly status: SagaStatus;
  readonly input: unknown;
  /** The failure that started compensation, or the one that dead-lettered the saga. */
  readonly error: string | null;
  /** ISO dates. */
  readonly deadline: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly steps: readonly StepState[];
}

export interface ListDeadOptions {
  /** At most this many. Default 100. */
  limit?: number;
  /** Those whose id sorts after this one: the last id of the previous page. */
  after?: string;
}

/** A saga row as the queries return it. */
export interface SagaRow {
  id: string;
  name: string;
  status: SagaStatus;
  input: string;
  error: string | null;
  deadline_ms: number | null;
  lease_owner: string | null;
  lease_token: number;
  lease_expires_ms: number;
  created_ms: number;
  updated_ms: number;
}

/** A step row as the queries return it. */
export interface StepRow {
  saga_id: string;
  position: number;
  name: string;
  status: StepStatus;
  attempts: number;
  compensation_attempts: number;
  output: string | null;
  errors: string;
  updated_ms: number;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
/** ±infinity (an unset lease) has no Date: reported as null. */
const isoOrNull = (ms: number | null): string | null =>
  ms === null || !Number.isFinite(ms) ? null : iso(ms);

/**
 * Reading sagas and handling the dead ones: what a person, a dashboard or the CLI needs, and no
 * saga definitions (a step not yet attempted is named from the definition when there is one).
 */
export class SagaStates {
  constructor(
    private readonly database: OutboxDatabase,
    private readonly queries: SagaQueries,
    private readonly clock: Clock,
    private readonly stepNames: (saga: string) => string[] | undefined = () => undefined,
  ) {}

  /** The saga's state as plain JSON, or undefined when there is none of this id. */
  async get(id: string): Promise<SagaState | undefined> {
    const { rows } = await this.database.query(this.queries.get, [id]);
    if (rows.length === 0) return undefined;
    const [state] = await this.withSteps(rows as SagaRow[]);
    return state;
  }

  /** Dead sagas, with their steps' history, in id order: a person's work list. */
  async listDead(options: ListDeadOptions = {}): Promise<SagaState[]> {
    checkOptionsObject('listDead', options);
    checkKnownOptions('listDead', options, ['limit', 'after']);
    const { limit = 100, after = '' } = options;
    checkInteger('limit', limit, 1, MAX_LIST_LIMIT);
    if (typeof after !== 'string')
      throw new TypeError(`expected after to be a saga id, got ${describeValue(after)}`);
    const { rows } = await this.database.query(this.queries.listDead, [limit, after]);
    return this.withSteps(rows as SagaRow[]);
  }

  /**
   * Takes a dead saga up again, from where it stopped, with fresh attempts: its compensations,
   * or the step after the pivot that failed. The next instance to look (`start()`) runs it.
   */
  async retry(id: string): Promise<void> {
    const { rows } = await this.database.query(this.queries.retryDead, [
      id,
      iso(this.clock.dateNow()),
    ]);
    if (rows.length === 0) throw new SagaNotFoundError(id, 'dead');
  }

  /** Marks a dead saga resolved: a person has put things right by hand. */
  async resolve(id: string): Promise<void> {
    const { rows } = await this.database.query(this.queries.resolveDead, [
      id,
      iso(this.clock.dateNow()),
    ]);
    if (rows.length === 0) throw new SagaNotFoundError(id, 'dead');
  }

  private async withSteps(rows: readonly SagaRow[]): Promise<SagaState[]> {
    if (rows.length === 0) return [];
    const { rows: stepRows } = await this.database.query(this.queries.steps, [
      rows.map((row) => row.id).join(','),
    ]);
    return rows.map((row) => {
      const steps = (stepRows as StepRow[]).filter((step) => step.saga_id === row.id);
      const names = this.stepNames(row.name) ?? steps.map((step) => step.name);
      return {
        id: row.id,
        name: row.name,
        status: row.status,
        input: JSON.parse(row.input) as unknown,
        error: row.error,
        deadline: isoOrNull(row.deadline_ms),
        leaseOwner: row.lease_owner,
        leaseExpiresAt: isoOrNull(row.lease_expires_ms),
        createdAt: iso(row.created_ms),
        updatedAt: iso(row.updated_ms),
        steps: names.map((name, position) => {
          const step = steps.find((candidate) => candidate.position === position);
          if (step === undefined) {
            return {
              name,
              status: 'pending',
              attempts: 0,
              compensationAttempts: 0,
              output: undefined,
              errors: [],
              updatedAt: null,
            };
          }
          return {
            name: step.name,
            status: step.status,
            attempts: step.attempts,
            compensationAttempts: step.compensation_attempts,
            output: step.output === null ? undefined : (JSON.parse(step.output) as unknown),
            errors: JSON.parse(step.errors) as StepFailure[],
            updatedAt: iso(step.updated_ms),
          };
        }),
      };
    });
  }
}
