import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Clock, TimerHandle } from '@bulwark/core';
import { unrefTimer } from '@bulwark/core/internal';

/** How often the process is measured. Between readings, admission is one field read. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 1000;
/** The event-loop delay histogram's resolution, in milliseconds. */
const DELAY_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;
/** The delay percentile compared with `maxEventLoopDelayMs`: one long GC pause is not overload. */
const DELAY_PERCENTILE = 99;

/** Why the process counts as overloaded. */
export type PressureReason = 'event-loop-delay' | 'event-loop-utilization' | 'heap' | 'rss';

/** The limits a {@link PressureMonitor} checks; an absent limit is neither measured nor checked. */
export interface PressureLimits {
  readonly maxEventLoopDelayMs: number | undefined;
  readonly maxEventLoopUtilization: number | undefined;
  readonly maxHeapUsedBytes: number | undefined;
  readonly maxHeapUsedRatio: number | undefined;
  readonly maxRssBytes: number | undefined;
}

/** One reading of the process. Fields of unchecked limits may be left at 0. */
export interface PressureReading {
  /** The 99th percentile of event-loop delay since the previous reading, in milliseconds. */
  eventLoopDelayMs: number;
  /** The share of time the event loop was busy since the previous reading, 0 to 1. */
  eventLoopUtilization: number;
  heapUsedBytes: number;
  heapLimitBytes: number;
  rssBytes: number;
}

/** Takes readings. The real one measures this process; tests give a fake one. */
export interface PressureProbe {
  start(): void;
  read(): PressureReading;
  stop(): void;
}

/** The judgement on one reading: the first limit it breaks, in a fixed order. */
export function judge(limits: PressureLimits, r: PressureReading): PressureReason | undefined {
  if (limits.maxEventLoopDelayMs !== undefined && r.eventLoopDelayMs > limits.maxEventLoopDelayMs) {
    return 'event-loop-delay';
  }
  if (
    limits.maxEventLoopUtilization !== undefined &&
    r.eventLoopUtilization > limits.maxEventLoopUtilization
  ) {
    return 'event-loop-utilization';
  }
  if (limits.maxHeapUsedBytes !== undefined && r.heapUsedBytes > limits.maxHeapUsedBytes) {
    return 'heap';
  }
  if (
    limits.maxHeapUsedRatio !== undefined &&
    r.heapLimitBytes > 0 &&
    r.heapUsedBytes / r.heapLimitBytes > limits.maxHeapUsedRatio
  ) {
    return 'heap';
  }
  if (limits.maxRssBytes !== undefined && r.rssBytes > limits.maxRssBytes) return 'rss';
  return undefined;
}

/** Measures this process: event-loop delay and utilization, V8 heap, resident set size. */
export class ProcessProbe implements PressureProbe {
  private histogram: IntervalHistogram | undefined = undefined;
  private elu = performance.eventLoopUtilization();
  private readonly reading: PressureReading = {
    eventLoopDelayMs: 0,
    eventLoopUtilization: 0,
    heapUsedBytes: 0,
    heapLimitBytes: 0,
    rssBytes: 0,
  };

  constructor(private readonly limits: PressureLimits) {}

  start(): void {
    if (this.limits.maxEventLoopDelayMs !== undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
      this.histogram.enable();
    }
    this.elu = performance.eventLoopUtilization();
  }

  read(): PressureReading {
    const r = this.reading;
    const limits = this.limits;
    if (this.histogram !== undefined) {
      // The histogram overstates every sample by its resolution, the timer's own period.
      const p = this.histogram.percentile(DELAY_PERCENTILE) / NS_PER_MS - DELAY_RESOLUTION_MS;
      r.eventLoopDelayMs = p > 0 ? p : 0;
      this.histogram.reset();
    }
    if (limits.maxEventLoopUtilization !== undefined) {
      const now = performance.eventLoopUtilization();
      r.eventLoopUtilization = performance.eventLoopUtilization(now, this.elu).utilization;
      this.elu = now;
    }
    if (limits.maxHeapUsedBytes !== undefined || limits.maxHeapUsedRatio !== undefined) {
      const heap = getHeapStatistics();
      r.heapUsedBytes = heap.used_heap_size;
      r.heapLimitBytes = heap.heap_size_limit;
    }
    if (limits.maxRssBytes !== undefined) r.rssBytes = process.memoryUsage.rss();
    return r;
  }

  stop(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }
}

/**
 * Reads the process every interval on one unref'd timer and keeps the verdict in a field, so
 * admitting a request costs one read. Overload is judged on measurements, not on requests: a
 * process that is already drowning must not spend more of itself deciding so.
 */
export class PressureMonitor {
  /** Why the process is overloaded now, or undefined when it is not. */
  reason: PressureReason | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private running = false;

  constructor(
    private readonly limits: PressureLimits,
    private readonly intervalMs: number,
    private readonly clock: Clock,
    private readonly probe: PressureProbe = new ProcessProbe(limits),
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.probe.start();
    this.schedule();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.probe.stop();
    this.reason = undefined;
  }

  private schedule(): void {
    this.timer = unrefTimer(this.clock, this.sample, this.intervalMs);
  }

  private readonly sample = (): void => {
    if (!this.running) return;
    this.reason = judge(this.limits, this.probe.read());
    this.schedule();
  };
}
