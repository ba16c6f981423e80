import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkObject,
  checkOptionsObject,
  describeValue,
  optionNames,
} from '@bulwark/core/internal';
import type { OutboxMessageInput } from '@bulwark/outbox';
import { type Backoff, exponentialBackoff } from '@bulwark/retry';

/**
 * Saga and step names, and saga ids, go into idempotency keys (`sagaId:step:action`): they are
 * limited to characters every Idempotency-Key parser takes as a token, without the `:` that
 * separates the parts.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const MAX_NAME_LENGTH = 64;
/** A saga's steps: a saga of more is a workflow, and every step is two state writes. */
export const MAX_STEPS = 100;
export const DEFAULT_STEP_MAX_ATTEMPTS = 3;
export const DEFAULT_COMPENSATION_MAX_ATTEMPTS = 10;
/** Between failed attempts of an action: 100 ms doubling to 10 s, full jitter. */
export const DEFAULT_STEP_BACKOFF: Backoff = exponentialBackoff({
  initialDelayMs: 100,
  maxDelayMs: 10_000,
});
/** Between failed attempts of a compensation: 1 s doubling to 1 min, full jitter. */
export const DEFAULT_COMPENSATION_BACKOFF: Backoff = exponentialBackoff({
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
});
/** A step's failures are all retried unless `retryOn` says otherwise. */
const RETRY_EVERYTHING = (): boolean => true;
const MAX_TIMEOUT_MS = 86_400_000;
const RESERVED_STEP_NAMES = ['input'];

/** What an action or a compensation is handed besides the saga's data. */
export interface StepContext {
  readonly sagaId: string;
  /** The step's name. */
  readonly step: string;
  /**
   * `sagaId:step:action` (or `:compensate`): the same on every attempt, after a crash and on
   * another instance. Send it downstream (`idempotencyKey` of @bulwark/http-client) so that an
   * attempt repeated after a crash is applied once.
   */
  readonly idempotencyKey: string;
  /** This attempt, counting from 1, across crashes and instances. */
  readonly attempt: number;
  /** Aborted at the step's timeout, when the lease is lost, and when the orchestrator stops. */
  readonly signal: AbortSignal;
  /**
   * Queues outbox messages that are enqueued in the transaction that records this attempt's
   * success, and only then: an attempt that fails, or whose instance lost the lease, sends
   * nothing. Needs `createOrchestrator({ outbox })`.
   */
  publish(message: OutboxMessageInput | readonly OutboxMessageInput[]): void;
}

/** A compensation's context: its action's outcome, as far as the orchestrator knows it. */
export interface CompensationContext extends StepContext {
  /**
   * True when the action completed. False when its last attempt failed or timed out: the
   * downstream may have applied it anyway, so a compensation runs for it too, and must treat
   * "nothing to undo" as success.
   */
  readonly actionCompleted: boolean;
}

/** How a step's action (or every compensation of a saga) is retried. */
export interface StepRetryOptions {
  /** Attempts in all, the first included; counted across crashes. Default 3 (compensations: 10). */
  maxAttempts?: number;
  /** The wait after a failed attempt. Default: 100 ms doubling to 10 s (compensations: 1 s to 1 min), full jitter. */
  backoff?: Backoff;
  /** Which failures are worth another attempt; the others fail the step at once. Default: all. */
  retryOn?: (error: unknown) => boolean;
}

/** The data a step's action is given: the saga's input, and each earlier step's output by name. */
export type SagaData<Input> = { readonly input: Input };

export interface StepOptions<Data, Name extends string, Output> {
  /** Unique in the saga; letters, digits, `_`, `.` and `-`, at most 64 characters. */
  name: Name;
  /** Does the step's work. What it resolves to must survive JSON: it is stored, and later steps read it. */
  action: (data: Data, context: StepContext) => Output | Promise<Output>;
  /**
   * Undoes the action. Runs, in reverse order, for every step whose action was attempted, when a
   * step at or before the pivot fails for good. `output` is undefined when the action did not
   * complete. Required before the pivot.
   */
  compensate?: (
    data: Data,
    output: Awaited<Output> | undefined,
    context: CompensationContext,
  ) => unknown;
  /** The point of no return: steps after it have no compensation and are only retried forward. */
  pivot?: boolean;
  /** How the action is retried. */
  retry?: StepRetryOptions;
  /** How long one attempt of the action may take. Default: no limit (but the saga's deadline). */
  timeoutMs?: number;
}

export interface SagaOptions<Input> {
  /** The saga's name: stored with each saga, so a resumed saga finds its definition. */
  name: string;
  /** The steps, in order. Add more, typed by what earlier steps return, with `.step()`. */
  steps?: ReadonlyArray<
    StepOptions<SagaData<Input> & Readonly<Record<string, unknown>>, string, unknown>
  >;
  /** From the start of a saga: once spent, no step before the pivot starts, and it compensates. Default: none. */
  deadlineMs?: number;
  /** How every compensation of the saga is retried. Exhausted, the saga is dead-lettered. */
  compensationRetry?: StepRetryOptions;
}

/** A step as the orchestrator runs it: checked, with its defaults filled in. */
export interface StepDefinition {
  readonly name: string;
  readonly action: (data: never, context: StepContext) => unknown;
  readonly compensate:
    ((data: never, output: never, context: CompensationContext) => unknown) | undefined;
  readonly pivot: boolean;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly retryOn: (error: unknown) => boolean;
  readonly timeoutMs: number | undefined;
}

interface RetrySettings {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly retryOn: (error: unknown) => boolean;
}

const SAGA_OPTIONS = optionNames<SagaOptions<unknown>>({
  name: true,
  steps: true,
  deadlineMs: true,
  compensationRetry: true,
});
const STEP_OPTIONS = optionNames<StepOptions<unknown, string, unknown>>({
  name: true,
  action: true,
  compensate: true,
  pivot: true,
  retry: true,
  timeoutMs: true,
});
const RETRY_OPTIONS = optionNames<StepRetryOptions>({
  maxAttempts: true,
  backoff: true,
  retryOn: true,
});

/** A saga or step name, or a saga id: see NAME_PATTERN. */
export function checkName(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`expected ${option} to be a non-empty string, got ${describeValue(value)}`);
  }
  if (value.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(value)) {
    throw new RangeError(
      `expected ${option} to be at most ${MAX_NAME_LENGTH} of A-Z, a-z, 0-9, _, . and -, got ${describeValue(value)}`,
    );
  }
}

function retrySettings(
  factory: string,
  path: string,
  value: unknown,
  defaults: { maxAttempts: number; backoff: Backoff },
): RetrySettings {
  if (value === undefined) return { ...defaults, retryOn: RETRY_EVERYTHING };
  checkObject(path, value);
  checkKnownOptions(factory, value, RETRY_OPTIONS, path);
  const {
    maxAttempts = defaults.maxAttempts,
    backoff = defaults.backoff,
    retryOn = RETRY_EVERYTHING,
  } = value as StepRetryOptions;
  checkInteger(`${path}.maxAttempts`, maxAttempts, 1, 1_000_000);
  checkFunction(`${path}.backoff`, backoff);
  checkFunction(`${path}.retryOn`, retryOn);
  return { maxAttempts, backoff, retryOn };
}

/**
 * Checks one step against the steps before it. The rules are checked as each step is added, so
 * a bad definition fails where it is written, not when a saga first runs.
 */
function checkStep(
  sagaName: string,
  earlier: readonly StepDefinition[],
  value: unknown,
): StepDefinition {
  const where = `step ${earlier.length + 1} of saga ${JSON.stringify(sagaName)}`;
  checkOptionsObject(`saga.step (${where})`, value);
  checkKnownOptions(`saga.step (${where})`, value, STEP_OPTIONS);
  const step = value as StepOptions<unknown, string, unknown>;
  checkName(`the name of ${where}`, step.name);
  const label = `step ${JSON.stringify(step.name)} of saga ${JSON.stringify(sagaName)}`;
  if (RESERVED_STEP_NAMES.includes(step.name)) {
    throw new RangeError(
      `${label}: "input" is reserved for the saga's input; name the step otherwise`,
    );
  }
  if (earlier.some((other) => other.name === step.name)) {
    throw new RangeError(
      `${label}: the saga already has a step of this name; step names must be unique`,
    );
  }
  checkFunction(`the action of ${label}`, step.action);
  if (step.compensate !== undefined) checkFunction(`the compensate of ${label}`, step.compensate);
  const pivot = step.pivot ?? false;
  checkBoolean(`the pivot of ${label}`, pivot);
  const pivotBefore = earlier.find((other) => other.pivot);
  if (pivot && pivotBefore !== undefined) {
    throw new RangeError(
      `${label}: the saga already has a pivot (${JSON.stringify(pivotBefore.name)}); a saga has at most one`,
    );
  }
  if (step.compensate === undefined && !pivot && pivotBefore === undefined) {
    throw new TypeError(
      `${label} has no compensate: every step before the pivot needs one (mark the point of no return with pivot: true)`,
    );
  }
  if (step.timeoutMs !== undefined) {
    checkInteger(`the timeoutMs of ${label}`, step.timeoutMs, 1, MAX_TIMEOUT_MS);
  }
  const retry = retrySettings(`saga.step (${label})`, 'retry', step.retry, {
    maxAttempts: DEFAULT_STEP_MAX_ATTEMPTS,
    backoff: DEFAULT_STEP_BACKOFF,
  });
  return {
    name: step.name,
    action: step.action,
    compensate: step.compensate,
    pivot,
    ...retry,
    timeoutMs: step.timeoutMs,
  };
}

/**
 * A saga's definition: immutable; `.step()` returns a new one with the step added. `Data` is what
 * the next step is given: the input and the outputs of the steps so far.
 */
export class Saga<Input, Data = SagaData<Input>> {
  /** @internal Use `defineSaga()`. */
  constructor(
    readonly name: string,
    /** @internal */
    readonly steps: readonly StepDefinition[],
    /** Milliseconds from a saga's start, or undefined. */
    readonly deadlineMs: number | undefined,
    /** @internal */
    readonly compensationRetry: RetrySettings,
  ) {}

  /** This saga with one more step, whose action is given the data of the steps before it. */
  step<const Name extends string, Output>(
    options: StepOptions<Data, Name, Output> & { name: Exclude<Name, keyof Data> },
  ): Saga<Input, Data & { readonly [K in Name]: Awaited<Output> }> {
    if (this.steps.length >= MAX_STEPS) {
      throw new RangeError(
        `saga ${JSON.stringify(this.name)} has ${MAX_STEPS} steps, the most a saga may have`,
      );
    }
    const step = checkStep(this.name, this.steps, options);
    return new Saga(this.name, [...this.steps, step], this.deadlineMs, this.compensationRetry);
  }

  /** The index of the pivot step, or -1. */
  get pivotIndex(): number {
    return this.steps.findIndex((step) => step.pivot);
  }
}

/**
 * Defines a saga: steps run in order; when one at or before the pivot fails for good, the
 * compensations of the steps attempted so far run in reverse. Checks everything here, so a bad
 * definition fails where it is written.
 *
 * @example
 * const placeOrder = defineSaga<{ sku: string }>({ name: 'place-order' })
 *   .step({ name: 'reserve', action: (data, ctx) => stock.reserve(data.input.sku, ctx.idempotencyKey),
 *           compensate: (data, reservation, ctx) => stock.release(data.input.sku, ctx.idempotencyKey) })
 *   .step({ name: 'charge', pivot: true, action: (data, ctx) => payments.charge(data.reserve.total, ctx.idempotencyKey) });
 */
export function defineSaga<Input>(options: SagaOptions<Input>): Saga<Input> {
  checkOptionsObject('defineSaga', options);
  checkKnownOptions('defineSaga', options, SAGA_OPTIONS);
  const { name, steps = [], deadlineMs, compensationRetry } = options;
  checkName('name', name);
  if (deadlineMs !== undefined) checkInteger('deadlineMs', deadlineMs, 1, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(steps)) {
    throw new TypeError(`expected steps to be an array of steps, got ${describeValue(steps)}`);
  }
  const retry = retrySettings('defineSaga', 'compensationRetry', compensationRetry, {
    maxAttempts: DEFAULT_COMPENSATION_MAX_ATTEMPTS,
    backoff: DEFAULT_COMPENSATION_BACKOFF,
  });
  let saga = new Saga<Input>(name, [], deadlineMs, retry);
  for (const step of steps as readonly unknown[]) {
    saga = saga.step(step as never);
  }
  return saga;
}
