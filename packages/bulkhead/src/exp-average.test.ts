import { describe, expect, it } from 'vitest';
import { ExpAverage } from './exp-average.js';

describe('ExpAverage', () => {
  it('averages the first samples plainly, so one early outlier does not dominate', () => {
    const avg = new ExpAverage(100, 3);
    expect(avg.add(10)).toBe(10);
    expect(avg.add(40)).toBe(25);
    expect(avg.add(10)).toBe(20);
  });

  it('then decays with factor 2 / (window + 1)', () => {
    const avg = new ExpAverage(3, 1);
    avg.add(10);
    // factor 0.5: halfway towards each new sample.
    expect(avg.add(20)).toBe(15);
    expect(avg.add(25)).toBe(20);
  });

  it('follows only the latest sample with a window of 1', () => {
    const avg = new ExpAverage(1);
    avg.add(10);
    expect(avg.add(30)).toBe(30);
  });

  it('can be overwritten, to let a stale baseline go faster than its window', () => {
    const avg = new ExpAverage(600);
    avg.add(100);
    avg.set(50);
    expect(avg.value).toBe(50);
  });
});
