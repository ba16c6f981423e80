import { FakeClock } from '@bulwark/testing';
import { describe, expect, it } from 'vitest';
import { healthRegistry } from '../health-registry.js';
import { memoryCheck } from './memory.js';

describe('memoryCheck', () => {
  it('passes under the limits and reports heap used and RSS in bytes', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(memoryCheck({ maxRssBytes: Number.MAX_SAFE_INTEGER }));
    const report = await registry.liveness({ detailed: true });
    expect(report.status).toBe('pass');
    const heap = report.body.checks['memory:heapUsed']?.[0];
    const rss = report.body.checks['memory:rss']?.[0];
    expect(heap?.observedUnit).toBe('bytes');
    expect(heap?.observedValue).toBeGreaterThan(0);
    expect(rss?.observedValue).toBeGreaterThan(0);
  });

  it('fails when heap used exceeds maxHeapUsedBytes', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(memoryCheck({ maxHeapUsedBytes: 1 }));
    const report = await registry.liveness({ detailed: true });
    expect(report.status).toBe('fail');
    expect(report.body.checks['memory:heapUsed']?.[0]?.output).toMatch(
      /^heap used \d+ bytes exceeds 1 bytes$/,
    );
    expect(report.body.checks['memory:rss']?.[0]?.status).toBe('pass');
  });

  it('fails when RSS exceeds maxRssBytes, or warns when told to', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(memoryCheck({ maxRssBytes: 1 }));
    registry.register(memoryCheck({ name: 'mem2', maxRssBytes: 1, whenExceeded: 'warn' }));
    const report = await registry.liveness({ detailed: true });
    expect(report.body.checks['memory:rss']?.[0]?.status).toBe('fail');
    expect(report.body.checks['mem2:rss']?.[0]?.status).toBe('warn');
  });

  it('passes with the default heap limit in a healthy test process', async () => {
    const registry = healthRegistry({ clock: new FakeClock() });
    registry.register(memoryCheck());
    expect((await registry.liveness()).status).toBe('pass');
  });

  it('validates its options', () => {
    expect(() => memoryCheck({ maxHeapUsedBytes: -1 })).toThrow(
      new RangeError('expected maxHeapUsedBytes to be a finite number >= 0, got -1'),
    );
    expect(() => memoryCheck({ maxRssBytes: 'big' as never })).toThrow(
      new TypeError('expected maxRssBytes to be a number >= 0, got "big"'),
    );
  });
});

describe('memoryCheck options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() => memoryCheck({ maxHeapBytes: 1 } as never)).toThrow(
      new TypeError(
        'unknown option "maxHeapBytes" for memoryCheck(); did you mean "maxHeapUsedBytes"? expected one of name, maxHeapUsedBytes, maxRssBytes, whenExceeded, kind, critical, timeoutMs, cacheMs',
      ),
    );
  });
});
