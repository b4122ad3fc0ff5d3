import { describe, expect, it } from 'vitest';
import { formatDuration, parseGoDuration } from '../../src/config/duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['1s', 1000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['2h22m', 8_520_000],
    ['100us', 0.1],
    ['100µs', 0.1],
    ['1000000ns', 1],
    ['.5s', 500],
    ['-1s', -1000],
    ['+2m', 120_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '30', '1h2', 's', '1 s', '1d', '1.s.', '--1s', 'ms', '1sm'])('refuses %j', (text) => {
    expect(parseGoDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [-1000, '-1s'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
