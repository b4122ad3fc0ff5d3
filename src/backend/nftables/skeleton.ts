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
  lookup,
  nodePortKey,
  rule,
  saddr,
  verdict,
  type TableBuilder,
} from './build.js';
import type { NftExpr, NftRule, NftStatement } from './model.js';

export const SET = {
  clusterIPs: 'cluster-ips',
  serviceCIDRs: 'service-cidrs',
  podCIDRs: 'pod-cidrs',
  nodePortAddresses: 'nodeport-addresses',
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
  hairpin: 'hairpin-endpoints',
  /** Declared by the first service port with ClientIP affinity (dedicated.ts). */
  affinity: 'affinity',
} as const;

export const CHAIN = {
  services: 'services',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  firewallCheck: 'firewall-check',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  clusterIPsCheck: 'cluster-ips-check',
  reject: 'reject-chain',
} as const;

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

  for (const cidr of intent.serviceCIDRs) b.addElement(SET.serviceCIDRs, { key: cidrValue(cidr) });
  for (const cidr of intent.podCIDRs ?? []) b.addElement(SET.podCIDRs, { key: cidrValue(cidr) });
  for (const cidr of intent.nodePortCIDRs) b.addElement(SET.nodePortAddresses, { key: cidrValue(cidr) });
}

/** NodePorts answer on local addresses inside nodePortCIDRs, never on loopback. */
function nodePortDestination(intent: RulesetIntent): NftStatement[] {
  const loopback = intent.family === 4 ? { prefix: '127.0.0.0', len: 8 } : '::1';
  return [
    fibLocal('daddr'),
    { kind: 'match', left: daddr, op: '!=', right: loopback },
    lookup(daddr, SET.nodePortAddresses),
  ];
}

function servicesChain(intent: RulesetIntent): NftRule[] {
  const toClusterIP = lookup(daddr, SET.clusterIPs);
  const mark = verdict(jump(CHAIN.markForMasquerade));
  const rules: NftRule[] = [];
  if (intent.masquerade.all) rules.push(rule(toClusterIP, mark));
  else if (intent.podCIDRs !== null) rules.push(rule(toClusterIP, lookup(saddr, SET.podCIDRs, true), mark));
  rules.push(rule({ kind: 'vmap', key: destKey, map: SET.serviceIPs }));
  rules.push(rule(...nodePortDestination(intent), { kind: 'vmap', key: nodePortKey, map: SET.serviceNodePorts }));
  return rules;
}

function masqueradingChain(mark: number): NftRule[] {
  const hairpin: NftExpr = { kind: 'concat', parts: [saddr, daddr] };
  return [
    rule(
      { kind: 'match', left: { kind: 'ct-status' }, op: '==', right: 'dnat' },
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
  b.addChain('filter-output-post-dnat', [newJump(CHAIN.clusterIPsCheck)], filter('output', PRIORITY.filterPostDNAT));
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
}

export const rejectVerdict = goto(CHAIN.reject);
