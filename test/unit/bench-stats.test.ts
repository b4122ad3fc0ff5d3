/** The benchmark's order statistics (bench/harness/stats.ts). */
import { describe, expect, it } from 'vitest';
import { median, medianItem, quantile } from '../../bench/harness/stats.js';

describe('benchmark statistics', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the input order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('reads quantiles off the sorted values without changing the input', () => {
    const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect(quantile(values, 0.5)).toBe(60);
    expect(quantile(values, 0.9)).toBe(100);
    expect(quantile(values, 1)).toBe(100);
    expect(values[0]).toBe(50);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('picks the item with the median value, the lower middle one of an even count', () => {
    const runs = [{ run: 1, ms: 30 }, { run: 2, ms: 10 }, { run: 3, ms: 20 }, { run: 4, ms: 40 }];
    expect(medianItem(runs.slice(0, 3), (r) => r.ms).run).toBe(3);
    expect(medianItem(runs, (r) => r.ms).run).toBe(3);
    expect(() => medianItem([], (r: { ms: number }) => r.ms)).toThrow('no items');
  });
});
