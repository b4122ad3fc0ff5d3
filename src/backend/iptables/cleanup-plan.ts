/**
 * Removing everything of ours (kpx's, and kube-proxy's iptables mode's: owned-chains.ts)
 * from one table, given its chain names and its built-in chains' rules. Pure. The jumps are found by
 * their target, not by their text, so jumps written by any kube-proxy version (other
 * comments, the INPUT → KUBE-SERVICES jump of 1.13–1.19) are removed as well; each is
 * deleted with its own saved text, which iptables-restore reads back as it wrote it.
 */
import { tokenizeRestoreLine } from '../../trace/iptables-parse.js';
import { renderChainDeclaration } from './quote.js';
import { BUILTIN_CHAINS, KUBE_PROXY_CANARY, isOwnedChain } from './owned-chains.js';
import type { IptablesTable } from './ruleset.js';

export type CleanupTable = IptablesTable | 'mangle';

export interface TableCleanup {
  table: CleanupTable;
  /** Rules of built-in chains that jump to our chains, as `-D CHAIN …` lines. */
  unlink: string[];
  /** Our chains, to flush and then delete. */
  chains: string[];
}

function owned(table: CleanupTable, name: string): boolean {
  return table === 'mangle' ? name === KUBE_PROXY_CANARY : isOwnedChain(table, name);
}

function jumpTarget(tokens: string[]): string | null {
  for (let i = 0; i < tokens.length - 1; i++) if (tokens[i] === '-j' || tokens[i] === '-g') return tokens[i + 1]!;
  return null;
}

/**
 * `chains`: the table's user-defined chain names; `rules`: `-A …` lines (iptables-save or
 * `iptables -S CHAIN` output) of at least its built-in chains.
 */
export function planTableCleanup(table: CleanupTable, chains: readonly string[], rules: readonly string[]): TableCleanup {
  const ours = new Set(chains.filter((name) => owned(table, name)));
  const unlink: string[] = [];
  for (const line of rules) {
    if (!line.startsWith('-A ')) continue;
    const tokens = tokenizeRestoreLine(line);
    if (!Array.isArray(tokens)) continue;
    const chain = tokens[1];
    const target = jumpTarget(tokens);
    if (chain !== undefined && BUILTIN_CHAINS.has(chain) && target !== null && ours.has(target)) {
      unlink.push(`-D ${line.slice(3)}`);
    }
  }
  return { table, unlink, chains: [...ours].sort() };
}

/**
 * Restore batches: one that unlinks and, when the table holds at most `maxChains` of our
 * chains, also flushes and deletes them; otherwise flush batches then delete batches
 * (iptables-nft's per-batch cost grows with the square of the chains it names).
 */
export function renderTableCleanup(cleanup: TableCleanup, maxChains: number): string[] {
  const { table, unlink, chains } = cleanup;
  if (unlink.length === 0 && chains.length === 0) return [];
  const batch = (lines: string[]) => [`*${table}`, ...lines, 'COMMIT', ''].join('\n');
  const flush = (names: string[]) => names.map(renderChainDeclaration);
  const remove = (names: string[]) => names.map((name) => `-X ${name}`);
  if (chains.length <= maxChains) return [batch([...flush(chains), ...unlink, ...remove(chains)])];
  const batches = unlink.length > 0 ? [batch(unlink)] : [];
  for (let i = 0; i < chains.length; i += maxChains) batches.push(batch(flush(chains.slice(i, i + maxChains))));
  for (let i = 0; i < chains.length; i += maxChains) batches.push(batch(remove(chains.slice(i, i + maxChains))));
  return batches;
}
