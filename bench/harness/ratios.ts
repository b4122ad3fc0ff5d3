/**
 * The CI check's decisions: ratios between scenarios at one scale, per backend, never
 * absolute times (CI machines differ and are shared; a ratio cancels the machine out).
 */
import { isSyncRecord, type Backend, type BenchRecord, type SyncRecord, type SyncScenario } from './records.js';

export interface RatioRule {
  scenario: SyncScenario;
  /** scenario.totalMs / cold.totalMs must stay below this. */
  maxOfCold: number;
  why: string;
}

export const RATIO_RULES: readonly RatioRule[] = [
  { scenario: 'one-endpoint', maxOfCold: 0.05, why: 'an incremental sync writes only what changed' },
  { scenario: 'one-service', maxOfCold: 0.05, why: 'an incremental sync writes only what changed' },
  { scenario: 'resync-noop', maxOfCold: 0.5, why: 'a full resync with nothing changed must not cost a cold sync' },
];

export interface RatioCheck {
  backend: Backend;
  services: number;
  scenario: SyncScenario;
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
    return rules.map((rule): RatioCheck => {
      const record = find(sync, backend, services, rule.scenario);
      if (!cold || !record || cold.totalMs <= 0) {
        return { backend, services, scenario: rule.scenario, ratio: NaN, limit: rule.maxOfCold, pass: false, detail: 'no measurement' };
      }
      const ratio = record.totalMs / cold.totalMs;
      return {
        backend,
        services,
        scenario: rule.scenario,
        ratio,
        limit: rule.maxOfCold,
        pass: ratio < rule.maxOfCold,
        detail: `${record.totalMs.toFixed(1)} ms vs cold ${cold.totalMs.toFixed(1)} ms, batch ${record.batchBytes} vs ${cold.batchBytes} bytes (${rule.why})`,
      };
    });
  });
}

export function formatCheck(c: RatioCheck): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return `${c.pass ? 'ok  ' : 'FAIL'} ${c.backend.padEnd(8)} ${String(c.services).padStart(6)} ${c.scenario.padEnd(12)} ${pct(c.ratio).padStart(6)} of cold (limit ${pct(c.limit)}): ${c.detail}`;
}
