/**
 * Complete `iptables-restore` / `ip6tables-restore` input for an EMPTY network namespace
 * (`kpx render`). It declares the built-in chains it appends to with policy ACCEPT, which
 * a restore also applies under `--noflush`, so it is not the daemon's incremental batch.
 * Byte-stable: declarations are sorted, rules keep the IR's order.
 */
import { renderBuiltinDeclaration, renderChainDeclaration, renderRule } from './quote.js';
import { allChains, type IptablesRuleset, type IptablesTable } from './ruleset.js';

const BUILTIN_ORDER = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function builtinRank(chain: string): number {
  const rank = BUILTIN_ORDER.indexOf(chain);
  return rank < 0 ? BUILTIN_ORDER.length : rank;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function renderTable(ruleset: IptablesRuleset, table: IptablesTable): string[] {
  const jumps = ruleset.jumps.filter((j) => j.table === table);
  const chains = allChains(ruleset).filter((c) => c.table === table);
  const builtins = [...new Set(jumps.map((j) => j.chain))].sort((a, b) => builtinRank(a) - builtinRank(b) || compareText(a, b));
  const ours = [...new Set(chains.map((c) => c.name))].sort(compareText);
  return [
    `*${table}`,
    ...builtins.map(renderBuiltinDeclaration),
    ...ours.map(renderChainDeclaration),
    ...jumps.map((j) => renderRule(j.chain, j.args)),
    ...chains.flatMap((c) => c.rules.map((args) => renderRule(c.name, args))),
    'COMMIT',
  ];
}

export function renderIptablesRestore(ruleset: IptablesRuleset): string {
  return [...renderTable(ruleset, 'filter'), ...renderTable(ruleset, 'nat'), ''].join('\n');
}
