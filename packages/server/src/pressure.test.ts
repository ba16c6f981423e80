import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import {
  type PressureLimits,
  PressureMonitor,
  type PressureProbe,
  type PressureReading,
  ProcessProbe,
  judge,
} from './pressure.js';

const NO_LIMITS: PressureLimits = {
  maxEventLoopDelayMs: undefined,
  maxEventLoopUtilization: undefined,
  maxHeapUsedBytes: undefined,
  maxHeapUsedRatio: undefined,
  maxRssBytes: undefined,
};

function reading(overrides: Partial<PressureReading> = {}): PressureReading {
  return {
    eventLoopDelayMs: 0,
    eventLoopUtilization: 0,
    heapUsedBytes: 0,
    heapLimitBytes: 0,
    rssBytes: 0,
    ...overrides,
  };
}

class FakeProbe implements PressureProbe {
  current = reading();
  started = 0;
  stopped = 0;
  reads = 0;
  start(): void {
    this.started++;
  }
  read(): PressureReading {
    this.reads++;
    return this.current;
  }
  stop(): void {
    this.stopped++;
  }
}

describe('judge', () => {
  it('finds no pressure when no limit is set, whatever the readings', () => {
    const r = reading({
      eventLoopDelayMs: 1e6,
      eventLoopUtilization: 1,
      heapUsedBytes: 1e12,
      rssBytes: 1e12,
    });
    expect(judge(NO_LIMITS, r)).toBeUndefined();
  });

  it('names the event-loop delay when the p99 delay is above its limit, not at it', () => {
    const limits = { ...NO_LIMITS, maxEventLoopDelayMs: 100 };
    expect(judge(limits, reading({ eventLoopDelayMs: 100 }))).toBeUndefined();
    expect(judge(limits, reading({ eventLoopDelayMs: 100.5 }))).toBe('event-loop-delay');
  });

  it('names event-loop utilization above its limit', () => {
    const limits = { ...NO_LIMITS, maxEventLoopUtilization: 0.9 };
    expect(judge(limits, reading({ eventLoopUtilization: 0.9 }))).toBeUndefined();
    expect(judge(limits, reading({ eventLoopUtilization: 0.95 }))).toBe('event-loop-utilization');
  });

  it('names the heap above a byte limit or above a share of the heap limit', () => {
    expect(judge({ ...NO_LIMITS, maxHeapUsedBytes: 1000 }, reading({ heapUsedBytes: 1001 }))).toBe(
      'heap',
    );
    const ratio = { ...NO_LIMITS, maxHeapUsedRatio: 0.5 };
    expect(judge(ratio, reading({ heapUsedBytes: 50, heapLimitBytes: 100 }))).toBeUndefined();
    expect(judge(ratio, reading({ heapUsedBytes: 51, heapLimitBytes: 100 }))).toBe('heap');
  });

  it('names the resident set above its limit', () => {
    expect(judge({ ...NO_LIMITS, maxRssBytes: 10 }, reading({ rssBytes: 11 }))).toBe('rss');
  });

  it('reports the first broken limit in a fixed order: delay, utilization, heap, rss', () => {
    const limits = {
      maxEventLoopDelayMs: 1,
      maxEventLoopUtilization: 0.1,
      maxHeapUsedBytes: 1,
      maxHeapUsedRatio: undefined,
      maxRssBytes: 1,
    };
    const all = reading({
      eventLoopDelayMs: 2,
      eventLoopUtilization: 0.5,
      heapUsedBytes: 2,
      rssBytes: 2,
    });
    expect(judge(limits, all)).toBe('event-loop-delay');
    expect(judge(limits, { ...all, eventLoopDelayMs: 0 })).toBe('event-loop-utilization');
    expect(judge(limits, { ...all, eventLoopDelayMs: 0, eventLoopUtilization: 0 })).toBe('heap');
  });
});

describe('PressureMonitor', () => {
  const limits = { ...NO_LIMITS, maxEventLoopDelayMs: 50 };

  it('judges a reading once per interval and keeps the verdict until the next one', async () => {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new PressureMonitor(limits, 1000, clock, probe);
    monitor.start();
    probe.current = reading({ eventLoopDelayMs: 80 });
    expect(monitor.reason).toBeUndefined();
    await clock.advance(999);
    expect(monitor.reason).toBeUndefined();
    await clock.advance(1);
    expect(monitor.reason).toBe('event-loop-delay');
    probe.current = reading({ eventLoopDelayMs: 10 });
    await clock.advance(999);
    expect(monitor.reason).toBe('event-loop-delay');
    await clock.advance(1);
    expect(monitor.reason).toBeUndefined();
    expect(probe.reads).toBe(2);
    monitor.stop();
  });

  it('samples on one timer that never keeps the process alive', () => {
    const clock = new FakeClock();
    const monitor = new PressureMonitor(limits, 500, clock, new FakeProbe());
    monitor.start();
    monitor.start();
    expect(clock.pendingTimers).toBe(1);
    expect(clock.referencedTimers).toBe(0);
    monitor.stop();
  });

  it('stops sampling, clears its verdict and stops the probe when stopped', async () => {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new PressureMonitor(limits, 100, clock, probe);
    monitor.start();
    probe.current = reading({ eventLoopDelayMs: 500 });
    await clock.advance(100);
    expect(monitor.reason).toBe('event-loop-delay');
    monitor.stop();
    monitor.stop();
    expect(monitor.reason).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    expect(probe.stopped).toBe(1);
    await clock.advance(1000);
    expect(probe.reads).toBe(1);
  });
});

describe('ProcessProbe', () => {
  it('measures only what a limit asks for', () => {
    const probe = new ProcessProbe({ ...NO_LIMITS, maxHeapUsedRatio: 0.9 });
    probe.start();
    const r = probe.read();
    probe.stop();
    expect(r.heapUsedBytes).toBeGreaterThan(0);
    expect(r.heapLimitBytes).toBeGreaterThan(r.heapUsedBytes);
    expect(r.rssBytes).toBe(0);
    expect(r.eventLoopDelayMs).toBe(0);
  });

  it('reads event-loop delay, utilization and the resident set of this process', () => {
    const probe = new ProcessProbe({
      ...NO_LIMITS,
      maxEventLoopDelayMs: 1000,
      maxEventLoopUtilization: 1,
      maxRssBytes: 1e12,
    });
    probe.start();
    const r = probe.read();
    probe.stop();
    expect(r.eventLoopDelayMs).toBeGreaterThanOrEqual(0);
    expect(r.eventLoopUtilization).toBeGreaterThanOrEqual(0);
    expect(r.eventLoopUtilization).toBeLessThanOrEqual(1);
    expect(r.rssBytes).toBeGreaterThan(0);
  });
});
