/**
 * What one run of the benchmark writes to results.json: an array of records, one per
 * backend × size × scenario. Scripts read these fields; keep them stable.
 */
import type { ProxyMode } from '../../src/dataplane/types.js';

export type Backend = ProxyMode;
export const BACKENDS: readonly Backend[] = ['iptables', 'nftables'];

export const SYNC_SCENARIOS = ['cold', 'one-endpoint', 'one-service', 'churn-1pct', 'resync-noop'] as const;
export type SyncScenario = (typeof SYNC_SCENARIOS)[number];

interface RecordBase {
  backend: Backend;
  /** Services in the generated cluster (each with `endpoints` endpoints). */
  services: number;
  endpoints: number;
}

/** One sync through the daemon's code path (ClusterStore → SyncEngine → Dataplane). */
export interface SyncRecord extends RecordBase {
  scenario: SyncScenario;
  /** Feeding this scenario's watch events to the ClusterStore (validation, normalization). */
  modelMs: number;
  /** IncrementalCompiler: cluster state → backend-neutral intent (changed services only, after the first sync). */
  compileMs: number;
  /** The dataplane's lowering to its IR plus its diff against the last applied state. */
  planMs: number;
  /** Producing the batch text. */
  renderMs: number;
  /** The kernel tool (iptables-restore / nft) in the node namespace, wall time. */
  applyMs: number;
  /** SyncEngine.sync wall time: snapshot + compile + plan + render + apply (not modelMs). */
  totalMs: number;
  /** Whether the dataplane wrote everything (first sync, periodic resync) or a partial batch. */
  full: boolean;
  batchBytes: number;
  written: number;
  deleted: number;
  /** Syncs measured; the one with the median totalMs is reported. */
  runs: number;
  /**
   * iptables `cold` only: a flush-mode `iptables-nft-restore` of the same complete ruleset
   * into the emptied namespace (median of 3), the floor a cold sync is compared with.
   */
  flushRestoreMs?: number;
  /**
   * `cold` measured in several processes (`--cold-runs`): kpx's share (compileMs + planMs +
   * renderMs) of each run, ascending; the record's other fields are the median-total run's.
   */
  coldSharesMs?: number[];
  /** Peak resident set of the benchmark process so far (process.resourceUsage().maxRSS). */
  peakRssBytes: number;
  /** V8 heap size (heapTotal) after the scenario, before GC: follows the heap's high-water mark. */
  heapTotalBytes: number;
  /** V8 heap still in use after a forced GC: what the daemon's state costs to keep. */
  heapUsedBytes: number;
}

/**
 * TCP connection set-up time from a client namespace through the node namespace that holds
 * the rules: to service ClusterIPs (first packet DNATed), and to pod IPs directly (first
 * packet crosses the same dispatch without matching a service).
 */
export interface ConnectRecord extends RecordBase {
  scenario: 'connect';
  /** Distinct ClusterIPs connected to, spread evenly over the ruleset's service order. */
  targets: number;
  /** Connections measured per kind (after a warm-up round). */
  connections: number;
  serviceConnectMedianUs: number;
  serviceConnectP90Us: number;
  podConnectMedianUs: number;
  podConnectP90Us: number;
  /** Connections that did not complete within the timeout (0 unless the ruleset is broken). */
  failures: number;
}

export type BenchRecord = SyncRecord | ConnectRecord;

export function isSyncRecord(r: BenchRecord): r is SyncRecord {
  return r.scenario !== 'connect';
}
