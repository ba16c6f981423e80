import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  describeValue,
  optionNames,
  unrefTimer,
} from '@bulwark/core/internal';
import type { Tracer } from '@opentelemetry/api';
import type { Outbox, OutboxDatabase, OutboxMessageInput, Queryable } from '@bulwark/outbox';
import {
  applySchema,
  checkDatabase,
  checkTableName,
  sqlClientOf,
  uuidv7,
} from '@bulwark/outbox/internal';
import { OrchestratorStoppedError, SagaAlreadyStartedError, SagaLeaseLostError } from './errors.js';
import {
  Execution,
  type ExecutionHost,
  type SagaOutcome,
  type SagaStatus,
  type StepFailure,
  type StepRecord,
  describeError,
} from './execution.js';
import { type MetricsOptions, type SagaMetrics, metricsFor } from './metrics.js';
import { type Saga, checkName } from './saga.js';
import { SagaTracing, checkTracer } from './tracing.js';
import {
  type ListDeadOptions,
  type SagaRow,
  type SagaState,
  SagaStates,
  type StepRow,
  iso,
} from './states.js';
import {
  DEFAULT_TABLE,
  type SagaQueries,
  sagaQueries,
  sagaSchema,
  sagaTableNames,
} from './schema.js';

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_CONCURRENCY = 100;
const MAX_WAIT_MS = 3_600_000;

export interface OrchestratorOptions<Tx = unknown> {
  /** Where state is kept: pgDatabase(pool), postgresDatabase(sql) or pgliteDatabase(db), from @bulwark/outbox. */
  database: OutboxDatabase<Tx>;
  /**
   * For steps that publish (`ctx.publish()`): an outbox on the same database, whose messages are
   * enqueued in the transaction that records the step's success. Default: none.
   */
  outbox?: Outbox;
  /** Prometheus metrics: started, finished by outcome, resumed, step durations. Default: none. */
  metrics?: MetricsOptions;
  /** An OpenTelemetry tracer: a span per saga run on this instance, a child per step attempt. Default: none. */
  tracer?: Tracer;
  /** Every saga this orchestrator may run or resume, by name. */
  sagas: ReadonlyArray<Saga<never, unknown>>;
  /** The saga table (`<table>_steps` holds the steps); lowercase, optionally schema-qualified. Default `bulwark_saga`. */
  table?: string;
  /**
   * This instance's name in the lease column. Give a stable one (the pod's name) and a restarted
   * process resumes its own sagas at once; by default a random one, and they wait out the lease.
   */
  instanceId?: string;
  /** How long a lease lasts without renewal; renewed at a third of it while a saga runs. Default 30,000. */
  leaseMs?: number;
  /** How often a started orchestrator looks for sagas to resume or take over. Default 5,000. */
  pollIntervalMs?: number;
  /** Sagas this instance runs at once, at most, counting those `run()` started. Default 100. */
  maxConcurrency?: number;
  /** Times retries, timeouts and leases, and dates state rows. Default: the system clock. */
  clock?: Clock;
  /** The backoffs' random source, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Told about failures of the orchestrator itself (the database, renewals); default: a process warning. */
  onError?: (args: { error: unknown }) => void;
}

const ORCHESTRATOR_OPTIONS = optionNames<OrchestratorOptions>({
  database: true,
  outbox: true,
  metrics: true,
  tracer: true,
  sagas: true,
  table: true,
  instanceId: true,
  leaseMs: true,
  pollIntervalMs: true,
  maxConcurrency: true,
  clock: true,
  random: true,
  onError: true,
});

export interface RunOptions {
  /** The saga's id: A-Z, a-z, 0-9, _, . and -, at most 64. Default: a UUIDv7. */
  id?: string;
}

function warn({ error }: { error: unknown }): void {
  process.emitWarning(`saga orchestrator: ${describeError(error)}`, {
    code: 'BULWARK_SAGA_ORCHESTRATOR_ERROR',
  });
}

function checkOutbox(value: unknown): asserts value is Outbox {
  const outbox = value as Partial<Outbox> | null;
  if (typeof outbox !== 'object' || outbox === null || typeof outbox.enqueue !== 'function') {
    throw new TypeError(
      `expected outbox to be a createOutbox() result on the saga's database, got ${describeValue(value)}`,
    );
  }
}

function checkSagas(value: unknown): Map<string, Saga<never, unknown>> {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      `expected sagas to be a non-empty array of defineSaga() results, got ${describeValue(value)}`,
    );
  }
  const byName = new Map<string, Saga<never, unknown>>();
  for (const saga of value as unknown[]) {
    const candidate = saga as Partial<Saga<never, unknown>> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      !Array.isArray(candidate.steps) ||
      typeof candidate.name !== 'string'
    ) {
      throw new TypeError(
        `expected every saga to be a defineSaga() result, got ${describeValue(saga)}`,
      );
    }
    if (candidate.steps.length === 0) {
      throw new RangeError(`saga ${JSON.stringify(candidate.name)} has no steps`);
    }
    if (byName.has(candidate.name)) {
      throw new RangeError(
        `two sagas are named ${JSON.stringify(candidate.name)}: a resumed saga finds its definition by name`,
      );
    }
    byName.set(candidate.name, saga as Saga<never, unknown>);
  }
  return byName;
}

/**
 * Runs sagas with their state in PostgreSQL. `run()` starts one here; `start()` resumes, in the
 * background, every unfinished saga whose lease has lapsed (an instance crashed) and this
 * instance's own left by a crash. A saga runs on one instance at a time: the instance holding its
 * lease, which every state write renews and checks.
 */
export class Orchestrator {
  private readonly clock: Clock;
  private readonly host: ExecutionHost;
  /** This instance's name in the lease column. */
  readonly instanceId: string;
  private readonly database: OutboxDatabase;
  private readonly outbox: Outbox | undefined;
  private readonly metrics: SagaMetrics | undefined;
  private readonly sagas: Map<string, Saga<never, unknown>>;
  private readonly table: string;
  private readonly queries: SagaQueries;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxConcurrency: number;
  private readonly report: (args: { error: unknown }) => void;
  private readonly states: SagaStates;
  private readonly running = new Map<string, Execution>();
  private renewTimer: ReturnType<Clock['setTimeout']> | undefined = undefined;
  private loop: Promise<void> | undefined = undefined;
  private stopping = false;
  private wake: (() => void) | undefined = undefined;
  /** The claim in flight, which the next waits for. */
  private claiming: Promise<unknown> = Promise.resolve();

  /** @internal Use `createOrchestrator()`. */
  constructor(options: OrchestratorOptions<never>) {
    checkOptionsObject('createOrchestrator', options);
    checkKnownOptions('createOrchestrator', options, ORCHESTRATOR_OPTIONS);
    const {
      database,
      outbox,
      metrics,
      tracer,
      sagas,
      table = DEFAULT_TABLE,
      instanceId = randomUUID(),
      leaseMs = DEFAULT_LEASE_MS,
      pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
      maxConcurrency = DEFAULT_MAX_CONCURRENCY,
      clock = systemClock,
      random = Math.random,
      onError = warn,
    } = options;
    checkDatabase(database);
    if (outbox !== undefined) checkOutbox(outbox);
    this.metrics = metricsFor(metrics);
    if (tracer !== undefined) checkTracer(tracer);
    const tracing = tracer === undefined ? undefined : new SagaTracing(tracer);
    this.outbox = outbox;
    this.sagas = checkSagas(sagas);
    checkTableName('table', table);
    checkName('instanceId', instanceId);
    checkInteger('leaseMs', leaseMs, 3, MAX_WAIT_MS);
    checkInteger('pollIntervalMs', pollIntervalMs, 1, MAX_WAIT_MS);
    checkInteger('maxConcurrency', maxConcurrency, 1, 100_000);
    checkClock(clock);
    checkFunction('random', random);
    checkFunction('onError', onError);
    this.database = database;
    this.table = table;
    this.queries = sagaQueries(sagaTableNames(table));
    this.instanceId = instanceId;
    this.leaseMs = leaseMs;
    this.pollIntervalMs = pollIntervalMs;
    this.maxConcurrency = maxConcurrency;
    this.clock = clock;
    this.report = onError;
    this.states = new SagaStates(this.database, this.queries, clock, (name) =>
      this.sagas.get(name)?.steps.map((step) => step.name),
    );
    this.host = {
      clock,
      random,
      write: (execution, status, error, position, messages, next) =>
        this.write(execution, status, error, position, messages, next),
      canPublish: outbox !== undefined,
      tracing,
      observe:
        this.metrics === undefined
          ? undefined
          : (saga, step, phase, outcome, seconds) =>
              this.metrics!.stepDuration.at([saga, step, phase, outcome]).observe(seconds),
    };
  }

  /** The SQL `migrate()` runs, to put in your own migrations instead. */
  schemaSql(): string {
    return sagaSchema(sagaTableNames(this.table));
  }

  /** Creates the saga tables if they do not exist. */
  migrate(): Promise<void> {
    return applySchema(this.database, this.schemaSql(), this.table);
  }

  /** Sagas this instance runs now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Starts a saga here and resolves to how it ended: completed with every step's output,
   * compensated, or dead (a compensation, or a step after the pivot, failed for good). Rejects
   * when this instance must let go of it (its lease was lost, the orchestrator stopped) or the
   * database fails: the saga's state is kept, and it is resumed.
   */
  async run<Input, Data>(
    saga: Saga<Input, Data>,
    input: Input,
    options: RunOptions = {},
  ): Promise<SagaOutcome<Data>> {
    checkOptionsObject('run', options);
    checkKnownOptions('run', options, ['id']);
    const definition = this.sagas.get(saga.name);
    if (definition !== (saga as unknown)) {
      throw new TypeError(
        `saga ${JSON.stringify(saga.name)} is not among this orchestrator's sagas: list it in createOrchestrator({ sagas }) so that it can be resumed after a crash`,
      );
    }
    const now = this.clock.dateNow();
    const id = options.id ?? uuidv7(now);
    checkName('id', id);
    const inputJson = JSON.stringify(input) as string | undefined;
    if (inputJson === undefined) {
      throw new TypeError(
        `expected the input of saga ${saga.name} to be a JSON value, got ${describeValue(input)}`,
      );
    }
    if (this.stopping) throw new OrchestratorStoppedError(id);
    const deadlineAt = saga.deadlineMs === undefined ? undefined : now + saga.deadlineMs;
    const leaseUntil = now + this.leaseMs;
    const { rows } = await this.database.query(this.queries.insert, [
      id,
      saga.name,
      inputJson,
      deadlineAt === undefined ? null : iso(deadlineAt),
      this.instanceId,
      iso(now),
      iso(leaseUntil),
      saga.steps[0]!.name,
    ]);
    if (rows.length === 0) throw new SagaAlreadyStartedError(id);
    if (this.metrics !== undefined) this.metrics.started.at([saga.name]).value++;
    const steps = saga.steps.map(pendingStep);
    // The insert wrote the first step's first attempt as started: the saga's deadline, at least
    // a millisecond, cannot be spent yet.
    steps[0]!.status = 'running';
    steps[0]!.attempts = 1;
    const execution = new Execution(this.host, saga, {
      id,
      input: JSON.parse(inputJson),
      steps,
      status: 'running',
      deadlineAt,
      leaseUntil,
      leaseToken: 1,
      resumed: false,
      failure: null,
      started: 0,
    });
    return this.execute(execution) as Promise<SagaOutcome<Data>>;
  }

  /**
   * Resumes unfinished sagas in the background: at once, then every `pollIntervalMs`. Resolves
   * once the first look is done. Calling it again while started does nothing.
   */
  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    this.stopping = false;
    await this.claim();
    this.loop = this.poll();
  }

  /**
   * Stops looking for sagas, aborts the steps in flight (their sagas stay unfinished, and resume
   * on the next start, here or elsewhere) and lets their leases go, so another instance can
   * take them over at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    const executions = [...this.running.values()];
    for (const execution of executions) {
      execution.controller.abort(new OrchestratorStoppedError(execution.id));
    }
    await Promise.allSettled(executions.map((execution) => execution.done));
    if (executions.length > 0) {
      try {
        await this.database.query(this.queries.release, [
          this.instanceId,
          executions.map((execution) => execution.id).join(','),
        ]);
      } catch (error) {
        this.report({ error });
      }
    }
    this.stopping = false;
  }

  /** One look for sagas to resume: claims what is due, up to the free concurrency, and runs them. Resolves to how many. */
  claim(): Promise<number> {
    // One look at a time: a second, started while the first is in flight, would take the sagas
    // the first claims for this instance's own left by a crash, and run them twice here.
    const look = this.claiming.then(() => this.claimDue());
    this.claiming = look.catch(() => undefined);
    return look;
  }

  private async claimDue(): Promise<number> {
    const free = this.maxConcurrency - this.running.size;
    if (free <= 0) return 0;
    const now = this.clock.dateNow();
    const leaseUntil = now + this.leaseMs;
    const { rows } = await this.database.query(this.queries.claim, [
      this.instanceId,
      iso(now),
      iso(leaseUntil),
      [...this.running.keys()].join(','),
      free,
    ]);
    if (rows.length === 0) return 0;
    const sagas = rows as SagaRow[];
    const stepRows = (
      await this.database.query(this.queries.steps, [sagas.map((row) => row.id).join(',')])
    ).rows as StepRow[];
    for (const row of sagas) {
      const saga = this.sagas.get(row.name);
      if (saga === undefined) {
        this.report({
          error: new Error(
            `saga ${row.id} is a ${JSON.stringify(row.name)}, which this orchestrator does not know: another instance with its definition will take it when the lease lapses`,
          ),
        });
        continue;
      }
      const steps = saga.steps.map(pendingStep);
      for (const step of stepRows) {
        if (step.saga_id !== row.id) continue;
        const record = steps[step.position];
        if (record === undefined || record.name !== step.name) {
          this.report({
            error: new Error(
              `saga ${row.id}: step ${step.position} is ${JSON.stringify(step.name)} in the database and ${JSON.stringify(record?.name)} in the definition of ${row.name}; it is left alone`,
            ),
          });
          continue;
        }
        record.status = step.status;
        record.attempts = step.attempts;
        record.compensationAttempts = step.compensation_attempts;
        record.outputJson = step.output;
        record.errors = JSON.parse(step.errors) as StepFailure[];
      }
      const execution = new Execution(this.host, saga, {
        id: row.id,
        input: JSON.parse(row.input),
        steps,
        status: row.status === 'compensating' ? 'compensating' : 'running',
        deadlineAt: row.deadline_ms ?? undefined,
        leaseUntil,
        leaseToken: row.lease_token,
        resumed: true,
        failure: row.error,
        started: -1,
      });
      if (this.metrics !== undefined) this.metrics.resumed.at([saga.name]).value++;
      this.execute(execution).catch(() => undefined);
    }
    return sagas.length;
  }

  /** The saga's state as plain JSON, or undefined when there is none of this id. */
  get(id: string): Promise<SagaState | undefined> {
    return this.states.get(id);
  }

  /** Dead sagas, with their steps' history, in id order: a person's work list. */
  listDead(options?: ListDeadOptions): Promise<SagaState[]> {
    return this.states.listDead(options);
  }

  /**
   * Takes a dead saga up again, from where it stopped, with fresh attempts: its compensations,
   * or the step after the pivot that failed. The next instance to look (`start()`) runs it.
   */
  async retry(id: string): Promise<void> {
    await this.states.retry(id);
    this.wake?.();
  }

  /** Marks a dead saga resolved: a person has put things right by hand. */
  resolve(id: string): Promise<void> {
    return this.states.resolve(id);
  }

  /**
   * The fenced state write every execution makes: see SagaQueries.writeStep, and writeSteps when
   * the write also starts the next step.
   */
  private async write(
    execution: Execution,
    status: SagaStatus | null,
    error: string | null,
    position?: number,
    messages?: readonly OutboxMessageInput[],
    next?: number,
  ): Promise<void> {
    const now = this.clock.dateNow();
    const leaseUntil = now + this.leaseMs;
    const fence = [
      execution.id,
      this.instanceId,
      iso(now),
      iso(leaseUntil),
      status,
      error,
      execution.leaseToken,
    ];
    let result: { rows: unknown[] };
    if (position === undefined) {
      result = await this.database.query(this.queries.writeSaga, fence);
    } else {
      const params = [...fence, ...stepParams(execution, position)];
      let statement = this.queries.writeStep;
      if (next !== undefined) {
        params.push(...stepParams(execution, next));
        statement = this.queries.writeSteps;
      }
      result =
        messages === undefined || messages.length === 0
          ? await this.database.query(statement, params)
          : await this.writeWithMessages(statement, params, messages);
    }
    if (result.rows.length === 0) {
      const lost = new SagaLeaseLostError(execution.id);
      execution.controller.abort(lost);
      throw lost;
    }
    execution.leaseUntil = leaseUntil;
  }

  /**
   * The step's write and its outbox messages in one transaction: when the fence finds the lease
   * gone, nothing is enqueued either.
   */
  private writeWithMessages(
    statement: string,
    params: unknown[],
    messages: readonly OutboxMessageInput[],
  ): Promise<{ rows: unknown[] }> {
    const outbox = this.outbox!;
    return this.database.transaction(async (tx) => {
      const result = await sqlClientOf(tx, 'the transaction').query(statement, params);
      if (result.rows.length > 0) await outbox.enqueue(tx as Queryable, messages);
      return result;
    });
  }

  private execute(execution: Execution): Promise<SagaOutcome> {
    this.running.set(execution.id, execution);
    if (this.renewTimer === undefined) this.scheduleRenewal();
    const metrics = this.metrics;
    const run =
      metrics === undefined
        ? execution.run()
        : execution.run().then((outcome) => {
            metrics.finished.at([execution.saga.name, outcome.status]).value++;
            return outcome;
          });
    const done = run.finally(() => {
      this.running.delete(execution.id);
      if (this.running.size === 0 && this.renewTimer !== undefined) {
        this.clock.clearTimeout(this.renewTimer);
        this.renewTimer = undefined;
      }
    });
    execution.done = done;
    return done;
  }

  /**
   * One chain of renewals while sagas run. The chain checks it is still the current one before
   * it goes on: when the last saga ends during a renewal and a new one starts a chain of its own,
   * the old chain stops instead of renewing alongside it.
   */
  private scheduleRenewal(): void {
    const handle = unrefTimer(
      this.clock,
      () => {
        void this.renew().finally(() => {
          if (this.renewTimer !== handle) return;
          if (this.running.size > 0) this.scheduleRenewal();
          else this.renewTimer = undefined;
        });
      },
      Math.floor(this.leaseMs / 3),
    );
    this.renewTimer = handle;
  }

  /**
   * Renews the leases of every saga running here in one statement. A saga whose lease is gone
   * is aborted; when the database cannot be reached, each saga is aborted before its lease
   * could lapse, so that no step of it still runs when another instance may take it over.
   */
  private async renew(): Promise<void> {
    const executions = [...this.running.values()];
    if (executions.length === 0) return;
    const now = this.clock.dateNow();
    const leaseUntil = now + this.leaseMs;
    try {
      const { rows } = await this.database.query(this.queries.renew, [
        this.instanceId,
        iso(leaseUntil),
        executions.map((execution) => execution.id).join(','),
      ]);
      const held = new Set((rows as Array<{ id: string }>).map((row) => row.id));
      for (const execution of executions) {
        if (held.has(execution.id)) execution.leaseUntil = leaseUntil;
        else if (this.running.get(execution.id) === execution) {
          execution.controller.abort(new SagaLeaseLostError(execution.id));
        }
      }
    } catch (error) {
      this.report({ error });
      const margin = this.clock.dateNow() + this.leaseMs / 3;
      for (const execution of executions) {
        if (execution.leaseUntil <= margin) {
          execution.controller.abort(new SagaLeaseLostError(execution.id));
        }
      }
    }
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      await new Promise<void>((resolve) => {
        const timer = unrefTimer(
          this.clock,
          () => {
            this.wake = undefined;
            resolve();
          },
          this.pollIntervalMs,
        );
        this.wake = () => {
          this.clock.clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
      if (this.stopping) return;
      try {
        await this.claim();
      } catch (error) {
        this.report({ error });
      }
    }
  }
}

function pendingStep(step: { name: string }): StepRecord {
  return {
    name: step.name,
    status: 'pending',
    attempts: 0,
    compensationAttempts: 0,
    outputJson: null,
    errors: [],
  };
}

/** A step record's columns, as writeStep and writeSteps take them. */
function stepParams(execution: Execution, position: number): unknown[] {
  const record = execution.steps[position]!;
  return [
    position,
    record.name,
    record.status,
    record.attempts,
    record.compensationAttempts,
    record.outputJson,
    JSON.stringify(record.errors),
  ];
}

/** An orchestrator for `sagas`, with their state in `database`. Call `migrate()` once, then `run()` and `start()`. */
export function createOrchestrator<Tx>(options: OrchestratorOptions<Tx>): Orchestrator {
  return new Orchestrator(options as OrchestratorOptions<never>);
}
