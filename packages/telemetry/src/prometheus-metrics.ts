import { CounterFamily, type Family, GaugeFamily, HistogramFamily } from './metric-family.js';

/**
 * Every metric the Prometheus listener records, with its labels. The README's metrics table
 * documents the same list; keep the two together.
 */
export class PrometheusMetrics {
  readonly calls: CounterFamily;
  readonly callDuration: HistogramFamily;
  readonly attempts: CounterFamily;
  readonly attemptDuration: HistogramFamily;
  readonly retries: CounterFamily;
  readonly retryGaveUp: CounterFamily;
  readonly breakerState: GaugeFamily;
  readonly breakerTransitions: CounterFamily;
  readonly breakerRejected: CounterFamily;
  readonly bulkheadQueued: CounterFamily;
  readonly bulkheadRejected: CounterFamily;
  readonly bulkheadInFlight: GaugeFamily;
  readonly bulkheadQueueLength: GaugeFamily;
  readonly bulkheadLimit: GaugeFamily;
  readonly timeouts: CounterFamily;
  readonly deadlineExceeded: CounterFamily;

  constructor(prefix: string, buckets: readonly number[]) {
    const p = prefix;
    this.calls = new CounterFamily(`${p}calls_total`, 'Calls through a pipeline, by outcome.', [
      'operation',
      'outcome',
    ]);
    this.callDuration = new HistogramFamily(
      `${p}call_duration_seconds`,
      'Duration of whole calls through a pipeline, retries and waits included.',
      ['operation', 'outcome'],
      buckets,
    );
    this.attempts = new CounterFamily(
      `${p}attempts_total`,
      'Attempts made by retry policies, the first included, by outcome.',
      ['policy', 'operation', 'outcome'],
    );
    this.attemptDuration = new HistogramFamily(
      `${p}attempt_duration_seconds`,
      'Duration of single attempts made by retry policies.',
      ['policy', 'operation', 'outcome'],
      buckets,
    );
    this.retries = new CounterFamily(
      `${p}retries_total`,
      'Retries scheduled, by where the delay came from (backoff or server-hint).',
      ['policy', 'operation', 'delay_source'],
    );
    this.retryGaveUp = new CounterFamily(
      `${p}retry_gave_up_total`,
      'Calls a retry policy stopped retrying, by reason (budget-exhausted: the retry budget was empty).',
      ['policy', 'operation', 'reason'],
    );
    this.breakerState = new GaugeFamily(
      `${p}breaker_state`,
      'Circuit breaker state: 1 for the current state, 0 for the others.',
      ['policy', 'origin', 'state'],
    );
    this.breakerTransitions = new CounterFamily(
      `${p}breaker_transitions_total`,
      'Circuit breaker state changes.',
      ['policy', 'origin', 'from', 'to'],
    );
    this.breakerRejected = new CounterFamily(
      `${p}breaker_rejected_total`,
      'Calls a circuit breaker rejected without running them, by the state it was in.',
      ['policy', 'origin', 'state'],
    );
    this.bulkheadQueued = new CounterFamily(
      `${p}bulkhead_queued_total`,
      'Calls that had to wait in a bulkhead queue.',
      ['policy', 'operation'],
    );
    this.bulkheadRejected = new CounterFamily(
      `${p}bulkhead_rejected_total`,
      'Calls a bulkhead rejected, by reason (full or queue-timeout).',
      ['policy', 'operation', 'reason'],
    );
    this.bulkheadInFlight = new GaugeFamily(
      `${p}bulkhead_in_flight`,
      'Calls running inside an observed bulkhead.',
      ['policy'],
    );
    this.bulkheadQueueLength = new GaugeFamily(
      `${p}bulkhead_queue_length`,
      'Calls waiting in an observed bulkhead queue.',
      ['policy'],
    );
    this.bulkheadLimit = new GaugeFamily(
      `${p}bulkhead_limit`,
      'Concurrency limit of a bulkhead (adaptive limits move).',
      ['policy'],
    );
    this.timeouts = new CounterFamily(
      `${p}timeouts_total`,
      'Attempts cut short by their own timeout.',
      ['policy', 'operation'],
    );
    this.deadlineExceeded = new CounterFamily(
      `${p}deadline_exceeded_total`,
      'Calls or attempts stopped because the overall deadline ran out.',
      ['policy', 'operation'],
    );
  }

  all(): ReadonlyArray<Family<unknown>> {
    return [
      this.calls,
      this.callDuration,
      this.attempts,
      this.attemptDuration,
      this.retries,
      this.retryGaveUp,
      this.breakerState,
      this.breakerTransitions,
      this.breakerRejected,
      this.bulkheadQueued,
      this.bulkheadRejected,
      this.bulkheadInFlight,
      this.bulkheadQueueLength,
      this.bulkheadLimit,
      this.timeouts,
      this.deadlineExceeded,
    ] as ReadonlyArray<Family<unknown>>;
  }
}
