/**
 * The CI check's decisions: ratios between scenarios at one scale, per backend, never
 * absolute times (CI machines differ and are shared; a ratio cancels the machine out).
 */
import _ from 'lodash';
import { median } from './stats.js';
import { isSyncRecord, type Backend, type BenchRecord, type SyncRecord, type SyncScenario } from './records.js';

export interface RatioRule {
  scenario: SyncScenario;
  /** Only this backend's records; both when absent. */
  backend?: Backend;
  /** scenario.totalMs / cold.totalMs must stay below this. */
  maxOfCold: number;
  why: string;
}

export const RATIO_RULES: readonly RatioRule[] = [
  { scenario: 'one-endpoint', maxOfCold: 0.05, why: 'an incremental sync writes only what changed' },
  { scenario: 'one-service', maxOfCold: 0.05, why: 'an incremental sync writes only what changed' },
  // A full resync rewrites everything kpx owns (that is how it repairs drift) and runs
  // hourly, so it costs about a cold sync; the limit catches a blow-up such as the
  // iptables-nft --noflush trap (23x a flush-mode restore at 10k, README of the iptables backend).
  // nft -i keeps nft running between partial syncs: 0.35% of a cold sync at 2,000 services
  // (2026-12-04); a one-shot nft per sync costs ~2%, so this catches losing the session.
  { scenario: 'one-endpoint', backend: 'nftables', maxOfCold: 0.01, why: 'a partial nftables batch goes to the running nft session' },
  { scenario: 'one-service', backend: 'nftables', maxOfCold: 0.01, why: 'a partial nftables batch goes to the running nft session' },
  { scenario: 'resync-noop', maxOfCold: 2, why: 'a full resync rewrites everything, but must not cost much more than a cold sync' },
];

/** iptables cold sync / flush-mode iptables-nft-restore of the same rules (issue 5's target). */
export const MAX_COLD_OF_FLUSH_RESTORE = 2;

export interface RatioCheck {
  backend: Backend;
  services: number;
  scenario: SyncScenario;
  /** What the scenario's time is divided by. */
  against: 'cold' | 'flush-mode restore';
  ratio: number;
  limit: number;
  pass: boolean;
  detail: string;
}

function find(records: SyncRecord[], backend: Backend, services: number, scenario: SyncScenario): SyncRecord | undefined {
  return records.find((r) => r.backend === backend && r.services === services && r.scenario === scenario);
}

/** One check per backend × size × rule; a missing record fails its check. */
export function checkRatios(records: BenchRecord[], rules: readonly RatioRule[] = RATIO_RULES): RatioCheck[] {
  const sync = records.filter(isSyncRecord);
  const groups = [...new Map(sync.map((r) => [`${r.backend} ${r.services}`, r])).values()];
  return groups.flatMap(({ backend, services }) => {
    const cold = find(sync, backend, services, 'cold');
    return rules.filter((rule) => rule.backend === undefined || rule.backend === backend).map((rule): RatioCheck => {
      const record = find(sync, backend, services, rule.scenario);
      if (!cold || !record || cold.totalMs <= 0) {
        return { backend, services, scenario: rule.scenario, against: 'cold', ratio: NaN, limit: rule.maxOfCold, pass: false, detail: 'no measurement' };
      }
      const ratio = record.totalMs / cold.totalMs;
      return {
        backend,
        services,
        scenario: rule.scenario,
        against: 'cold',
        ratio,
        limit: rule.maxOfCold,
        pass: ratio < rule.maxOfCold,
        detail: `${record.totalMs.toFixed(1)} ms vs cold ${cold.totalMs.toFixed(1)} ms, batch ${record.batchBytes} vs ${cold.batchBytes} bytes (${rule.why})`,
      };
    });
  });
}

/** One check per iptables size with a flush-mode measurement: cold.totalMs / flushRestoreMs. */
export function checkFlushRestore(records: BenchRecord[]): RatioCheck[] {
  return records.filter(isSyncRecord).flatMap((cold): RatioCheck[] => {
    if (cold.backend !== 'iptables' || cold.scenario !== 'cold') return [];
    const floor = cold.flushRestoreMs;
    const base = { backend: cold.backend, services: cold.services, scenario: cold.scenario, against: 'flush-mode restore' as const, limit: MAX_COLD_OF_FLUSH_RESTORE };
    if (floor === undefined || floor <= 0) return [{ ...base, ratio: NaN, pass: false, detail: 'no flush-mode measurement' }];
    const ratio = cold.totalMs / floor;
    return [{ ...base, ratio, pass: ratio < MAX_COLD_OF_FLUSH_RESTORE, detail: `${cold.totalMs.toFixed(1)} ms vs flush-mode restore ${floor.toFixed(1)} ms (cold sync within 2x of the cheapest load)` }];
  });
}

/**
 * One check per ratio of several independent runs (each a list of checks in the same order
 * as checkRatios and checkFlushRestore make them): the median ratio decides. One run slowed
 * by a busy neighbour then cannot fail CI alone (a single run's iptables cold/flush ratio at
 * 2,000 services ranged 1.03–2.03 over eight runs of 2026-12-04 and 05, limit 2), while a
 * regression, present in every run, still does. A ratio some run could not measure fails.
 */
export function medianChecks(runs: readonly (readonly RatioCheck[])[]): RatioCheck[] {
  const groups = _.groupBy(runs.flat(), (c) => `${c.backend} ${c.services} ${c.scenario} ${c.against} ${c.limit}`);
  return Object.values(groups).map((group) => {
    const first = group[0]!;
    const perRun = group.map((c) => c.ratio);
    const all = `${perRun.map((r) => (Number.isNaN(r) ? 'none' : r.toFixed(3))).join(', ')} in ${runs.length} run(s)`;
    if (perRun.length < runs.length || perRun.some(Number.isNaN)) return { ...first, ratio: NaN, pass: false, detail: `not measured in every run (${all})` };
    const ratio = median(perRun);
    return { ...first, ratio, pass: ratio < first.limit, detail: `median of ${all}; the first: ${first.detail}` };
  });
}

export function formatCheck(c: RatioCheck): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return `${c.pass ? 'ok  ' : 'FAIL'} ${c.backend.padEnd(8)} ${String(c.services).padStart(6)} ${c.scenario.padEnd(12)} ${pct(c.ratio).padStart(6)} of ${c.against} (limit ${pct(c.limit)}): ${c.detail}`;
}
