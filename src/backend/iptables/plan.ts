/**
 * The daemon's iptables batch: what to write and delete so that the kernel goes from the
 * last applied ruleset to the desired one, as `iptables-restore --noflush` input. Pure.
 *
 * A chain is written whole (declared, which flushes it under --noflush, then every rule),
 * and only when it is new or differs from the last applied one, or on a full sync. Base
 * chains hold every service's dispatch rules (like kube-proxy's KUBE-SERVICES): an endpoint
 * change leaves them alone, and adding or removing a service edits them rule by rule (see
 * ChainEdit). Chains no longer wanted are flushed and deleted with `-X` in the same
 * batch: iptables-restore (1.8.9) applies a batch in order, so once every referencing chain
 * has been redeclared (flushed) and rewritten, the stale chain is unreferenced when its `-X`
 * comes. A declaration of one of our chains flushes it under --noflush; a built-in chain is
 * never declared, as that would also reset its policy.
 */
import { renderChainDeclaration, renderRule, renderRuleEdit } from './quote.js';
import { BUILTIN_CHAINS, isOwnedChain } from './owned-chains.js';
import type { IptablesChain, IptablesJump, IptablesRuleset, IptablesTable } from './ruleset.js';

export const TABLES: readonly IptablesTable[] = ['filter', 'nat'];

export interface IptablesPlanOptions {
  /** Rewrite every chain and delete whatever of ours is not wanted, including `existingChains`. */
  full: boolean;
  /**
   * Chains found in the kernel (any names; only ours, per owned-chains.ts, are considered),
   * so that a full sync removes leftovers of kube-proxy or of an earlier kpx.
   */
  existingChains?: Partial<Record<IptablesTable, Iterable<string>>>;
  /** Jumps from built-in chains found missing: inserted (at the top, in IR order) after our chains exist. */
  missingJumps?: IptablesJump[];
}

/**
 * A base chain changed only by rules added or removed, the others keeping their order:
 * deletions by rule spec, then insertions at their final 1-based positions, in order.
 * Adding one service to 10k then costs a few lines instead of rewriting KUBE-SERVICES.
 */
export interface ChainEdit {
  table: IptablesTable;
  chain: string;
  deletes: (readonly string[])[];
  inserts: { position: number; args: readonly string[] }[];
}

export interface IptablesSyncPlan {
  /** Base chains of both tables to write whole: all of them on a full sync, else changed ones not edited. */
  base: IptablesChain[];
  /** Changed base chains cheaper to edit than to rewrite (partial syncs only). */
  edits: ChainEdit[];
  /** The complete chain list of every service port whose chains are written. */
  services: IptablesChain[][];
  /** Chains to flush and delete, per table, sorted. */
  stale: Record<IptablesTable, string[]>;
  missingJumps: IptablesJump[];
  /** Chains written / deleted. */
  written: number;
  deleted: number;
  /** Rules kpx owns after the sync, and rules this batch writes, per table. */
  ruleCounts: Record<IptablesTable, { total: number; written: number }>;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameChain(a: IptablesChain, b: IptablesChain): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.table !== b.table || a.rules.length !== b.rules.length) return false;
  for (let i = 0; i < a.rules.length; i++) if (!sameTokens(a.rules[i]!, b.rules[i]!)) return false;
  return true;
}

/**
 * Whether a service port's chains are unchanged. A token-by-token comparison with early
 * exit: no text is built, and an identical chain list (kept by an incremental lowering)
 * is recognised by identity. 10k services × 10 endpoints: see README.md, "Sync batches".
 */
export function sameServiceChains(previous: readonly IptablesChain[] | undefined, desired: readonly IptablesChain[]): boolean {
  if (previous === desired) return true;
  if (previous === undefined || previous.length !== desired.length) return false;
  for (let i = 0; i < desired.length; i++) if (!sameChain(previous[i]!, desired[i]!)) return false;
  return true;
}

const ruleKey = (args: readonly string[]) => args.join('\u0000');

/**
 * The edit turning `applied` into `desired`, or null when a rewrite is due: the kept rules
 * change order, a rule repeats (a delete by spec would be ambiguous), or the edit would be
 * larger than half the chain.
 */
export function chainEdit(applied: IptablesChain, desired: IptablesChain): ChainEdit | null {
  const oldKeys = applied.rules.map(ruleKey);
  const newKeys = desired.rules.map(ruleKey);
  const oldSet = new Set(oldKeys);
  const newSet = new Set(newKeys);
  if (oldSet.size !== oldKeys.length || newSet.size !== newKeys.length) return null;
  const kept = newKeys.filter((k) => oldSet.has(k));
  if (!sameTokens(kept, oldKeys.filter((k) => newSet.has(k)))) return null;
  const deletes = applied.rules.filter((_, i) => !newSet.has(oldKeys[i]!));
  const inserts = desired.rules.flatMap((args, i) => (oldSet.has(newKeys[i]!) ? [] : [{ position: i + 1, args }]));
  if ((deletes.length + inserts.length) * 2 > desired.rules.length) return null;
  return { table: desired.table, chain: desired.name, deletes, inserts };
}

function assertNotBuiltin(name: string): void {
  // The IR only holds KUBE-* names; this guards the one mistake that would reset a policy.
  if (BUILTIN_CHAINS.has(name)) throw new Error(`refusing to declare or delete the built-in chain ${name}`);
}

function ruleTotal(chains: Iterable<IptablesChain>, into: Record<IptablesTable, number>): void {
  for (const chain of chains) into[chain.table] += chain.rules.length;
}

/** The chains of `chains` no longer in `kept`, added to `into` per table. */
function addGone(into: Record<IptablesTable, string[]>, chains: readonly IptablesChain[], kept: readonly IptablesChain[]): void {
  const keptNames = new Set(kept.map((c) => `${c.table}/${c.name}`));
  for (const chain of chains) if (!keptNames.has(`${chain.table}/${chain.name}`)) into[chain.table].push(chain.name);
}

/**
 * Stale chains on a full sync: everything ours that was applied or found in the kernel and
 * is not wanted now.
 */
function fullStale(previous: IptablesRuleset | null, desired: IptablesRuleset, opts: IptablesPlanOptions): Record<IptablesTable, string[]> {
  const wanted: Record<IptablesTable, Set<string>> = { filter: new Set(), nat: new Set() };
  for (const chain of desired.baseChains) wanted[chain.table].add(chain.name);
  for (const chains of desired.serviceChains.values()) for (const chain of chains) wanted[chain.table].add(chain.name);
  const candidates: Record<IptablesTable, Set<string>> = { filter: new Set(), nat: new Set() };
  if (previous !== null) {
    for (const chain of previous.baseChains) candidates[chain.table].add(chain.name);
    for (const chains of previous.serviceChains.values()) for (const chain of chains) candidates[chain.table].add(chain.name);
  }
  for (const table of TABLES) {
    for (const name of opts.existingChains?.[table] ?? []) if (isOwnedChain(table, name)) candidates[table].add(name);
  }
  const stale: Record<IptablesTable, string[]> = { filter: [], nat: [] };
  for (const table of TABLES) for (const name of candidates[table]) if (!wanted[table].has(name)) stale[table].push(name);
  return stale;
}

export function planIptablesSync(
  previous: IptablesRuleset | null,
  desired: IptablesRuleset,
  opts: IptablesPlanOptions,
): IptablesSyncPlan {
  const full = opts.full || previous === null;
  const services: IptablesChain[][] = [];
  const total: Record<IptablesTable, number> = { filter: 0, nat: 0 };
  const written: Record<IptablesTable, number> = { filter: 0, nat: 0 };
  // A partial sync finds stale chains where they can be: chain names are hashed from their
  // service port, so only ports whose chains changed or vanished (and base chains) leave any.
  // That keeps it proportional to the change, not to the 100k+ chains of a 10k cluster.
  const stale: Record<IptablesTable, string[]> = full ? fullStale(previous, desired, opts) : { filter: [], nat: [] };

  for (const chain of desired.baseChains) assertNotBuiltin(chain.name);
  const appliedBase = full ? null : new Map(previous.baseChains.map((c) => [`${c.table} ${c.name}`, c]));
  const base: IptablesChain[] = [];
  const edits: ChainEdit[] = [];
  for (const chain of desired.baseChains) {
    const applied = appliedBase?.get(`${chain.table} ${chain.name}`);
    if (applied !== undefined && sameChain(applied, chain)) continue;
    const edit = applied === undefined ? null : chainEdit(applied, chain);
    if (edit === null) base.push(chain);
    else edits.push(edit);
  }
  if (!full) addGone(stale, previous.baseChains, desired.baseChains);
  ruleTotal(desired.baseChains, total);
  ruleTotal(base, written);
  for (const edit of edits) written[edit.table] += edit.deletes.length + edit.inserts.length;

  for (const [name, chains] of desired.serviceChains) {
    ruleTotal(chains, total);
    const applied = full ? undefined : previous.serviceChains.get(name);
    if (applied === chains) continue;
    if (full || !sameServiceChains(applied, chains)) {
      for (const chain of chains) assertNotBuiltin(chain.name);
      services.push(chains);
      ruleTotal(chains, written);
      if (applied !== undefined) addGone(stale, applied, chains);
    }
  }
  if (!full) {
    for (const [name, chains] of previous.serviceChains) if (!desired.serviceChains.has(name)) addGone(stale, chains, []);
  }
  for (const table of TABLES) stale[table] = stale[table].filter((name) => !BUILTIN_CHAINS.has(name)).sort();

  const writtenChains = base.length + edits.length + services.reduce((n, chains) => n + chains.length, 0);
  return {
    base,
    edits,
    services,
    stale,
    missingJumps: opts.missingJumps ?? [],
    written: writtenChains,
    deleted: stale.filter.length + stale.nat.length,
    ruleCounts: {
      filter: { total: total.filter, written: written.filter },
      nat: { total: total.nat, written: written.nat },
    },
  };
}

/** What one `iptables-restore --noflush` run does to one table. */
interface TablePart {
  write: IptablesChain[];
  /** After every write, so inserted rules find the chains they jump to. */
  edits: ChainEdit[];
  /** Stale chains to flush (declare) before anything is deleted. */
  flush: string[];
  jumps: IptablesJump[];
  remove: string[];
}

/**
 * Jumps are inserted at position 1 in reverse order, so that in each built-in chain they end
 * up on top in the IR's order, ahead of rules other agents appended (kube-proxy prepends too).
 */
function renderTable(table: IptablesTable, part: TablePart, lines: string[]): void {
  if (part.write.length + part.edits.length + part.flush.length + part.jumps.length + part.remove.length === 0) return;
  lines.push(`*${table}`);
  for (const chain of part.write) lines.push(renderChainDeclaration(chain.name));
  for (const name of part.flush) lines.push(renderChainDeclaration(name));
  for (const chain of part.write) for (const args of chain.rules) lines.push(renderRule(chain.name, args));
  for (const edit of part.edits) {
    for (const args of edit.deletes) lines.push(renderRuleEdit('-D', edit.chain, args));
    for (const { position, args } of edit.inserts) lines.push(renderRuleEdit('-I', edit.chain, args, position));
  }
  for (let i = part.jumps.length - 1; i >= 0; i--) {
    const jump = part.jumps[i]!;
    lines.push(renderRule(jump.chain, jump.args).replace(/^-A /, '-I '));
  }
  for (const name of part.remove) lines.push(`-X ${name}`);
  lines.push('COMMIT');
}

function renderParts(parts: Record<IptablesTable, TablePart>): string {
  const lines: string[] = [];
  for (const table of TABLES) renderTable(table, parts[table], lines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function emptyParts(): Record<IptablesTable, TablePart> {
  return {
    filter: { write: [], edits: [], flush: [], jumps: [], remove: [] },
    nat: { write: [], edits: [], flush: [], jumps: [], remove: [] },
  };
}

/** The whole plan as one atomic batch. */
export function renderSyncBatch(plan: IptablesSyncPlan): string {
  const parts = emptyParts();
  for (const chain of [...plan.base, ...plan.services.flat()]) parts[chain.table].write.push(chain);
  for (const edit of plan.edits) parts[edit.table].edits.push(edit);
  for (const jump of plan.missingJumps) parts[jump.table].jumps.push(jump);
  for (const table of TABLES) {
    parts[table].flush = plan.stale[table];
    parts[table].remove = plan.stale[table];
  }
  return renderParts(parts);
}

const JUMP = /^-[jg]$/;

function jumpsToNonBase(chain: IptablesChain, base: ReadonlySet<string>): boolean {
  return chain.rules.some((args) => args.some((token, i) => JUMP.test(token) && (args[i + 1] ?? '').startsWith('KUBE-') && !base.has(args[i + 1]!)));
}

/**
 * The plan as a sequence of batches of at most about `maxChains` chains each, for the cold
 * or full sync of a large ruleset with iptables-nft (see README.md, "The cold-sync trap").
 * Every intermediate state is a working ruleset:
 *  1. base chains that reference no per-service chain (KUBE-MARK-MASQ, which service chains
 *     jump to, KUBE-POSTROUTING, the filter chains);
 *  2. service ports' chains, whole ports per batch: new chains are unreferenced until step 3,
 *     existing ones are rewritten atomically, chains about to go stale still exist;
 *  3. the remaining base chains (the dispatch) and missing jumps: one atomic switch-over;
 *  4. stale chains flushed in batches, then deleted in batches (a stale chain may be
 *     referenced by another stale chain, so all are flushed before any is deleted).
 */
export function renderSyncBatches(plan: IptablesSyncPlan, maxChains: number): string[] {
  const batches: string[] = [];
  const baseOf = (table: IptablesTable) => new Set(plan.base.filter((c) => c.table === table).map((c) => c.name));
  const leafBase = plan.base.filter((c) => !jumpsToNonBase(c, baseOf(c.table)));
  const dispatchBase = plan.base.filter((c) => !leafBase.includes(c));

  const push = (parts: Record<IptablesTable, TablePart>) => {
    const text = renderParts(parts);
    if (text !== '') batches.push(text);
  };

  let parts = emptyParts();
  for (const chain of leafBase) parts[chain.table].write.push(chain);
  push(parts);

  parts = emptyParts();
  let count = 0;
  for (const chains of plan.services) {
    for (const chain of chains) parts[chain.table].write.push(chain);
    count += chains.length;
    if (count >= maxChains) {
      push(parts);
      parts = emptyParts();
      count = 0;
    }
  }
  push(parts);

  parts = emptyParts();
  for (const chain of dispatchBase) parts[chain.table].write.push(chain);
  for (const edit of plan.edits) parts[edit.table].edits.push(edit);
  for (const jump of plan.missingJumps) parts[jump.table].jumps.push(jump);
  push(parts);

  for (const step of ['flush', 'remove'] as const) {
    for (const table of TABLES) {
      const names = plan.stale[table];
      for (let i = 0; i < names.length; i += maxChains) {
        parts = emptyParts();
        parts[table][step] = names.slice(i, i + maxChains);
        push(parts);
      }
    }
  }
  return batches;
}
