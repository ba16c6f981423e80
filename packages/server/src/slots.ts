import { BulkheadRejectedError, type TelemetryListener } from '@bulwark/core';
import { emit } from '@bulwark/core/internal';

/**
 * A fixed concurrency limit with no queue, as a counter: what `bulkhead({ limit, queue: 0 })`
 * decides, without the promises a policy's `execute()` makes. A server holds a slot from the
 * request's arrival to the end of its response, which no promise brackets; and at 100 000
 * requests a second, `execute()`'s four promises per request cost more than the route itself.
 * Queues and adaptive limits go through `@bulwark/bulkhead`'s policy.
 *
 * It reports the bulkhead's own `bulkhead-rejected` event and reads as an observed bulkhead
 * (`active`, `queued`, `limit`), so its metrics are the bulkhead's.
 */
export class FixedSlots {
  /** Requests holding a slot now. */
  active = 0;
  readonly queued = 0;
  readonly queueLimit = 0;

  constructor(
    readonly limit: number,
    private readonly retryAfterMs: number,
    private readonly name: string,
    private readonly listener: TelemetryListener | undefined,
  ) {}

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  /** Gives a slot back. Call exactly once per successful {@link tryAcquire}. */
  release(): void {
    this.active--;
  }

  /** The error for a request that found every slot taken. */
  rejection(): BulkheadRejectedError {
    if (this.listener !== undefined) {
      emit(this.listener, {
        type: 'bulkhead-rejected',
        policy: 'bulkhead',
        name: this.name,
        operation: undefined,
        reason: 'full',
        active: this.active,
        queued: 0,
        limit: this.limit,
      });
    }
    return new BulkheadRejectedError('full', this.limit, 0, this.retryAfterMs);
  }
}
