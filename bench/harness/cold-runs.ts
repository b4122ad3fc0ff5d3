/**
 * `--cold-runs N`: a cold sync is the first of its process (V8 not yet warmed up, an empty
 * table), so it is measured once per worker process, and one sample on a shared machine
 * varies by ±15–25%. With N runs of a (backend, size) there are N cold records; one stays,
 * as for the repeated scenarios: the run with the median total, with `runs` N and kpx's
 * share of every run alongside.
 */
import { isSyncRecord, type BenchRecord, type SyncRecord } from './records.js';
import { medianItem } from './stats.js';

const pairKey = (r: SyncRecord) => `${r.backend} ${r.services} ${r.endpoints}`;

/** kpx's own part of a sync: everything but the kernel tool. */
export function kpxShareMs(r: Pick<SyncRecord, 'compileMs' | 'planMs' | 'renderMs'>): number {
  return Math.round((r.compileMs + r.planMs + r.renderMs) * 1000) / 1000;
}

/** The records with each pair's cold runs merged into one, where the pair's last cold run was. */
export function mergeColdRuns(records: readonly BenchRecord[]): BenchRecord[] {
  const colds = new Map<string, SyncRecord[]>();
  for (const r of records) {
    if (!isSyncRecord(r) || r.scenario !== 'cold') continue;
    const runs = colds.get(pairKey(r));
    if (runs) runs.push(r);
    else colds.set(pairKey(r), [r]);
  }
  return records.flatMap((r): BenchRecord[] => {
    if (!isSyncRecord(r) || r.scenario !== 'cold') return [r];
    const runs = colds.get(pairKey(r)) ?? [r];
    if (runs.length === 1) return [r];
    if (r !== runs[runs.length - 1]) return [];
    const pick = medianItem(runs, (run) => run.totalMs);
    return [{ ...pick, runs: runs.length, coldSharesMs: runs.map(kpxShareMs).sort((a, b) => a - b) }];
  });
}
