/**
 * One sync of the daemon, without the scheduling: take the store's snapshot, compile the
 * intent of each family, hand it to that family's dataplane. `kpx run` drives it from the
 * bounded-frequency runner; the benchmark drives it directly, so both measure one code path.
 */
import type { ProxyConfig, RulesetIntent } from '../compile/intent.js';
import { IncrementalCompiler } from '../compile/incremental.js';
import type { Dataplane, SyncReport } from '../dataplane/types.js';
import type { IPFamily, Problem } from '../model/types.js';
import type { ClusterStore } from './cluster-store.js';

export interface FamilySync {
  family: IPFamily;
  compileMs: number;
  /** null when the dataplane failed; `error` says why. */
  report: SyncReport | null;
  error: Error | null;
  intent: RulesetIntent;
}

export interface SyncOutcome {
  full: boolean;
  /** Taking the snapshot out of the store. */
  snapshotMs: number;
  families: FamilySync[];
  /** Compile problems (conflicts, node address fallbacks) of this sync. */
  problems: Problem[];
  serviceChanges: number;
  endpointChanges: number;
  ok: boolean;
  /** Why a probe made this sync full (see Dataplane.drifted), or null. */
  drift: string | null;
}

export interface SyncEngineOptions {
  store: ClusterStore;
  config: ProxyConfig;
  dataplanes: Dataplane[];
  now?: () => number;
}

export class SyncEngine {
  private readonly now: () => number;
  private needFull = true;
  /**
   * A compile threw (a kpx bug): the compilers may hold half of a delta, and the store has
   * moved past it, so the next sync compiles everything from the store's whole state.
   */
  private needRebuild = false;
  /** One per dataplane, in order: unchanged services keep their intent objects across syncs. */
  private readonly compilers: IncrementalCompiler[];

  constructor(private readonly opts: SyncEngineOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.compilers = opts.dataplanes.map((d) => new IncrementalCompiler(opts.config, d.family));
  }

  /**
   * `full` rewrites everything; `probe` first asks each dataplane whether its rules were
   * changed behind its back, and makes the sync full if one says so.
   */
  async sync(opts: { full?: boolean; probe?: boolean } = {}): Promise<SyncOutcome> {
    const started = this.now();
    const snapshot = this.opts.store.take();
    const state = snapshot.state ?? (this.needRebuild ? this.opts.store.state() : null);
    const snapshotMs = this.now() - started;
    let full = this.needFull || opts.full === true || state !== null;
    let drift: string | null = null;
    if (!full && opts.probe === true) {
      const reasons: string[] = [];
      for (const dataplane of this.opts.dataplanes) {
        const reason = await dataplane.drifted();
        if (reason !== null) reasons.push(`IPv${dataplane.family}: ${reason}`);
      }
      drift = reasons.length > 0 ? reasons.join('; ') : null;
      full = drift !== null;
    }

    const families: FamilySync[] = [];
    const problems: Problem[] = [];
    for (const [i, dataplane] of this.opts.dataplanes.entries()) {
      const t0 = this.now();
      // Compiling is pure, so a full sync (drift repair) can reuse what is compiled; only a
      // snapshot of everything (first take, Node change) recompiles it all.
      const compiler = this.compilers[i]!;
      let compiled;
      try {
        compiled = state !== null ? compiler.rebuild(state) : compiler.update(snapshot.delta!);
      } catch (error) {
        this.needRebuild = true;
        throw error;
      }
      const compileMs = this.now() - t0;
      // Only the first family reports compile problems: they are the same cluster objects.
      if (families.length === 0) problems.push(...compiled.problems);
      try {
        const report = await dataplane.sync(compiled.intent, { full });
        families.push({ family: dataplane.family, compileMs, report, error: null, intent: compiled.intent });
      } catch (error) {
        families.push({ family: dataplane.family, compileMs, report: null, error: error as Error, intent: compiled.intent });
      }
    }
    this.needRebuild = false;
    const ok = families.every((f) => f.error === null);
    this.needFull = !ok;
    return { full, snapshotMs, families, problems, serviceChanges: snapshot.serviceChanges, endpointChanges: snapshot.endpointChanges, ok, drift };
  }
}
