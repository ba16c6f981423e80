import type { Clock, TelemetryListener } from '@bulwark/core';
import {
  BulwarkPolicy,
  type Context,
  type Next,
  emit,
  httpAttemptOf,
} from '@bulwark/core/internal';

/**
 * Reports the one attempt of a call made with retries off, where the retry would have reported
 * it: inside the pipeline, so the operation's span is active and tracing sees the attempt too.
 * A retried status (a 503) counts as a failed attempt, as it would with retries on.
 */
export class AttemptReporter extends BulwarkPolicy {
  constructor(
    clock: Clock,
    private readonly listener: TelemetryListener,
    private readonly name: string | undefined,
    private readonly retryStatuses: Uint8Array,
  ) {
    super(clock);
  }

  protected run(context: Context, next: Next): Promise<unknown> {
    const start = this.clock.now();
    let pending: unknown;
    try {
      pending = next.call(context);
    } catch (error: unknown) {
      this.report(context, start, 'failure', error);
      return Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (response: unknown) => {
        const failed = this.retryStatuses[(response as { status: number }).status] === 1;
        this.report(context, start, failed ? 'failure' : 'success', failed ? response : undefined);
        return response;
      },
      (error: unknown) => {
        this.report(context, start, 'failure', error);
        throw error;
      },
    );
  }

  private report(
    context: Context,
    start: number,
    outcome: 'success' | 'failure',
    error: unknown,
  ): void {
    emit(this.listener, {
      type: 'attempt',
      policy: 'http-client',
      name: this.name,
      operation: context.operation,
      attempt: context.attempt,
      outcome,
      durationMs: this.clock.now() - start,
      error,
      http: httpAttemptOf(context.fn, context.attempt),
    });
  }
}
