import { describe, expect, it } from 'vitest';
import { LabelGuard, OTHER_LABEL_VALUE } from './label-guard.js';
import { CounterFamily, GaugeFamily, HistogramFamily, isFamily } from './metric-family.js';

describe('HistogramFamily', () => {
  it('counts a value equal to a bound in that bucket (le means less or equal)', async () => {
    const family = new HistogramFamily('h_seconds', 'help', ['op'], [0.1, 1]);
    const cell = family.at(['a']);
    [0.1, 0.05, 1, 1.5, 10].forEach((v) => cell.observe(v));
    const { values } = await family.get();
    expect(values.map((v) => [v.metricName, v.labels.le, v.value])).toEqual([
      ['h_seconds_bucket', 0.1, 2],
      ['h_seconds_bucket', 1, 3],
      ['h_seconds_bucket', '+Inf', 5],
      ['h_seconds_sum', undefined, 12.65],
      ['h_seconds_count', undefined, 5],
    ]);
  });

  it('zeroes buckets, sum and count on reset, keeping the series', async () => {
    const family = new HistogramFamily('h_seconds', 'help', [], [1]);
    family.at([]).observe(0.5);
    family.reset();
    expect((await family.get()).values.map((v) => v.value)).toEqual([0, 0, 0, 0]);
  });
});

describe('CounterFamily and GaugeFamily', () => {
  it('keep one series per label values, labelled by name', async () => {
    const family = new CounterFamily('c_total', 'help', ['a', 'b']);
    family.at(['1', '2']).value++;
    family.at(['1', '2']).value++;
    family.at(['1', '3']).value++;
    expect(await family.get()).toEqual({
      name: 'c_total',
      help: 'help',
      type: 'counter',
      aggregator: 'sum',
      values: [
        { value: 2, labels: { a: '1', b: '2' } },
        { value: 1, labels: { a: '1', b: '3' } },
      ],
    });
  });

  it('runs a gauge’s collectors before each read, until stopped', async () => {
    const family = new GaugeFamily('g', 'help', []);
    const cell = family.at([]);
    let live = 3;
    const stop = family.addCollector(() => (cell.value = live));
    expect((await family.get()).values[0]!.value).toBe(3);
    live = 4;
    stop();
    expect((await family.get()).values[0]!.value).toBe(3);
    family.delete([]);
    expect((await family.get()).values).toEqual([]);
  });

  it('are recognised across copies by a registered symbol', () => {
    expect(isFamily(new GaugeFamily('g', 'h', []))).toBe(true);
    expect(isFamily({ name: 'g' })).toBe(false);
  });
});

describe('LabelGuard', () => {
  it('admits values up to its limit, then folds new ones into "other"', () => {
    const guard = new LabelGuard(2);
    expect(['a', 'b', 'c', 'a', 'b', 'd'].map((v) => guard.admit(v))).toEqual([
      'a',
      'b',
      OTHER_LABEL_VALUE,
      'a',
      'b',
      OTHER_LABEL_VALUE,
    ]);
  });

  it('folds values longer than 128 characters without using up the limit', () => {
    const guard = new LabelGuard(1);
    expect(guard.admit('x'.repeat(129))).toBe(OTHER_LABEL_VALUE);
    expect(guard.admit('short')).toBe('short');
  });
});
