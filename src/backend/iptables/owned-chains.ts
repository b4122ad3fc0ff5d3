/**
 * Which chains in the nat and filter tables belong to kpx, the same set kube-proxy's iptables
 * mode creates (its CleanupLeftovers list), so that kpx adopts and removes kube-proxy's
 * leftovers and kube-proxy adopts kpx's. Chains of the kubelet (KUBE-MARK-DROP,
 * KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) are deliberately absent: the
 * kubelet recreates and relies on them, and kube-proxy leaves them alone too.
 */
import { FILTER_BASE_CHAINS, NAT_BASE_CHAINS, type IptablesTable } from './ruleset.js';

/** kube-proxy's canary (mangle, nat, filter): polled to detect a flushed ruleset. */
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

/** Per service port and endpoint chains; KUBE-XLB- is the pre-1.24 name of KUBE-SVL-. */
const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-', 'KUBE-XLB-'];

const FIXED: Record<IptablesTable, ReadonlySet<string>> = {
  filter: new Set<string>([...FILTER_BASE_CHAINS, KUBE_PROXY_CANARY]),
  nat: new Set<string>([...NAT_BASE_CHAINS, KUBE_PROXY_CANARY]),
};

/** The built-in chains of nat and filter: never declared (that resets the policy), never deleted. */
export const BUILTIN_CHAINS: ReadonlySet<string> = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export function isOwnedChain(table: IptablesTable, name: string): boolean {
  if (FIXED[table].has(name)) return true;
  return table === 'nat' && SERVICE_CHAIN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The user-defined chain names in `iptables-save` output (`:NAME POLICY [p:b]` lines). */
export function savedChainNames(save: string): string[] {
  const names: string[] = [];
  for (const line of save.split('\n')) {
    if (!line.startsWith(':')) continue;
    const name = line.slice(1, line.indexOf(' ') < 0 ? undefined : line.indexOf(' '));
    if (!BUILTIN_CHAINS.has(name)) names.push(name);
  }
  return names;
}
