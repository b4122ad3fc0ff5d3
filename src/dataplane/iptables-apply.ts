/**
 * Running iptables-restore / iptables-save for the iptables dataplane and for cleanup.
 * Every batch is `--noflush`: nat and filter are shared with other agents (CNI plugins,
 * Docker, firewalls), and a flush-mode restore would drop their rules.
 */
import { planTableCleanup, renderTableCleanup, type CleanupTable } from '../backend/iptables/cleanup-plan.js';
import { BUILTIN_CHAINS, savedChainNames } from '../backend/iptables/owned-chains.js';
import type { IptablesTable } from '../backend/iptables/ruleset.js';
import { mustExec, type Exec } from './exec.js';
import { iptablesTools, type IptablesFlavour } from './iptables-flavour.js';
import { ApplyError } from './types.js';

/**
 * Chains per restore run, or null for one batch. iptables-nft-restore 1.8.9 in --noflush
 * mode costs about (commands × distinct chains) in one run (a linear chain-name list per
 * run: 78% of its time in strcmp): 10k services × 10 endpoints take minutes in one run and
 * 17 s in runs of 1,000 chains, the same as a flush-mode restore. iptables-legacy-restore
 * rewrites the whole table per run, so for it one run is cheapest. README.md has the figures.
 */
export function restoreChunkSize(flavour: IptablesFlavour): number | null {
  return flavour === 'nft' ? 1000 : null;
}

const RESTORE_TIMEOUT_MS = 10 * 60 * 1000;

/** The first lines of stderr around the failing line, as kube-proxy logs them. */
function restoreFailure(restore: string, batch: string, stderr: string, index: number, count: number): ApplyError {
  const line = /line:? (\d+)/.exec(stderr);
  const lines = batch.split('\n');
  const at = line ? Number(line[1]) : 0;
  const context = at > 0 ? `\n${lines.slice(Math.max(0, at - 2), at + 1).join('\n')}` : '';
  const which = count > 1 ? ` (batch ${index + 1} of ${count})` : '';
  return new ApplyError(`${restore} --noflush failed${which}: ${stderr.trim().split('\n')[0] ?? ''}${context}`, stderr);
}

/** Runs the batches in order; the first refused one stops the sequence with ApplyError. */
export async function applyRestoreBatches(exec: Exec, restore: string, batches: string[]): Promise<void> {
  for (const [index, batch] of batches.entries()) {
    if (batch === '') continue;
    const result = await exec([restore, '--noflush', '--wait'], { stdin: batch, timeoutMs: RESTORE_TIMEOUT_MS });
    if (result.code !== 0) throw restoreFailure(restore, batch, result.stderr, index, batches.length);
  }
}

/** Chain names per table in `nft list chains ip|ip6` output. */
export function nftChainNames(listing: string, table: string): string[] {
  const names: string[] = [];
  let current = '';
  for (const line of listing.split('\n')) {
    const tableMatch = /^table ip6? (\S+) \{/.exec(line);
    if (tableMatch) current = tableMatch[1]!;
    const chainMatch = /^\s+chain (\S+) \{/.exec(line);
    if (chainMatch && current === table && !BUILTIN_CHAINS.has(chainMatch[1]!)) names.push(chainMatch[1]!);
  }
  return names;
}

/**
 * The user-defined chains of a table, or null when they cannot be read. iptables-nft-save
 * 1.8.9 of nat holding 10k services × 10 endpoints (115k chains) takes 2.5 minutes and dies
 * of a stack overflow with the default 8 MiB stack (its chain cache is quadratic), while
 * `nft list chains ip` takes 1 s; so the nft flavour asks nft first.
 */
export async function listChains(exec: Exec, flavour: IptablesFlavour, family: 4 | 6, table: CleanupTable): Promise<string[] | null> {
  if (flavour === 'nft') {
    const listed = await exec(['nft', 'list', 'chains', family === 4 ? 'ip' : 'ip6'], { timeoutMs: RESTORE_TIMEOUT_MS });
    if (listed.code === 0) return nftChainNames(listed.stdout, table);
  }
  const result = await exec([iptablesTools(flavour, family).save, '-t', table], { timeoutMs: RESTORE_TIMEOUT_MS });
  return result.code === 0 ? savedChainNames(result.stdout) : null;
}

const TABLE_BUILTINS: Record<IptablesTable, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** The rules of a table's built-in chains (`iptables -S CHAIN`: fast, unlike a save of the table). */
async function builtinRules(exec: Exec, cmd: string, table: IptablesTable): Promise<string[]> {
  const rules: string[] = [];
  for (const chain of TABLE_BUILTINS[table]) {
    rules.push(...(await mustExec(exec, [cmd, '-w', '-t', table, '-S', chain])).stdout.split('\n'));
  }
  return rules;
}

/**
 * `kpx cleanup`, the nftables mode's removal of iptables leftovers, and Dataplane.cleanup:
 * unlinks every jump from a built-in chain into kpx's or kube-proxy's chains and deletes
 * those chains (nat, filter, and kube-proxy's canary in mangle). Other chains and rules,
 * the kubelet's included, are left alone. Throws ExecError/ApplyError on failure.
 */
export async function cleanupIptables(exec: Exec, family: 4 | 6, flavour: IptablesFlavour): Promise<void> {
  const tools = iptablesTools(flavour, family);
  const chunk = restoreChunkSize(flavour) ?? Number.MAX_SAFE_INTEGER;
  for (const table of ['filter', 'nat'] as const) {
    const chains = await listChains(exec, flavour, family, table);
    if (chains === null) throw new Error(`cannot list the chains of the ${table} table (IPv${family}, ${flavour})`);
    const cleanup = planTableCleanup(table, chains, await builtinRules(exec, tools.cmd, table));
    await applyRestoreBatches(exec, tools.restore, renderTableCleanup(cleanup, chunk));
  }
  // Only kube-proxy's canary lives in mangle; nothing jumps to it. No mangle table: nothing to do.
  const mangle = await listChains(exec, flavour, family, 'mangle');
  if (mangle !== null) await applyRestoreBatches(exec, tools.restore, renderTableCleanup(planTableCleanup('mangle', mangle, []), chunk));
}
