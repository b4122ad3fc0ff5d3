/** `--cold-runs`: the extra cold-only jobs (jobs.ts) and how their records merge (cold-runs.ts). */
import { describe, expect, it } from 'vitest';
import { mergeColdRuns } from '../../bench/harness/cold-runs.js';
import { plannedJobs, type RunOptions } from '../../bench/harness/jobs.js';
import { isSyncRecord, type SyncRecord, type SyncScenario } from '../../bench/harness/records.js';
import { renderMarkdown } from '../../bench/harness/report-markdown.js';

function record(backend: 'iptables' | 'nftables', scenario: SyncScenario, totalMs: number, shareMs = 0, services = 2000): SyncRecord {
  return {
    backend, services, endpoints: 10, scenario,
    modelMs: 0, compileMs: shareMs / 2, planMs: shareMs / 4, renderMs: shareMs / 4, applyMs: totalMs - shareMs, totalMs,
    full: scenario === 'cold' || scenario === 'resync-noop', batchBytes: 1, written: 1, deleted: 0, runs: 1,
    peakRssBytes: totalMs, heapTotalBytes: 0, heapUsedBytes: 0,
  };
}

const options: RunOptions = {
  sizes: [1000, 2000], endpoints: 10, backends: ['iptables', 'nftables'], seed: 1, repeat: 3, coldRuns: 3,
  impl: 'kpx', connectSizes: [], connectTargets: 0, connectRounds: 0,
};

describe('benchmark cold runs', () => {
  it('plans the extra cold runs as cold-only jobs before each full job', () => {
    const jobs = plannedJobs(options).map((j) => (j.kind === 'sync' ? `${j.backend} ${j.services}${j.coldOnly ? ' cold' : ''}` : j.kind));
    expect(jobs).toEqual([
      'iptables 1000 cold', 'iptables 1000 cold', 'iptables 1000',
      'nftables 1000 cold', 'nftables 1000 cold', 'nftables 1000',
      'iptables 2000 cold', 'iptables 2000 cold', 'iptables 2000',
      'nftables 2000 cold', 'nftables 2000 cold', 'nftables 2000',
    ]);
    expect(plannedJobs({ ...options, coldRuns: 1 }).every((j) => j.kind === 'sync' && !j.coldOnly)).toBe(true);
  });

  it('keeps the median-total cold run of each pair, in place of the full job\'s, with every run\'s share', () => {
    const merged = mergeColdRuns([
      record('nftables', 'cold', 3000, 400),
      record('nftables', 'cold', 2800, 300),
      record('iptables', 'cold', 9000, 900),
      record('nftables', 'cold', 2500, 500),
      record('nftables', 'one-endpoint', 7),
    ]);
    const sync = merged.filter(isSyncRecord);
    expect(sync.map((r) => [r.backend, r.scenario, r.runs, r.totalMs])).toEqual([
      ['iptables', 'cold', 1, 9000],
      ['nftables', 'cold', 3, 2800],
      ['nftables', 'one-endpoint', 1, 7],
    ]);
    const cold = sync[1]!;
    // The other fields are that run's own, not a mixture.
    expect(cold.peakRssBytes).toBe(2800);
    expect(cold.coldSharesMs).toEqual([300, 400, 500]);
    expect(sync[0]!.coldSharesMs).toBeUndefined();
  });

  it('keeps pairs of different sizes apart and says in the report how many runs a cold figure has', () => {
    const merged = mergeColdRuns([
      record('nftables', 'cold', 1000, 100, 1000),
      record('nftables', 'cold', 1100, 120, 1000),
      record('nftables', 'cold', 3000, 380, 10000),
    ]);
    expect(merged.filter(isSyncRecord).map((r) => [r.services, r.runs])).toEqual([
      [1000, 2],
      [10000, 1],
    ]);
    const markdown = renderMarkdown(merged, 'test');
    expect(markdown).toContain('- nftables, 1000 × 10: median 110 ms over 2 runs (100–120 ms)');
    expect(markdown).not.toContain('10000 × 10: median');
  });
});
