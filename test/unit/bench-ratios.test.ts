/** The benchmark CI check's decisions (bench/harness/ratios.ts) on hand-made records. */
import { describe, expect, it } from 'vitest';
import { checkFlushRestore, checkRatios, medianChecks } from '../../bench/harness/ratios.js';
import type { SyncRecord, SyncScenario } from '../../bench/harness/records.js';

function record(backend: 'iptables' | 'nftables', scenario: SyncScenario, totalMs: number, extra: Partial<SyncRecord> = {}): SyncRecord {
  return {
    backend, services: 2000, endpoints: 10, scenario,
    modelMs: 0, compileMs: 0, planMs: 0, renderMs: 0, applyMs: totalMs, totalMs,
    full: scenario === 'cold' || scenario === 'resync-noop', batchBytes: 1, written: 1, deleted: 0, runs: 1,
    peakRssBytes: 0, heapTotalBytes: 0, heapUsedBytes: 0, ...extra,
  };
}

describe('benchmark ratios', () => {
  it('judges each scenario by its share of the cold sync at the same scale and backend', () => {
    const checks = checkRatios([
      record('iptables', 'cold', 1000),
      record('iptables', 'one-endpoint', 49),
      record('iptables', 'one-service', 51),
      record('iptables', 'resync-noop', 1999),
    ]);
    expect(checks.map((c) => [c.scenario, c.pass])).toEqual([
      ['one-endpoint', true],
      ['one-service', false],
      ['resync-noop', true],
    ]);
    expect(checks[0]!.ratio).toBeCloseTo(0.049);
  });

  it('holds nftables partial syncs to 1% of a cold sync (the nft session), on top of the shared rules', () => {
    const checks = checkRatios([
      record('nftables', 'cold', 1000),
      record('nftables', 'one-endpoint', 9),
      record('nftables', 'one-service', 20),
      record('nftables', 'resync-noop', 900),
    ]);
    expect(checks.map((c) => [c.scenario, c.limit, c.pass])).toEqual([
      ['one-endpoint', 0.05, true],
      ['one-service', 0.05, true],
      ['one-endpoint', 0.01, true],
      ['one-service', 0.01, false],
      ['resync-noop', 2, true],
    ]);
  });

  it('a missing scenario fails its check instead of passing silently', () => {
    const checks = checkRatios([record('iptables', 'cold', 1000), record('iptables', 'one-endpoint', 10)]);
    expect(checks.filter((c) => !c.pass).map((c) => c.scenario)).toEqual(['one-service', 'resync-noop']);
  });

  it('compares the iptables cold sync with a flush-mode restore of the same rules', () => {
    expect(checkFlushRestore([record('iptables', 'cold', 3000, { flushRestoreMs: 2000 })])).toMatchObject([{ pass: true, ratio: 1.5 }]);
    expect(checkFlushRestore([record('iptables', 'cold', 4100, { flushRestoreMs: 2000 })])).toMatchObject([{ pass: false }]);
    expect(checkFlushRestore([record('iptables', 'cold', 3000)])).toMatchObject([{ pass: false, detail: 'no flush-mode measurement' }]);
    expect(checkFlushRestore([record('nftables', 'cold', 3000)])).toEqual([]);
  });

  it('judges each ratio of several runs by its median, so one slow run alone cannot fail it', () => {
    const run = (cold: number, flush: number) => checkFlushRestore([record('iptables', 'cold', cold, { flushRestoreMs: flush })]);
    const oneSlow = medianChecks([run(2600, 2000), run(4400, 2000), run(2800, 2000)]);
    expect(oneSlow).toMatchObject([{ pass: true, ratio: 1.4 }]);
    expect(oneSlow[0]!.detail).toContain('1.300, 2.200, 1.400 in 3 run(s)');
    // A regression shows in every run, so the median fails too.
    expect(medianChecks([run(4400, 2000), run(2600, 2000), run(4200, 2000)])).toMatchObject([{ pass: false, ratio: 2.1 }]);
    expect(medianChecks([run(2000, 2000), run(3000, 2000)])).toMatchObject([{ pass: true, ratio: 1.25 }]);
  });

  it('keeps one check per ratio across runs, and fails a ratio some run did not measure', () => {
    const full = [record('nftables', 'cold', 1000), record('nftables', 'one-endpoint', 5), record('nftables', 'one-service', 5), record('nftables', 'resync-noop', 500)];
    const partial = full.filter((r) => r.scenario !== 'resync-noop');
    const checks = medianChecks([checkRatios(full), checkRatios(partial), checkRatios(full)]);
    expect(checks.map((c) => [c.scenario, c.limit, c.pass])).toEqual([
      ['one-endpoint', 0.05, true],
      ['one-service', 0.05, true],
      ['one-endpoint', 0.01, true],
      ['one-service', 0.01, true],
      ['resync-noop', 2, false],
    ]);
    expect(checks[4]!.detail).toMatch(/^not measured in every run/);
  });
});
