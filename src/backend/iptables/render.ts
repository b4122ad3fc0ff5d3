/**
 * Complete `iptables-restore` / `ip6tables-restore` input for an EMPTY network namespace
 * (`kpx render`). It declares the built-in chains it appends to with policy ACCEPT, which
 * a restore also applies under `--noflush`, so it is not the daemon's incremental batch.
 * Byte-stable: declarations are sorted, rules keep the IR's order.
 */
import { renderBuiltinDeclaration, renderChainDeclaration, renderRule, ruleRenderer } from './quote.js';
import type { IptablesChain, IptablesRuleset, IptablesTable } from './ruleset.js';

const BUILTIN_ORDER = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function builtinRank(chain: string): number {
  const rank = BUILTIN_ORDER.indexOf(chain);
  return rank < 0 ? BUILTIN_ORDER.length : rank;
}

/** Declarations, jumps, then rules: appended to `lines`, which may be long (a line per rule). */
function renderTable(ruleset: IptablesRuleset, table: IptablesTable, lines: string[]): void {
  const jumps = ruleset.jumps.filter((j) => j.table === table);
  const chains: IptablesChain[] = [];
  for (const chain of ruleset.baseChains) if (chain.table === table) chains.push(chain);
  for (const owned of ruleset.serviceChains.values()) for (const chain of owned) if (chain.table === table) chains.push(chain);
  const builtins = [...new Set(jumps.map((j) => j.chain))].sort((a, b) => builtinRank(a) - builtinRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  // The default sort compares strings by UTF-16 code units, like `<`, without a callback;
  // sorted, a name repeated (only by a broken intent) is next to itself.
  const ours = chains.map((c) => c.name).sort();
  lines.push(`*${table}`);
  for (const chain of builtins) lines.push(renderBuiltinDeclaration(chain));
  ours.forEach((chain, i) => {
    if (i === 0 || chain !== ours[i - 1]) lines.push(renderChainDeclaration(chain));
  });
  for (const j of jumps) lines.push(renderRule(j.chain, j.args));
  for (const chain of chains) {
    if (chain.rules.length === 0) continue;
    const render = ruleRenderer(chain.name);
    for (const args of chain.rules) lines.push(render(args));
  }
  lines.push('COMMIT');
}

export function renderIptablesRestore(ruleset: IptablesRuleset): string {
  const lines: string[] = [];
  renderTable(ruleset, 'filter', lines);
  renderTable(ruleset, 'nat', lines);
  lines.push('');
  return lines.join('\n');
}
