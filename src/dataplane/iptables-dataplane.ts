/**
 * The iptables mode's dataplane for one IP family: lowers the intent, plans a partial or
 * full batch against what it last applied (backend/iptables/plan.ts) and hands it to
 * `iptables-restore --noflush --wait`. Only KUBE-* chains of ours and the jumps into them
 * are written or deleted; other agents' chains and rules in nat and filter are never
 * flushed (no flush-mode restore, no save-and-restore of their rules).
 */
import type { Logger } from 'pino';
import type { RulesetIntent } from '../compile/intent.js';
import { lowerIptables } from '../backend/iptables/lower.js';
import { planIptablesSync, renderSyncBatch, renderSyncBatches, TABLES, type IptablesSyncPlan } from '../backend/iptables/plan.js';
import { renderIptablesRestore } from '../backend/iptables/render.js';
import type { IptablesJump, IptablesRuleset, IptablesTable } from '../backend/iptables/ruleset.js';
import type { Exec } from './exec.js';
import { detectIptablesFlavour, iptablesTools, type IptablesFlavour } from './iptables-flavour.js';
import { applyRestoreBatches, cleanupIptables, listChains, restoreChunkSize } from './iptables-apply.js';
import type { Dataplane, SyncOptions, SyncReport } from './types.js';

export { cleanupIptables } from './iptables-apply.js';

export interface IptablesDataplaneOptions {
  exec: Exec;
  family: 4 | 6;
  /** Detected (iptables-wrappers' rules) when not given. */
  flavour?: IptablesFlavour;
  logger?: Logger;
  /** Chains per restore run; default restoreChunkSize(flavour) (null: always one batch). */
  maxChainsPerBatch?: number | null;
}

class IptablesDataplane implements Dataplane {
  readonly mode = 'iptables' as const;
  private last: IptablesRuleset | null = null;
  /**
   * False at start and after any failure: the kernel may then hold chains we do not know
   * of (kube-proxy's, an earlier kpx's, a half-applied chunked sync), so the next full sync
   * lists them (listChains). Other full syncs rely on `last` for stale chains, as listing
   * costs up to seconds at 10k services (README.md, "The cold-sync trap").
   */
  private kernelKnown = false;
  private forceFull = true;
  private readonly tools: ReturnType<typeof iptablesTools>;

  constructor(
    private readonly exec: Exec,
    readonly family: 4 | 6,
    private readonly flavour: IptablesFlavour,
    private readonly logger: Logger | undefined,
    private readonly maxChainsPerBatch: number | null,
  ) {
    this.tools = iptablesTools(flavour, family);
  }

  async sync(intent: RulesetIntent, opts: SyncOptions): Promise<SyncReport> {
    const full = opts.full || this.forceFull || this.last === null;
    const t0 = performance.now();
    const desired = lowerIptables(intent);
    const t1 = performance.now();

    const existingChains = full && !this.kernelKnown ? await this.existingChains() : undefined;
    const missingJumps = full ? await this.missingJumps(desired.jumps) : [];
    const t2 = performance.now();
    const plan = planIptablesSync(this.last, desired, { full, existingChains, missingJumps });
    const t3 = performance.now();
    const batches = this.render(plan);
    const t4 = performance.now();

    try {
      await applyRestoreBatches(this.exec, this.tools.restore, batches);
    } catch (error) {
      this.forceFull = true;
      this.kernelKnown = false;
      throw error;
    }
    const t5 = performance.now();
    this.last = desired;
    this.forceFull = false;
    this.kernelKnown = true;
    this.logger?.debug(
      { family: this.family, full, written: plan.written, deleted: plan.deleted, batches: batches.length, jumpsAdded: missingJumps.length },
      'iptables sync applied',
    );
    return {
      full,
      lowerMs: t1 - t0,
      planMs: t3 - t2,
      renderMs: t4 - t3,
      // Reading the kernel (iptables-save, -C) is kernel-tool time as well.
      applyMs: t5 - t4 + (t2 - t1),
      batchBytes: batches.reduce((n, b) => n + Buffer.byteLength(b), 0),
      written: plan.written,
      deleted: plan.deleted,
      problems: desired.problems,
      ruleCounts: plan.ruleCounts,
    };
  }

  /**
   * The jumps from built-in chains, `-C`'d as on a full sync: a firewall reload or an
   * `iptables -F` of a built-in chain removes them (what kube-proxy's canary chain detects).
   */
  async drifted(): Promise<string | null> {
    if (this.last === null || this.forceFull) return null;
    const missing = await this.missingJumps(this.last.jumps);
    if (missing.length === 0) return null;
    return `${missing.length} of ${this.last.jumps.length} jumps from built-in chains are missing (first: -t ${missing[0]!.table} ${missing[0]!.chain})`;
  }

  lastApplied(): string | null {
    return this.last === null ? null : renderIptablesRestore(this.last);
  }

  /** iptables-restore runs once per sync: nothing is kept running. */
  close(): void {}

  async cleanup(): Promise<void> {
    this.last = null;
    this.forceFull = true;
    this.kernelKnown = false;
    await cleanupIptables(this.exec, this.family, this.flavour);
  }

  /** One atomic batch, except where iptables-nft needs chunks (README.md, "The cold-sync trap"). */
  private render(plan: IptablesSyncPlan): string[] {
    const chunk = this.maxChainsPerBatch;
    if (chunk !== null && plan.written + plan.deleted > chunk) return renderSyncBatches(plan, chunk);
    return [renderSyncBatch(plan)];
  }

  private async existingChains(): Promise<Record<IptablesTable, string[]>> {
    const found: Record<IptablesTable, string[]> = { filter: [], nat: [] };
    for (const table of TABLES) {
      const chains = await listChains(this.exec, this.flavour, this.family, table);
      if (chains === null) {
        // Not fatal: stale chains of others stay until a later full sync can list them.
        this.logger?.warn({ family: this.family, table }, 'could not list existing chains; leftovers are kept for now');
        continue;
      }
      found[table] = chains;
    }
    return found;
  }

  /** kube-proxy's EnsureRule: `-C` each jump; a missing one is inserted by the batch. */
  private async missingJumps(jumps: IptablesJump[]): Promise<IptablesJump[]> {
    const missing: IptablesJump[] = [];
    for (const jump of jumps) {
      const result = await this.exec([this.tools.cmd, '-w', '-t', jump.table, '-C', jump.chain, ...jump.args]);
      // 1: no such rule; 2 (iptables-nft) when the target chain does not exist yet.
      if (result.code !== 0) missing.push(jump);
    }
    return missing;
  }
}

export async function createIptablesDataplane(opts: IptablesDataplaneOptions): Promise<Dataplane> {
  const flavour = opts.flavour ?? (await detectIptablesFlavour(opts.exec, opts.family));
  const chunk = opts.maxChainsPerBatch === undefined ? restoreChunkSize(flavour) : opts.maxChainsPerBatch;
  return new IptablesDataplane(opts.exec, opts.family, flavour, opts.logger, chunk);
}
