/**
 * Which chains a service port gets and where each kind of traffic goes. Every jump target
 * chosen here is a chain that will exist: an intent path that claims endpoints but lists
 * none is treated as having none (REJECT), so no rule can jump to an undeclared chain and
 * make iptables-restore refuse the batch.
 */
import type { NoEndpointVerdict, ServicePortIntent, TrafficPath } from '../../compile/intent.js';
import { iptablesServiceChains, type IptablesServiceChains } from '../../compile/names.js';
import type { IPFamily } from '../../model/types.js';

export interface LoweringContext {
  family: IPFamily;
  masqueradeAll: boolean;
  /** The local-traffic detector's pod CIDR, or null when there is none. */
  podCIDR: string | null;
  /** Destination matches for NodePorts (see `nodePortDestinations`); empty: NodePorts are off. */
  nodePortDestinations: string[][];
}

export interface ServicePortPlan {
  sp: ServicePortIntent;
  names: IptablesServiceChains;
  /** KUBE-SVC-…, present when the cluster endpoint list is non-empty. */
  clusterChain: string | null;
  /** KUBE-SVL-…, present when the local endpoint list is non-empty. */
  localChain: string | null;
  /** Where ClusterIP traffic jumps, or null when `internalVerdict` applies instead. */
  internalChain: string | null;
  internalVerdict: NoEndpointVerdict | null;
  /** KUBE-EXT-…, present when the port is externally reachable and has any endpoint. */
  externalChain: string | null;
  /** The last jump of KUBE-EXT, or null when `externalVerdict` applies instead. */
  externalPolicyChain: string | null;
  /** REJECT/DROP in filter for external traffic that was not DNATed; null: none. */
  externalVerdict: NoEndpointVerdict | null;
  /** KUBE-FW-…, present when source ranges filter the LB IPs and KUBE-EXT exists. */
  firewallChain: string | null;
}

function pathTarget(
  path: TrafficPath,
  clusterChain: string | null,
  localChain: string | null,
): { chain: string | null; verdict: NoEndpointVerdict | null } {
  const chain = path.policy === 'cluster' ? clusterChain : localChain;
  if (path.noEndpoints !== null || chain === null) return { chain: null, verdict: path.noEndpoints ?? 'REJECT' };
  return { chain, verdict: null };
}

export function planServicePort(sp: ServicePortIntent): ServicePortPlan {
  const names = iptablesServiceChains(sp);
  const clusterChain = sp.clusterEndpoints.length > 0 ? names.cluster : null;
  const localChain = sp.localEndpoints.length > 0 ? names.local : null;
  const internal = pathTarget(sp.internal, clusterChain, localChain);
  const external = sp.external ? pathTarget(sp.external, clusterChain, localChain) : { chain: null, verdict: null };
  const externalChain = sp.external !== null && sp.endpoints.length > 0 ? names.external : null;
  return {
    sp,
    names,
    clusterChain,
    localChain,
    internalChain: internal.chain,
    internalVerdict: internal.verdict,
    externalChain,
    externalPolicyChain: external.chain,
    externalVerdict: external.verdict,
    firewallChain: sp.firewall !== null && externalChain !== null ? names.firewall : null,
  };
}
