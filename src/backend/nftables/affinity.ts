/**
 * ClientIP session affinity as a layer in front of the pick, without per-endpoint chains.
 *
 * kube-proxy keeps one dynamic set of clients per endpoint and a chain per endpoint that
 * records the client and DNATs. kpx keeps one set for the table (`affinity`), keyed
 * `client . ClusterIP . protocol<<16|port . endpoint address . endpoint port`, with the same
 * meaning: a client is remembered per service port and endpoint, refreshed by each new
 * connection, forgotten after the service's timeout (each entry carries its own).
 *
 * - **Check** (nat, before the pick): `services` jumps through `affinity-service-ips` /
 *   `affinity-nodeports` to the service port's check chain, one rule per endpoint of the
 *   path's list: `<key of that endpoint> @affinity dnat to <endpoint>`. A miss returns to
 *   `services`, whose dispatch then picks as for any service (shared or dedicated path).
 *   The external check chain applies the external policy first (masquerade mark, pods and
 *   the node to the cluster list), exactly as the pick path does.
 * - **Record** (filter, priority dstnat+10, after DNAT): a new connection kpx DNATed to an
 *   affinity service is found by its original destination (`ct original`) in
 *   `affinity-record-ips` / `affinity-record-nodeports`, and its chain does `update
 *   @affinity { client . service port . ip daddr . th dport timeout … }`: the endpoint is
 *   whatever the check or the pick chose.
 *
 * Measured (README, "What session affinity costs"): per-endpoint chains made affinity the
 * kernel's largest cost at 44k services; this shape has one check and one record chain per
 * service port instead.
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { daddr, dport, goto, jump, l4proto, lookup, rule, saddr, type TableBuilder } from './build.js';
import { externalPolicyRules } from './external-policy.js';
import type { NftExpr, NftSet, NftStatement, NftValue } from './model.js';
import { affinityNames, type Domain } from './names.js';
import { SET } from './names.js';

/**
 * Most clients the affinity set remembers, over all services: nft's default for a dynamic
 * set is 65535 (kube-proxy's per-endpoint sets each hold that many). The kernel allocates
 * by use, not by this bound (measured: no memory difference). A full set only stops
 * remembering new clients: the record chain runs after the DNAT.
 */
export const AFFINITY_SET_SIZE = 16_777_216;

const PROTOCOL_NUMBERS: Record<ServicePortIntent['protocol'], number> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * The service-port part of the key, pinned: ClusterIP, then protocol and port in one
 * 32-bit slot (with six key fields an IPv6 key runs out of nft 1.0.6's registers, an
 * assertion in netlink_linearize.c; five fit in 56 bytes).
 */
function servicePart(sp: ServicePortIntent): NftExpr[] {
  return [
    { kind: 'pinned', field: 'daddr', value: sp.clusterIP },
    { kind: 'pinned', field: 'mark', value: PROTOCOL_NUMBERS[sp.protocol] * 65536 + sp.port },
  ];
}

/** The key a check looks up: the endpoint pinned too (nothing is DNATed yet). */
function checkKey(service: readonly NftExpr[], ep: EndpointIntent): NftExpr {
  return {
    kind: 'concat',
    parts: [saddr, ...service, { kind: 'pinned', field: 'daddr', value: ep.ip }, { kind: 'pinned', field: 'dport', value: ep.port }],
  };
}

/** The key recorded after DNAT: the endpoint is the packet's destination now. */
function recordKey(sp: ServicePortIntent): NftExpr {
  return { kind: 'concat', parts: [saddr, ...servicePart(sp), daddr, dport] };
}

function affinitySet(addr: 'ipv4_addr' | 'ipv6_addr'): Omit<NftSet, 'elements'> {
  return { name: SET.affinity, key: [addr, addr, 'mark', addr, 'inet_service'], data: null, flags: ['dynamic', 'timeout'], size: AFFINITY_SET_SIZE };
}

const affinitySets = { ip: affinitySet('ipv4_addr'), ip6: affinitySet('ipv6_addr') };

/** One rule per endpoint: a remembered client goes straight back to it. */
function ensureChecks(b: TableBuilder, sp: ServicePortIntent, name: string, endpoints: readonly EndpointIntent[]): string {
  if (b.hasChain(name)) return name;
  b.addSet(affinitySets[b.family]);
  // Parts every rule of the chain shares (the IR is never changed once built).
  const protocol: NftStatement = { kind: 'match', left: l4proto, op: '==', right: sp.protocol };
  const service = servicePart(sp);
  const rules = endpoints.map((ep) =>
    rule(protocol, lookup(checkKey(service, ep), SET.affinity), { kind: 'dnat', addr: { value: ep.ip }, port: { value: ep.port } }),
  );
  b.addChain(name, rules);
  return name;
}

function ensureRecord(b: TableBuilder, sp: ServicePortIntent): string {
  const name = affinityNames(sp).record;
  if (b.hasChain(name)) return name;
  b.addSet(affinitySets[b.family]);
  const timeout = sp.affinityTimeoutSeconds ?? 0;
  b.addChain(name, [rule({ kind: 'set-update', set: SET.affinity, key: recordKey(sp), timeout })]);
  return name;
}

/** `key`: the dispatch key, `addr . proto . port` or `proto . nodePort`. */
function addEntry(b: TableBuilder, sp: ServicePortIntent, domain: Domain, key: NftValue, check: string): void {
  const service = domain === 'service';
  b.addElement(service ? SET.affinityServiceIPs : SET.affinityNodePorts, key, jump(check));
  b.addElement(service ? SET.affinityRecordIPs : SET.affinityRecordNodePorts, key, goto(ensureRecord(b, sp)));
}

/** ClusterIP traffic to `key`, which the service port holds and can serve. */
export function affinityInternal(b: TableBuilder, sp: ServicePortIntent, key: NftValue): void {
  if (sp.affinityTimeoutSeconds === null) return;
  const names = affinityNames(sp);
  const check =
    sp.internal.policy === 'local'
      ? ensureChecks(b, sp, names.local, sp.localEndpoints)
      : ensureChecks(b, sp, names.cluster, sp.clusterEndpoints);
  addEntry(b, sp, 'service', key, check);
}

/** External traffic to `key` (an address or a NodePort) that the pick path can serve. */
export function affinityExternal(b: TableBuilder, intent: RulesetIntent, sp: ServicePortIntent, domain: Domain, key: NftValue): void {
  if (sp.affinityTimeoutSeconds === null) return;
  const names = affinityNames(sp);
  if (!b.hasChain(names.external)) {
    const policy = sp.external?.policy === 'local' ? 'local' : 'cluster';
    const cluster = ensureChecks(b, sp, names.cluster, sp.clusterEndpoints);
    const local = policy === 'local' && sp.localEndpoints.length > 0 ? ensureChecks(b, sp, names.local, sp.localEndpoints) : null;
    b.addChain(names.external, externalPolicyRules(policy, intent.podCIDRs !== null, cluster, local));
  }
  addEntry(b, sp, domain, key, names.external);
}
