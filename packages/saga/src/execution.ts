import { type Clock, DeadlineExceededError, TimeoutError } from '@bulwark/core';
import { describeValue } from '@bulwark/core/internal';
import type { Span } from '@opentelemetry/api';
import type { OutboxMessageInput } from '@bulwark/outbox';
import type { Saga, StepDefinition } from './saga.js';
import type { SagaTracing } from './tracing.js';

/** Where a step stands. A step not yet attempted has no row: `pending` here. */
export type StepStatus =
  | 'pending'
  | 'running'
  | 'done'
  | 'failed'
  | 'compensating'
  | 'compensated'
  | 'compensation_failed';

/** Where a saga stands. `dead` waits for a person; `resolved` is how that person closes it. */
export type SagaStatus =
  'running' | 'compensating' | 'completed' | 'compensated' | 'dead' | 'resolved';

/** One failed attempt, kept in the step's history. */
export interface StepFailure {
  readonly phase: 'action' | 'compensate';
  readonly attempt: number;
  /** When it failed, as an ISO date. */
  readonly at: string;
  /** The error's name, code and message. */
  readonly error: string;
}

/** A step as the orchestrator holds it and writes it. */
export interface StepRecord {
  readonly name: string;
  status: StepStatus;
  attempts: number;
  compensationAttempts: number;
  /** The output's JSON text, once done. */
  outputJson: string | null;
  errors: StepFailure[];
}

/** What an execution needs from its orchestrator: the fenced writes, the clock, the random source. */
export interface ExecutionHost {
  readonly clock: Clock;
  readonly random: () => number;
  /**
   * Writes the saga's status (when not null) and, when `position` is given, that step's record,
   * and `next`'s when given, under the lease. Throws SagaLeaseLostError when the lease is no
   * longer this instance's.
   */
  write(
    execution: Execution,
    status: SagaStatus | null,
    error: string | null,
    position?: number,
    messages?: readonly OutboxMessageInput[],
    next?: number,
  ): Promise<void>;
  /** Refuses `publish()` when the orchestrator has no outbox. */
  readonly canPublish: boolean;
  /** Spans for the saga and its steps, when the orchestrator has a tracer. */
  readonly tracing: SagaTracing | undefined;
  /** Times one attempt, when metrics are on; undefined keeps the clock unread otherwise. */
  readonly observe:
    | ((
        saga: string,
        step: string,
        phase: StepFailure['phase'],
        outcome: 'ok' | 'error',
        seconds: number,
      ) => void)
    | undefined;
}

/** How a saga ended, as `run()` reports it. */
export type SagaOutcome<Data = unknown> =
  | { readonly id: string; readonly status: 'completed'; readonly data: Data }
  | { readonly id: string; readonly status: 'compensated' | 'dead'; readonly error: string };

/** A stored error's size: a stack or a response body does not belong in a state row. */
const MAX_ERROR_LENGTH = 2_000;
/** Failures kept per step: the latest, when a step fails more often than this. */
const MAX_FAILURES = 50;

export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    text = `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  } else {
    text = `thrown: ${describeValue(error)}`;
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One attempt of an action or a compensation, cut off at `timeoutMs` (when set) and when the
 * saga's signal aborts, even if the step ignores its own signal.
 */
async function attempt(
  clock: Clock,
  parent: AbortSignal,
  timeoutMs: number | undefined,
  call: (signal: AbortSignal) => unknown,
): Promise<unknown> {
  // An abort that came while a state write was in flight fires no event any more: no attempt.
  if (parent.aborted) throw parent.reason;
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : clock.setTimeout(() => controller.abort(new TimeoutError(timeoutMs)), timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
      once: true,
    });
  });
  try {
    return await Promise.race([Promise.resolve().then(() => call(controller.signal)), aborted]);
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
  }
}

/** Where an execution starts from: a new saga, or one read back from the database. */
export interface ExecutionState {
  readonly id: string;
  readonly input: unknown;
  readonly steps: StepRecord[];
  readonly status: 'running' | 'compensating';
  /** Epoch ms, or undefined. */
  readonly deadlineAt: number | undefined;
  readonly leaseUntil: number;
  readonly leaseToken: number;
  /** Claimed from the database rather than started by run(). */
  readonly resumed: boolean;
  /** The failure that started compensation, when it has started. */
  readonly failure: string | null;
  /** The step whose first attempt is already written as started (by run()'s insert), or -1. */
  readonly started: number;
}

/**
 * One saga, run by the instance that holds its lease: forward through its steps, then, after a
 * permanent failure at or before the pivot, back through the compensations. Every change of
 * state is written before the code that depends on it runs, so a crash at any point leaves a
 * state another instance can resume from: a step written `running` is attempted again (with the
 * same idempotency key), a step written `done` never is.
 */
export class Execution {
  /** Aborted when the lease is lost or the orchestrator stops: the step in flight is cut off. */
  readonly controller = new AbortController();
  /** Settles when run() does; set by the orchestrator, so stop() can wait for it. */
  done: Promise<unknown> = Promise.resolve();
  /** Until when this instance surely holds the lease (epoch ms), by its last write or renewal. */
  leaseUntil: number;
  readonly id: string;
  readonly steps: StepRecord[];
  /** The claim this instance holds: every write checks it. */
  readonly leaseToken: number;
  private status: 'running' | 'compensating';
  private failure: string | null;
  /** Epoch ms, or undefined. */
  private readonly deadlineAt: number | undefined;
  private readonly data: Record<string, unknown>;
  private readonly pivot: number;
  /** True when this instance claimed the saga rather than starting it. */
  private readonly resumed: boolean;
  private span: Span | undefined = undefined;
  /**
   * The step whose first attempt is written as started but not yet made: the write that created
   * the saga, or that completed the step before, started it too, at the same moment. -1: none.
   */
  private started: number;

  constructor(
    private readonly host: ExecutionHost,
    readonly saga: Saga<unknown, unknown>,
    state: ExecutionState,
  ) {
    this.id = state.id;
    this.steps = state.steps;
    this.status = state.status;
    this.failure = state.failure;
    this.deadlineAt = state.deadlineAt;
    this.leaseUntil = state.leaseUntil;
    this.leaseToken = state.leaseToken;
    this.resumed = state.resumed;
    this.started = state.started;
    this.pivot = saga.pivotIndex;
    this.data = { input: state.input };
    for (const [i, step] of state.steps.entries()) {
      if (step.status !== 'pending' && step.outputJson !== null) {
        this.data[saga.steps[i]!.name] = JSON.parse(step.outputJson) as unknown;
      }
    }
  }

  /** Runs the saga to its end; rejects only when this instance must stop (lease lost, stopped). */
  async run(): Promise<SagaOutcome> {
    const tracing = this.host.tracing;
    if (tracing === undefined) return this.runSteps();
    const span = tracing.startSaga(this.saga.name, this.id, this.resumed);
    this.span = span;
    try {
      const outcome = await this.runSteps();
      tracing.endSaga(span, outcome.status, undefined);
      return outcome;
    } catch (error) {
      tracing.endSaga(span, undefined, error);
      throw error;
    }
  }

  /** Calls one attempt, in a step span when tracing. */
  private async traced(
    step: string,
    phase: StepFailure['phase'],
    attemptNumber: number,
    call: () => Promise<unknown>,
  ): Promise<unknown> {
    const tracing = this.host.tracing;
    if (tracing === undefined || this.span === undefined) return call();
    const span = tracing.startStep(this.span, step, phase, attemptNumber);
    try {
      const value = await call();
      tracing.endStep(span, undefined);
      return value;
    } catch (error) {
      tracing.endStep(span, error);
      throw error;
    }
  }

  private async runSteps(): Promise<SagaOutcome> {
    if (this.status === 'running') {
      const outcome = await this.forward();
      if (outcome !== undefined) return outcome;
    }
    return this.compensate();
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The steps in order. Undefined when one failed for good and compensation is due. */
  private async forward(): Promise<SagaOutcome | undefined> {
    const last = this.saga.steps.length - 1;
    for (let i = 0; i <= last; i++) {
      const record = this.steps[i]!;
      if (record.status === 'done') continue;
      // A step after the pivot that was given up on is taken up again when a person retries it.
      if (record.status === 'failed') record.attempts = 0;
      const error = await this.runAction(i, i === last);
      if (error === undefined) continue;
      const text = describeError(error);
      if (this.pivot >= 0 && i > this.pivot) {
        record.status = 'failed';
        await this.host.write(this, 'dead', text, i);
        return { id: this.id, status: 'dead', error: text };
      }
      this.status = 'compensating';
      this.failure = text;
      // A step the deadline kept from starting has nothing to record: it stays pending.
      if (record.attempts === 0) {
        await this.host.write(this, 'compensating', text);
      } else {
        record.status = 'failed';
        await this.host.write(this, 'compensating', text, i);
      }
      return undefined;
    }
    return { id: this.id, status: 'completed', data: this.data };
  }

  /** The deadline applies to the steps a failure can still compensate: those to the pivot. */
  private remainingMs(index: number): number | undefined {
    if (this.deadlineAt === undefined || (this.pivot >= 0 && index > this.pivot)) return undefined;
    return this.deadlineAt - this.host.clock.dateNow();
  }

  /** The action's attempts; resolves to undefined once done, or to the error that ends them. */
  private async runAction(index: number, last: boolean): Promise<unknown> {
    const step = this.saga.steps[index]!;
    const record = this.steps[index]!;
    let previousDelayMs = 0;
    for (;;) {
      if (this.started === index) {
        this.started = -1;
      } else {
        const remaining = this.remainingMs(index);
        if (remaining !== undefined && remaining <= 0) return this.deadlineSpent(step.name);
        record.attempts++;
        record.status = 'running';
        await this.host.write(this, null, null, index);
      }
      const timeoutMs = shorter(step.timeoutMs, this.remainingMs(index));
      let output: unknown;
      const outbox = this.messages();
      const startedAt = this.host.observe === undefined ? 0 : this.host.clock.now();
      try {
        output = await this.traced(step.name, 'action', record.attempts, () =>
          attempt(this.host.clock, this.signal, timeoutMs, (signal) =>
            step.action(this.data as never, {
              sagaId: this.id,
              step: step.name,
              idempotencyKey: `${this.id}:${step.name}:action`,
              attempt: record.attempts,
              signal,
              publish: outbox.publish,
            }),
          ),
        );
      } catch (error) {
        if (this.signal.aborted) throw this.signal.reason;
        this.observe(step.name, 'action', 'error', startedAt);
        this.recordFailure(record, 'action', record.attempts, error);
        if (record.attempts >= step.maxAttempts || !step.retryOn(error)) return error;
        const delay = backoffDelay(step, record.attempts, previousDelayMs, this.host.random);
        previousDelayMs = delay;
        const left = this.remainingMs(index);
        if (left !== undefined && delay >= left) return error;
        await this.host.write(this, null, null, index);
        await sleep(this.host.clock, delay, this.signal);
        continue;
      }
      this.observe(step.name, 'action', 'ok', startedAt);
      let json: string;
      try {
        json = JSON.stringify(output) ?? 'null';
      } catch (error) {
        const notJson = new TypeError(
          `step ${step.name} returned a value JSON cannot hold (${describeError(error)}); a step's output is stored as JSON`,
        );
        this.recordFailure(record, 'action', record.attempts, notJson);
        return notJson;
      }
      record.outputJson = json;
      record.status = 'done';
      this.data[step.name] = JSON.parse(json) as unknown;
      const next = last ? undefined : this.startNext(index + 1);
      await this.host.write(this, last ? 'completed' : null, null, index, outbox.queued, next);
      if (next !== undefined) this.started = next;
      return undefined;
    }
  }

  private deadlineSpent(step: string): DeadlineExceededError {
    return new DeadlineExceededError(
      this.saga.deadlineMs,
      `the saga's deadline of ${this.saga.deadlineMs} ms was spent before step ${step}`,
    );
  }

  /**
   * Starts the first attempt of the step after one that completed, in the record the completion
   * writes, so that both go in one statement; undefined when that step is not to start now (done
   * already, or the deadline is spent), and runAction starts it, or not, as it does any step.
   */
  private startNext(index: number): number | undefined {
    const record = this.steps[index]!;
    if (record.status === 'done') return undefined;
    const remaining = this.remainingMs(index);
    if (remaining !== undefined && remaining <= 0) return undefined;
    // A step after the pivot that was given up on is taken up again when a person retries it.
    if (record.status === 'failed') record.attempts = 0;
    record.attempts++;
    record.status = 'running';
    return index;
  }

  /** Every attempted step's compensation, last step first, then the saga's end. */
  private async compensate(): Promise<SagaOutcome> {
    const failure = this.failure ?? 'compensation resumed';
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const record = this.steps[i]!;
      const step = this.saga.steps[i]!;
      if (
        record.attempts === 0 ||
        record.status === 'compensated' ||
        step.compensate === undefined
      ) {
        continue;
      }
      // A person retrying a dead saga gives its compensations their attempts again.
      if (record.status === 'compensation_failed') record.compensationAttempts = 0;
      const error = await this.runCompensation(i, step);
      if (error !== undefined) {
        record.status = 'compensation_failed';
        const text = `compensation of step ${step.name} failed: ${describeError(error)} (after ${failure})`;
        await this.host.write(this, 'dead', text, i);
        return { id: this.id, status: 'dead', error: text };
      }
    }
    await this.host.write(this, 'compensated', null);
    return { id: this.id, status: 'compensated', error: failure };
  }

  private async runCompensation(index: number, step: StepDefinition): Promise<unknown> {
    const record = this.steps[index]!;
    const { maxAttempts, retryOn } = this.saga.compensationRetry;
    // What the action completed with, known from the record, not from a status the compensation overwrites.
    const actionCompleted = record.outputJson !== null;
    const output = actionCompleted ? this.data[step.name] : undefined;
    let previousDelayMs = 0;
    for (;;) {
      record.compensationAttempts++;
      record.status = 'compensating';
      await this.host.write(this, null, null, index);
      const outbox = this.messages();
      const startedAt = this.host.observe === undefined ? 0 : this.host.clock.now();
      try {
        await this.traced(step.name, 'compensate', record.compensationAttempts, () =>
          attempt(this.host.clock, this.signal, undefined, (signal) =>
            step.compensate!(this.data as never, output as never, {
              sagaId: this.id,
              step: step.name,
              idempotencyKey: `${this.id}:${step.name}:compensate`,
              attempt: record.compensationAttempts,
              signal,
              publish: outbox.publish,
              actionCompleted,
            }),
          ),
        );
      } catch (error) {
        if (this.signal.aborted) throw this.signal.reason;
        this.observe(step.name, 'compensate', 'error', startedAt);
        this.recordFailure(record, 'compensate', record.compensationAttempts, error);
        if (record.compensationAttempts >= maxAttempts || !retryOn(error)) return error;
        const delay = backoffDelay(
          this.saga.compensationRetry,
          record.compensationAttempts,
          previousDelayMs,
          this.host.random,
        );
        previousDelayMs = delay;
        await this.host.write(this, null, null, index);
        await sleep(this.host.clock, delay, this.signal);
        continue;
      }
      this.observe(step.name, 'compensate', 'ok', startedAt);
      record.status = 'compensated';
      await this.host.write(this, null, null, index, outbox.queued);
      return undefined;
    }
  }

  private observe(
    step: string,
    phase: StepFailure['phase'],
    outcome: 'ok' | 'error',
    startedAt: number,
  ): void {
    const observe = this.host.observe;
    if (observe === undefined) return;
    observe(this.saga.name, step, phase, outcome, (this.host.clock.now() - startedAt) / 1000);
  }

  /** One attempt's outbox messages: queued by the step, written with the attempt's success. */
  private messages(): {
    readonly queued: OutboxMessageInput[];
    publish: (message: OutboxMessageInput | readonly OutboxMessageInput[]) => void;
  } {
    const queued: OutboxMessageInput[] = [];
    const canPublish = this.host.canPublish;
    return {
      queued,
      publish(message) {
        if (!canPublish) {
          throw new TypeError(
            'publish() needs an outbox: give createOrchestrator({ outbox }) one on the same database',
          );
        }
        if (Array.isArray(message)) queued.push(...(message as readonly OutboxMessageInput[]));
        else queued.push(message as OutboxMessageInput);
      },
    };
  }

  private recordFailure(
    record: StepRecord,
    phase: StepFailure['phase'],
    attemptNumber: number,
    error: unknown,
  ): void {
    const at = new Date(this.host.clock.dateNow()).toISOString();
    record.errors.push({ phase, attempt: attemptNumber, at, error: describeError(error) });
    if (record.errors.length > MAX_FAILURES) record.errors.shift();
  }
}

function shorter(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b === undefined ? undefined : Math.max(b, 1);
  if (b === undefined) return a;
  return Math.max(Math.min(a, b), 1);
}

function backoffDelay(
  settings: Pick<StepDefinition, 'backoff'>,
  attemptNumber: number,
  previousDelayMs: number,
  random: () => number,
): number {
  const delay = settings.backoff({ attempt: attemptNumber, previousDelayMs, random });
  return Number.isFinite(delay) && delay > 0 ? delay : 0;
}
