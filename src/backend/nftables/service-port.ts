/**
 * Lowers one service port of the backend-neutral intent. Every policy decision was made in
 * compile/; here a service port only becomes elements of the shared maps and sets (and,
 * for the few that need them, dedicated chains). See README.md for the shape.
 */
import type { RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { uniqueStrings } from '../../compile/order.js';
import { affinityExternal, affinityInternal } from './affinity.js';
import { cidrValue, type TableBuilder } from './build.js';
import { dedicatedExternal, dedicatedInternal, needsDedicatedChains } from './dedicated.js';
import type { NftValue, NftVerdict } from './model.js';
import { sharedExternal, sharedInternal } from './shared-paths.js';
import { SET } from './names.js';
import { rejectVerdict } from './skeleton.js';

const dropVerdict: NftVerdict = { kind: 'drop' };

function destinationKey(sp: ServicePortIntent, address: string): NftValue {
  return { concat: [address, sp.protocol, sp.port] };
}

function lowerInternal(b: TableBuilder, sp: ServicePortIntent, dedicated: boolean): void {
  const key = destinationKey(sp, sp.clusterIP);
  b.addElement(SET.clusterIPs, sp.clusterIP);
  // A destination belongs to the first service port (in intent order) that claims it; a later
  // duplicate (bad input) is skipped rather than producing a batch the kernel rejects.
  if (!b.claimable(key)) return;
  const noEndpoints = sp.internal.noEndpoints;
  if (noEndpoints !== null) {
    b.addElement(SET.noEndpointServices, key, noEndpoints === 'REJECT' ? rejectVerdict : dropVerdict);
    return;
  }
  const endpoints = sp.internal.policy === 'local' ? sp.localEndpoints : sp.clusterEndpoints;
  const target = dedicated ? dedicatedInternal(b, sp) : sharedInternal(b, key, endpoints);
  b.addElement(SET.serviceIPs, key, target);
  affinityInternal(b, sp, key);
}

function lowerFirewall(b: TableBuilder, sp: ServicePortIntent): void {
  if (!sp.firewall) return;
  const allowed = [...sp.firewall.sourceRanges.map(cidrValue), ...(sp.firewall.allowLoadBalancerIPs ? sp.loadBalancerIPs : [])];
  for (const ip of sp.loadBalancerIPs) {
    b.addElement(SET.firewallIPs, destinationKey(sp, ip));
    for (const source of allowed) b.addElement(SET.firewallAllow, { concat: [ip, sp.protocol, sp.port, source] });
  }
}

function lowerExternal(b: TableBuilder, intent: RulesetIntent, sp: ServicePortIntent, dedicated: boolean): void {
  const path = sp.external;
  if (path === null) return;
  const reachable = sp.clusterEndpoints.length > 0 && path.noEndpoints !== 'REJECT';
  const noEndpoints = path.noEndpoints === null ? null : path.noEndpoints === 'REJECT' ? rejectVerdict : dropVerdict;

  /** One external entry point; false when it was not claimed or leads nowhere. */
  const expose = (domain: 'service' | 'nodeport', key: NftValue, map: string, noEndpointMap: string): boolean => {
    if (!b.claimable(key)) return false;
    if (noEndpoints) b.addElement(noEndpointMap, key, noEndpoints);
    if (!reachable) return false;
    const target = dedicated
      ? dedicatedExternal(b, intent, sp)
      : sharedExternal(b, intent, domain, key, path.policy, sp.clusterEndpoints, sp.localEndpoints);
    b.addElement(map, key, target);
    affinityExternal(b, intent, sp, domain, key);
    return true;
  };

  for (const ip of uniqueStrings([...sp.externalIPs, ...sp.loadBalancerIPs])) {
    expose('service', destinationKey(sp, ip), SET.serviceIPs, SET.noEndpointServices);
  }
  // A NodePort that is lost to a conflict, or reaches no endpoint, also skips the firewall.
  if (sp.nodePort !== 0 && !expose('nodeport', { concat: [sp.protocol, sp.nodePort] }, SET.serviceNodePorts, SET.noEndpointNodePorts)) return;
  lowerFirewall(b, sp);
}

/** One service port's elements (and chains, sets) into `b`; claims go through `b.claimable`. */
export function lowerServicePort(b: TableBuilder, intent: RulesetIntent, sp: ServicePortIntent): void {
  const dedicated = needsDedicatedChains(sp);
  lowerInternal(b, sp, dedicated);
  lowerExternal(b, intent, sp, dedicated);
  b.addSelfPairs(SET.hairpin, sp.endpoints);
}
