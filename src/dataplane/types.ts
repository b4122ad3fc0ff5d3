/**
 * The contract between the daemon's sync loop and a proxy mode's dataplane. One Dataplane
 * programs one IP family. It keeps what it last applied in memory and turns the next desired
 * intent into one atomic batch (a partial one unless `full`); it never reads the whole
 * ruleset back on a partial sync.
 */
import type { RulesetIntent } from '../compile/intent.js';
import type { Problem } from '../model/types.js';

export type ProxyMode = 'iptables' | 'nftables';

export interface SyncOptions {
  /**
   * Rewrite everything kpx owns and delete whatever of ours (or kube-proxy's) is not wanted:
   * the first sync, every --sync-period, after any failure. Repairs drift.
   */
  full: boolean;
}

/** Milliseconds per stage and what the batch held, for logs, metrics and the benchmark. */
export interface SyncReport {
  full: boolean;
  /** Lowering the intent to the backend IR. */
  lowerMs: number;
  /** Diffing against the last applied state. */
  planMs: number;
  /** Producing the batch text. */
  renderMs: number;
  /** The kernel tool(s): iptables-restore / nft, wall time. */
  applyMs: number;
  /** Size of the batch(es) sent to the kernel tool(s). */
  batchBytes: number;
  /** Chains (iptables) or chains + elements (nftables) written, deleted. */
  written: number;
  deleted: number;
  /** Parts of the intent the backend refused (left out of the batch). */
  problems: Problem[];
  /** iptables mode: rules kpx owns after the sync, and rules written by it, per table. */
  ruleCounts?: Record<'filter' | 'nat', { total: number; written: number }>;
}

/** Thrown by `sync` when the kernel refused the batch; the previous rules are still in place. */
export class ApplyError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface Dataplane {
  readonly mode: ProxyMode;
  readonly family: 4 | 6;
  /**
   * Programs `intent`. Resolves with a report once the kernel accepted the batch; the
   * in-memory "last applied" state advances only then. Throws ApplyError (or an exec
   * error) otherwise, and the next call must then be full.
   */
  sync(intent: RulesetIntent, opts: SyncOptions): Promise<SyncReport>;
  /**
   * A cheap check, between full syncs, that what this dataplane applied is still in the
   * kernel: the reason it is not, or null (also when nothing was applied yet). It reads no
   * whole ruleset; drift it cannot see is repaired by the next full sync.
   */
  drifted(): Promise<string | null>;
  /** The last applied ruleset, complete, as the kernel tool's input text (/debug/ruleset). */
  lastApplied(): string | null;
  /** Removes everything this mode installs for this family (kpx's and kube-proxy's), nothing else. */
  cleanup(): Promise<void>;
  /** Stops what the dataplane keeps running (the nft session); the rules stay. */
  close(): void;
}
