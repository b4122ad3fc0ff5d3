/**
 * The fixed part of the table: base chains with kube-proxy's hook priorities, the dispatch
 * and check chains, and the named sets and maps every service adds elements to.
 */
import type { RulesetIntent } from '../../compile/intent.js';
import {
  ctStateNew,
  cidrValue,
  daddr,
  destKey,
  fibLocal,
  goto,
  jump,
  l4proto,
  lookup,
  nodePortKey,
  rule,
  saddr,
  verdict,
  type TableBuilder,
} from './build.js';
import type { NftExpr, NftRule, NftStatement, NftValue } from './model.js';
import { CHAIN, SET } from './names.js';

const ctStatusDNAT: NftStatement = { kind: 'match', left: { kind: 'ct-status' }, op: '==', right: 'dnat' };

/** In the ip and ip6 families. Filter chains run before DNAT so they see service addresses. */
export const PRIORITY = { dstnat: -100, srcnat: 100, filter: -110, filterPostDNAT: -90 } as const;

const SERVICE_FLOW_COMMENTS = {
  [SET.serviceIPs]: 'ClusterIP, externalIP and LoadBalancer IP dispatch',
  [SET.serviceNodePorts]: 'NodePort dispatch',
  [SET.noEndpointServices]: 'service addresses without usable endpoints: reject or drop',
  [SET.noEndpointNodePorts]: 'NodePorts without usable endpoints: reject or drop',
  [SET.firewallIPs]: 'LoadBalancer IPs with loadBalancerSourceRanges',
  [SET.firewallAllow]: 'allowed sources per LoadBalancer IP',
  [SET.hairpin]: 'endpoint . same endpoint: a pod reaching itself through a service',
  [SET.affinityServiceIPs]: 'ClientIP affinity: check remembered clients of these addresses',
  [SET.affinityNodePorts]: 'ClientIP affinity: check remembered clients of these NodePorts',
  [SET.affinityRecordIPs]: 'ClientIP affinity: record clients of these addresses after DNAT',
  [SET.affinityRecordNodePorts]: 'ClientIP affinity: record clients of these NodePorts after DNAT',
};

function declareSets(b: TableBuilder, intent: RulesetIntent): void {
  const addr = b.addrType;
  const dest = [addr, 'inet_proto', 'inet_service'] as const;
  const nodePort = ['inet_proto', 'inet_service'] as const;
  b.addSet({ name: SET.clusterIPs, key: [addr], data: null, flags: [] });
  b.addSet({ name: SET.serviceCIDRs, key: [addr], data: null, flags: ['interval'] });
  if (intent.podCIDRs !== null) b.addSet({ name: SET.podCIDRs, key: [addr], data: null, flags: ['interval'] });
  b.addSet({ name: SET.nodePortAddresses, key: [addr], data: null, flags: ['interval'] });
  const c = SERVICE_FLOW_COMMENTS;
  b.addSet({ name: SET.serviceIPs, key: [...dest], data: 'verdict', flags: [], comment: c[SET.serviceIPs] });
  b.addSet({ name: SET.serviceNodePorts, key: [...nodePort], data: 'verdict', flags: [], comment: c[SET.serviceNodePorts] });
  b.addSet({ name: SET.noEndpointServices, key: [...dest], data: 'verdict', flags: [], comment: c[SET.noEndpointServices] });
  b.addSet({ name: SET.noEndpointNodePorts, key: [...nodePort], data: 'verdict', flags: [], comment: c[SET.noEndpointNodePorts] });
  b.addSet({ name: SET.firewallIPs, key: [...dest], data: null, flags: [], comment: c[SET.firewallIPs] });
  b.addSet({ name: SET.firewallAllow, key: [...dest, addr], data: null, flags: ['interval'], comment: c[SET.firewallAllow] });
  b.addSet({ name: SET.hairpin, key: [addr, addr], data: null, flags: [], comment: c[SET.hairpin] });
  for (const name of [SET.affinityServiceIPs, SET.affinityRecordIPs]) b.addSet({ name, key: [...dest], data: 'verdict', flags: [], comment: c[name] });
  for (const name of [SET.affinityNodePorts, SET.affinityRecordNodePorts]) {
    b.addSet({ name, key: [...nodePort], data: 'verdict', flags: [], comment: c[name] });
  }

  for (const cidr of intent.serviceCIDRs) b.addElement(SET.serviceCIDRs, cidrValue(cidr));
  for (const cidr of intent.podCIDRs ?? []) b.addElement(SET.podCIDRs, cidrValue(cidr));
  for (const cidr of intent.nodePortCIDRs) b.addElement(SET.nodePortAddresses, cidrValue(cidr));
}

function loopback(intent: RulesetIntent): NftValue {
  return intent.family === 4 ? { prefix: '127.0.0.0', len: 8 } : '::1';
}

/** NodePorts answer on local addresses inside nodePortCIDRs, never on loopback. */
function nodePortDestination(intent: RulesetIntent): NftStatement[] {
  return [fibLocal('daddr'), { kind: 'match', left: daddr, op: '!=', right: loopback(intent) }, lookup(daddr, SET.nodePortAddresses)];
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/**
 * After DNAT: find the affinity service port of a new connection by its original
 * destination, an address first (the dispatch prefers addresses too), then a NodePort on
 * an address NodePorts answer on. nft 1.0.6 types `ct original proto-dst` only after a
 * protocol match, hence a pair of rules per protocol. A lookup in the verdict map
 * `service-ips` ("was this some other service's address?") is refused in a filter chain
 * (the kernel validates the map's NAT chains against the hook), so a connection another
 * service DNATed from a node address and port that equal an affinity NodePort is
 * recorded for that NodePort's service (README, "Session affinity").
 */
function affinityRecordingChain(intent: RulesetIntent): NftRule[] {
  const originalDaddr: NftExpr = { kind: 'ct-original', field: 'daddr' };
  const originalDport: NftExpr = { kind: 'ct-original', field: 'proto-dst' };
  const originalDest: NftExpr = { kind: 'concat', parts: [originalDaddr, l4proto, originalDport] };
  return PROTOCOLS.flatMap((proto) => {
    const isProto: NftStatement = { kind: 'match', left: l4proto, op: '==', right: proto };
    return [
      rule(isProto, { kind: 'vmap', key: originalDest, map: SET.affinityRecordIPs }),
      rule(
        isProto,
        lookup(originalDaddr, SET.nodePortAddresses),
        { kind: 'match', left: originalDaddr, op: '!=', right: loopback(intent) },
        { kind: 'vmap', key: { kind: 'concat', parts: [l4proto, originalDport] }, map: SET.affinityRecordNodePorts },
      ),
    ];
  });
}

function servicesChain(intent: RulesetIntent): NftRule[] {
  const toClusterIP = lookup(daddr, SET.clusterIPs);
  const mark = verdict(jump(CHAIN.markForMasquerade));
  const rules: NftRule[] = [];
  if (intent.masquerade.all) rules.push(rule(toClusterIP, mark));
  else if (intent.podCIDRs !== null) rules.push(rule(toClusterIP, lookup(saddr, SET.podCIDRs, true), mark));
  // Affinity checks jump and return on a miss; the dispatch after them picks.
  rules.push(rule({ kind: 'vmap', key: destKey, map: SET.affinityServiceIPs }));
  rules.push(rule({ kind: 'vmap', key: destKey, map: SET.serviceIPs }));
  rules.push(rule(...nodePortDestination(intent), { kind: 'vmap', key: nodePortKey, map: SET.affinityNodePorts }));
  rules.push(rule(...nodePortDestination(intent), { kind: 'vmap', key: nodePortKey, map: SET.serviceNodePorts }));
  return rules;
}

function masqueradingChain(mark: number): NftRule[] {
  const hairpin: NftExpr = { kind: 'concat', parts: [saddr, daddr] };
  return [
    rule(
      ctStatusDNAT,
      lookup(hairpin, SET.hairpin),
      verdict(jump(CHAIN.markForMasquerade)),
    ),
    rule({ kind: 'match', left: { kind: 'mark', mask: mark }, op: '==', right: 0 }, verdict({ kind: 'return' })),
    rule({ kind: 'mark-set', op: 'xor', value: mark }),
    rule({ kind: 'masquerade', fullyRandom: true }),
  ];
}

export function addSkeleton(b: TableBuilder, intent: RulesetIntent): void {
  declareSets(b, intent);
  const newJump = (target: string) => rule(ctStateNew, verdict(jump(target)));
  const filter = (hook: 'prerouting' | 'input' | 'forward' | 'output', priority: number = PRIORITY.filter) =>
    ({ type: 'filter', hook, priority }) as const;

  b.addChain('filter-prerouting', [newJump(CHAIN.firewallCheck)], filter('prerouting'));
  b.addChain('filter-input', [newJump(CHAIN.nodePortEndpointsCheck), newJump(CHAIN.serviceEndpointsCheck)], filter('input'));
  b.addChain('filter-forward', [newJump(CHAIN.serviceEndpointsCheck), newJump(CHAIN.clusterIPsCheck)], filter('forward'));
  // The node's own new flows are checked only when they go to a ClusterIP, as kube-proxy's
  // iptables mode does (filter OUTPUT → KUBE-SERVICES; KUBE-EXTERNAL-SERVICES hangs off
  // INPUT/FORWARD only). So the node reaches an externalTrafficPolicy=Local address without
  // local endpoints through the cluster endpoints (the external chain's `fib saddr type
  // local` short-circuit), and a flow to an external address of a service without
  // endpoints leaves untouched; one that stays on the node is refused in filter-input.
  const toClusterIPJump = rule(ctStateNew, lookup(daddr, SET.clusterIPs), verdict(jump(CHAIN.serviceEndpointsCheck)));
  b.addChain('filter-output', [toClusterIPJump, newJump(CHAIN.firewallCheck)], filter('output'));
  const recordAffinity = rule(ctStateNew, ctStatusDNAT, verdict(jump(CHAIN.affinityRecording)));
  b.addChain('filter-prerouting-post-dnat', [recordAffinity], filter('prerouting', PRIORITY.filterPostDNAT));
  b.addChain('filter-output-post-dnat', [newJump(CHAIN.clusterIPsCheck), recordAffinity], filter('output', PRIORITY.filterPostDNAT));
  b.addChain('nat-prerouting', [rule(verdict(jump(CHAIN.services)))], { type: 'nat', hook: 'prerouting', priority: PRIORITY.dstnat });
  b.addChain('nat-output', [rule(verdict(jump(CHAIN.services)))], { type: 'nat', hook: 'output', priority: PRIORITY.dstnat });
  b.addChain('nat-postrouting', [rule(verdict(jump(CHAIN.masquerading)))], {
    type: 'nat',
    hook: 'postrouting',
    priority: PRIORITY.srcnat,
  });

  b.addChain(CHAIN.services, servicesChain(intent));
  b.addChain(CHAIN.markForMasquerade, [rule({ kind: 'mark-set', op: 'or', value: intent.masquerade.mark })]);
  b.addChain(CHAIN.masquerading, masqueradingChain(intent.masquerade.mark));
  b.addChain(CHAIN.firewallCheck, [
    rule(
      lookup(destKey, SET.firewallIPs),
      lookup({ kind: 'concat', parts: [daddr, { kind: 'field', field: 'l4proto' }, { kind: 'field', field: 'dport' }, saddr] }, SET.firewallAllow, true),
      verdict({ kind: 'drop' }),
    ),
  ]);
  b.addChain(CHAIN.serviceEndpointsCheck, [rule({ kind: 'vmap', key: destKey, map: SET.noEndpointServices })]);
  b.addChain(CHAIN.nodePortEndpointsCheck, [
    rule(...nodePortDestination(intent), { kind: 'vmap', key: nodePortKey, map: SET.noEndpointNodePorts }),
  ]);
  b.addChain(CHAIN.clusterIPsCheck, [
    rule(lookup(daddr, SET.clusterIPs), { kind: 'reject' }),
    rule(lookup(daddr, SET.serviceCIDRs), verdict({ kind: 'drop' })),
  ]);
  b.addChain(CHAIN.reject, [rule({ kind: 'reject' })]);
  b.addChain(CHAIN.affinityRecording, affinityRecordingChain(intent));
}

export const rejectVerdict = goto(CHAIN.reject);
