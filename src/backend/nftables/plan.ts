/**
 * The nftables planner: from the last applied table state (or null) and the desired
 * intent, one `nft -f` transaction. Pure; the dataplane runs it.
 *
 * - No state, or the global parts (node IPs, CIDRs, masquerade) changed: the table is
 *   recreated: `add table` + `delete table` (so it exists to be deleted) + every object.
 * - `full` with a state: flush and refill. `flush table` empties every chain (nft 1.0.6:
 *   rules only, set contents stay), then every set except the dynamic affinity set is
 *   flushed, objects of the last state that are no longer wanted are deleted and the whole
 *   table is added again (`add` of an existing chain or set is a no-op). Repairs a deleted
 *   table, flushed chains and removed or foreign elements, and keeps affinity entries.
 * - partial: only what the re-lowered service ports changed (see partialText).
 *
 * `last` is consumed: the plan's `state` is the state after the kernel accepted `text`.
 * If it did not, drop both and plan the next sync from null.
 */
import type { RulesetIntent } from '../../compile/intent.js';
import type { NftChain, NftStatement } from './model.js';
import { TABLE_NAME } from './names.js';
import { chainDeclaration, renderNftChunks, ruleText, setDeclaration, type NftTableText } from './render-text.js';
import { elementLine } from './element-index.js';
import { globalKey, NftTableState, type NftSetDecl, type Touched } from './table-state.js';

export interface NftPlanOptions {
  full: boolean;
}

/** The table names and declarations before a full sync; null when it is recreated. */
interface Shape {
  chains: ReadonlySet<string>;
  sets: ReadonlyMap<string, NftSetDecl>;
}

/** Step 1 (lowering): the state brought to the intent, and what changed. */
export type NftUpdate =
  | { full: true; state: NftTableState; before: Shape | null }
  | { full: false; state: NftTableState; touched: Touched };

/** Step 2 (planning): the commands of the transaction, grouped by kind, in order. */
export type NftOps =
  | { full: true; state: NftTableState; table: NftTableText; before: Shape | null; written: number; deleted: number }
  | ({ full: false; state: NftTableState; written: number; deleted: number } & PartialOps);

export interface NftPlan {
  /** Whether `text` rewrites the whole table. */
  full: boolean;
  /** The transaction for `nft -f`. Empty when nothing changed (partial only). */
  text: string;
  /** Chains, sets and elements written (a rewritten chain counts once), deleted. */
  written: number;
  deleted: number;
  /** The table once `text` is applied. */
  state: NftTableState;
}

export function updateNftState(last: NftTableState | null, intent: RulesetIntent, opts: NftPlanOptions): NftUpdate {
  if (last === null || last.globalKey !== globalKey(intent)) {
    return { full: true, state: NftTableState.build(intent), before: last === null ? null : shapeOf(last) };
  }
  if (opts.full) {
    const before = shapeOf(last);
    last.update(intent);
    // Written whole, so every set is sized afresh; one whose size changes is declared again.
    last.resize();
    return { full: true, state: last, before };
  }
  return { full: false, state: last, touched: last.update(intent) };
}

export function planNftUpdate(update: NftUpdate): NftOps {
  if (!update.full) return partialOps(update.state, update.touched);
  const { state, before } = update;
  const { chains, sets, elements } = state.stats();
  const gone = before === null ? null : fullDeletes(state, before);
  const deleted = gone === null ? 0 : gone.sets.length + gone.chains.length;
  return { full: true, state, table: state.toBatchTable(), before, written: chains + sets + elements, deleted };
}

export function renderNftOps(ops: NftOps): string {
  return ops.full ? [...fullChunks(ops.state, ops.table, ops.before)].join('') : partialText(ops.state, ops);
}

/** A full batch's text in pieces (renderNftChunks), for writing to nft as it is rendered. */
export function renderFullChunks(ops: NftOps & { full: true }): Generator<string> {
  return fullChunks(ops.state, ops.table, ops.before);
}

/** All three steps. */
export function planNftables(last: NftTableState | null, intent: RulesetIntent, opts: NftPlanOptions): NftPlan {
  const ops = planNftUpdate(updateNftState(last, intent, opts));
  return { full: ops.full, text: renderNftOps(ops), written: ops.written, deleted: ops.deleted, state: ops.state };
}

function shapeOf(state: NftTableState): Shape {
  return { chains: new Set(state.chainNames()), sets: new Map(state.setDecls().map((d) => [d.name, d])) };
}

const sameDecl = (a: NftSetDecl, b: NftSetDecl) => JSON.stringify(a) === JSON.stringify(b);
const isDynamic = (decl: NftSetDecl) => decl.flags.includes('dynamic');
const kindOf = (decl: NftSetDecl) => (decl.data === null ? 'set' : 'map');

function prefixOf(state: NftTableState): string {
  return `${state.family} ${TABLE_NAME}`;
}

/** What a flush-and-refill deletes: sets gone or redeclared, chains gone. */
function fullDeletes(state: NftTableState, before: Shape): { sets: NftSetDecl[]; chains: string[] } {
  const sets = [...before.sets.values()].filter((old) => {
    const now = state.set(old.name);
    return !now || !sameDecl(old, now);
  });
  return { sets, chains: [...before.chains].filter((name) => !state.chain(name)) };
}

function* fullChunks(state: NftTableState, table: NftTableText, before: Shape | null): Generator<string> {
  const prefix = prefixOf(state);
  yield before === null ? `add table ${prefix}\ndelete table ${prefix}\n` : `${refillHead(state, before, prefix)}\n`;
  yield* renderNftChunks(table);
}

/** What a flush-and-refill sends before the table itself. */
function refillHead(state: NftTableState, before: Shape, prefix: string): string {
  const lines = [`add table ${prefix}`, `flush table ${prefix}`];
  for (const decl of state.setDecls()) {
    const old = before.sets.get(decl.name);
    if (old && !sameDecl(old, decl)) continue;
    // `add` first: the set may have been deleted behind our back, and flushing a missing set fails.
    lines.push(setDeclaration(prefix, decl));
    if (!isDynamic(decl)) lines.push(`flush ${kindOf(decl)} ${prefix} ${decl.name}`);
  }
  // Rules are gone and the verdict maps flushed, so nothing references these any more. Each
  // is added (as it was) before it is deleted: deleting a missing one fails, and the table
  // may have been deleted behind our back.
  const gone = fullDeletes(state, before);
  for (const decl of gone.sets) lines.push(setDeclaration(prefix, decl), `delete ${kindOf(decl)} ${prefix} ${decl.name}`);
  for (const name of gone.chains) lines.push(`add chain ${prefix} ${name}`, `delete chain ${prefix} ${name}`);
  return lines.join('\n');
}

const sameRules = (a: NftChain, b: NftChain) => JSON.stringify(a.rules) === JSON.stringify(b.rules) && JSON.stringify(a.base) === JSON.stringify(b.base);

/** Sets and maps a chain's rules read or write. */
function setsUsed(chain: NftChain): string[] {
  const used: string[] = [];
  const visit = (s: NftStatement) => {
    if (s.kind === 'lookup' || s.kind === 'set-update') used.push(s.set);
    else if (s.kind === 'vmap' && typeof s.map === 'string') used.push(s.map);
    else if (s.kind === 'dnat') for (const src of [s.addr, s.port]) if ('map' in src) used.push(src.map);
  };
  for (const r of chain.rules) r.statements.forEach(visit);
  return used;
}

/**
 * The transaction for what an update touched, ordered so that nothing is deleted while
 * still referenced and nothing is referenced before it exists:
 *   1. add chain (new)             4. delete chain (gone)       7. add element
 *   2. flush chain (changed, gone) 5. delete set (gone, redeclared)  8. add rule (new, changed)
 *   3. delete element              6. add set (new, redeclared)
 * An element whose value changed is deleted and added again (`add` of an existing key
 * with another value fails with EEXIST). A set whose declaration changed (an affinity
 * timeout, a size outgrown) is deleted and declared again, refilled, and every chain using
 * it rewritten.
 */
function partialOps(state: NftTableState, touched: Touched): NftOps {

  const newSets: NftSetDecl[] = [];
  const goneSets: NftSetDecl[] = [];
  const redeclared = new Set<string>();
  for (const [name, before] of touched.sets) {
    const after = state.set(name);
    if (!before && after) newSets.push(after);
    else if (before && !after) goneSets.push(before);
    else if (before && after && !sameDecl(before, after)) {
      redeclared.add(name);
      goneSets.push(before);
      newSets.push(after);
    }
  }
  const droppedSets = new Set(goneSets.map((d) => d.name));

  const newChains: NftChain[] = [];
  const changedChains: NftChain[] = [];
  const goneChains: string[] = [];
  for (const [name, before] of touched.chains) {
    const after = state.chain(name);
    if (!before && after) newChains.push(after);
    else if (before && !after) goneChains.push(name);
    else if (before && after && (!sameRules(before, after) || setsUsed(after).some((s) => redeclared.has(s)))) changedChains.push(after);
  }
  // A set in use cannot be deleted (EBUSY): untouched chains using a redeclared one (a set
  // that outgrew its size, set-size.ts) are rewritten too.
  if (redeclared.size > 0) {
    for (const name of state.chainNames()) {
      const chain = state.chain(name);
      if (chain && !touched.chains.has(name) && setsUsed(chain).some((s) => redeclared.has(s))) changedChains.push(chain);
    }
  }

  const deletes = new Map<string, string[]>();
  const adds = new Map<string, string[]>();
  const push = <V>(m: Map<string, V[]>, k: string, v: V) => (m.get(k) ?? m.set(k, []).get(k))?.push(v);
  for (const [set, elements] of touched.elements) {
    if (redeclared.has(set)) continue;
    for (const [key, before] of elements) {
      const after = state.element(set, key);
      const same = before === after;
      if (before !== undefined && !same && !droppedSets.has(set)) push(deletes, set, key);
      if (after !== undefined && !same) push(adds, set, elementLine(key, after));
    }
  }
  for (const name of redeclared) for (const line of state.elementLines(name)) push(adds, name, line);

  const count = (m: Map<string, unknown[]>) => [...m.values()].reduce((n, v) => n + v.length, 0);
  return {
    full: false,
    state,
    newChains,
    changedChains,
    goneChains,
    deletes,
    goneSets,
    newSets,
    adds,
    written: newChains.length + changedChains.length + newSets.length + count(adds),
    deleted: goneChains.length + goneSets.length + count(deletes),
  };
}

interface PartialOps {
  newChains: NftChain[];
  changedChains: NftChain[];
  goneChains: string[];
  /** Set name → keys as nft text. */
  deletes: Map<string, string[]>;
  goneSets: NftSetDecl[];
  newSets: NftSetDecl[];
  /** Set → elements as nft text. */
  adds: Map<string, string[]>;
}

function partialText(state: NftTableState, ops: PartialOps): string {
  const prefix = prefixOf(state);
  const lines: string[] = [];
  for (const c of ops.newChains) lines.push(chainDeclaration(prefix, c));
  for (const c of [...ops.changedChains.map((c) => c.name), ...ops.goneChains]) lines.push(`flush chain ${prefix} ${c}`);
  for (const [set, keys] of ops.deletes) lines.push(`delete element ${prefix} ${set} { ${keys.join(', ')} }`);
  for (const name of ops.goneChains) lines.push(`delete chain ${prefix} ${name}`);
  for (const decl of ops.goneSets) lines.push(`delete ${kindOf(decl)} ${prefix} ${decl.name}`);
  for (const decl of ops.newSets) lines.push(setDeclaration(prefix, decl));
  for (const [set, elements] of ops.adds) lines.push(`add element ${prefix} ${set} { ${elements.join(', ')} }`);
  for (const c of [...ops.newChains, ...ops.changedChains]) {
    for (const r of c.rules) lines.push(`add rule ${prefix} ${c.name} ${ruleText(state.family, r)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
