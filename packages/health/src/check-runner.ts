import { type Clock, TimeoutError } from '@bulwark/core';
import { unrefTimer } from '@bulwark/core/internal';
import { type HealthListener, emitHealth } from './events.js';
import {
  type ResolvedCheck,
  type ResolvedObservation,
  describeError,
  failure,
  normalizeResult,
} from './health-check.js';
import { type HealthStatus, worse } from './status.js';

/** The result of one run of one check. */
export interface CheckOutcome {
  readonly check: ResolvedCheck;
  readonly status: HealthStatus;
  readonly observations: readonly ResolvedObservation[];
  /** Wall-clock ms when the run ended, for the `time` field. */
  readonly at: number;
  readonly durationMs: number;
}

/**
 * Runs one registered check: reuses a result for `cacheMs`, lets concurrent probes share one
 * run, and fails a run that outlives its timeout.
 *
 * A run that timed out is abandoned, not forgotten: while it still has not settled, the check is
 * not started again and reports `fail`. A check that ignores its signal would otherwise leave one
 * more hung call (a socket, a pool slot) behind on every probe.
 */
export class CheckRunner {
  private cached: CheckOutcome | undefined = undefined;
  private cachedUntil = -Infinity;
  private running: Promise<CheckOutcome> | undefined = undefined;
  private hanging = false;

  constructor(
    readonly check: ResolvedCheck,
    private readonly clock: Clock,
    private readonly listener: HealthListener | undefined,
  ) {}

  /** The cached outcome while it is fresh, else the run in flight, else a new run. */
  outcome(): CheckOutcome | Promise<CheckOutcome> {
    if (this.cached !== undefined && this.clock.now() < this.cachedUntil) return this.cached;
    if (this.running !== undefined) return this.running;
    if (this.hanging) {
      const failed = [failure(this.check, 'the previous run has not ended yet')];
      return this.finish(this.clock.now(), failed, false, true, undefined);
    }
    this.running = this.start();
    return this.running;
  }

  private start(): Promise<CheckOutcome> {
    const started = this.clock.now();
    return new Promise<CheckOutcome>((resolve) => {
      const controller = new AbortController();
      let settled = false;
      const timer = unrefTimer(
        this.clock,
        () => {
          if (settled) return;
          settled = true;
          this.hanging = true;
          const error = new TimeoutError(this.check.timeoutMs);
          controller.abort(error);
          resolve(
            this.finish(
              started,
              [failure(this.check, `the check timed out after ${this.check.timeoutMs} ms`)],
              true,
              false,
              error,
            ),
          );
        },
        this.check.timeoutMs,
      );
      let pending: PromiseLike<unknown>;
      try {
        pending = Promise.resolve(this.check.check({ signal: controller.signal }));
      } catch (error: unknown) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          if (settled) {
            this.hanging = false;
            return;
          }
          settled = true;
          this.clock.clearTimeout(timer);
          resolve(
            this.finish(started, normalizeResult(this.check, value), false, false, undefined),
          );
        },
        (error: unknown) => {
          if (settled) {
            this.hanging = false;
            return;
          }
          settled = true;
          this.clock.clearTimeout(timer);
          resolve(
            this.finish(started, [failure(this.check, describeError(error))], false, false, error),
          );
        },
      );
    });
  }

  private finish(
    started: number,
    observations: ResolvedObservation[],
    timedOut: boolean,
    skipped: boolean,
    error: unknown,
  ): CheckOutcome {
    const now = this.clock.now();
    let status: HealthStatus = 'pass';
    for (const o of observations) status = worse(status, o.status);
    const outcome: CheckOutcome = {
      check: this.check,
      status,
      observations,
      at: this.clock.dateNow(),
      durationMs: now - started,
    };
    this.cached = outcome;
    this.cachedUntil = now + this.check.cacheMs;
    this.running = undefined;
    if (this.listener !== undefined) {
      emitHealth(this.listener, {
        type: 'health-check',
        name: this.check.name,
        status,
        durationMs: outcome.durationMs,
        timedOut,
        skipped,
        error,
      });
    }
    return outcome;
  }
}
