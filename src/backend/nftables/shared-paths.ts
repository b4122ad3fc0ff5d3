/**
 * The shared data path: services whose endpoints all use one port, without affinity, with
 * at most MAX_SHARED_ENDPOINTS endpoints per list. They get no chain of their own. Their
 * destination's verdict is `goto balance-<n>` (or an external variant); `balance-<n>`
 * picks an index with `numgen random mod n` (exactly 1/n each) and `endpoint-<i>` DNATs
 * through the maps `endpoint-ips-<i>` and `endpoint-ports`, keyed by the destination.
 *
 * Why per-index maps rather than one map keyed `… . numgen` with `addr . port` data: nft
 * 1.0.6's JSON parser accepts neither a concatenated map data type (`"map"` must be one
 * type name) nor `typeof`, so a numgen-keyed map cannot be declared from JSON.
 */
import type { EndpointIntent, RulesetIntent } from '../../compile/intent.js';
import { destKey, fibLocal, goto, jump, lookup, nodePortKey, rule, saddr, verdict, type TableBuilder } from './build.js';
import type { NftRule, NftValue, NftVerdict } from './model.js';
import { sharedNames, type Domain, type ListKind } from './names.js';
import { CHAIN, SET } from './skeleton.js';

/** Larger lists would need as many index maps; such services get dedicated chains instead. */
export const MAX_SHARED_ENDPOINTS = 64;

function keyTypes(b: TableBuilder, domain: Domain) {
  return domain === 'service' ? [b.addrType, 'inet_proto' as const, 'inet_service' as const] : (['inet_proto', 'inet_service'] as const);
}

function ensureBalance(b: TableBuilder, domain: Domain, list: ListKind, n: number): string {
  const name = sharedNames.balance(domain, list, n);
  if (b.hasChain(name)) return name;
  const key = domain === 'service' ? destKey : nodePortKey;
  const ports = sharedNames.endpointPorts(domain);
  b.addSet({ name: ports, key: [...keyTypes(b, domain)], data: 'inet_service', flags: [] });
  const branches: Array<[NftValue, NftVerdict]> = [];
  for (let i = 0; i < n; i++) {
    const ips = sharedNames.endpointIPs(domain, list, i);
    const chain = sharedNames.endpoint(domain, list, i);
    b.addSet({ name: ips, key: [...keyTypes(b, domain)], data: b.addrType, flags: [] });
    b.addChain(chain, [rule({ kind: 'dnat', addr: { map: ips, key }, port: { map: ports, key } })]);
    branches.push([i, goto(chain)]);
  }
  b.addChain(name, [rule({ kind: 'vmap', key: { kind: 'numgen', mod: n }, map: branches })]);
  return name;
}

function fillList(b: TableBuilder, domain: Domain, list: ListKind, key: NftValue, endpoints: readonly EndpointIntent[]): void {
  endpoints.forEach((ep, i) => b.addElement(sharedNames.endpointIPs(domain, list, i), { key, value: ep.ip }));
  const first = endpoints[0];
  if (first) b.addElement(sharedNames.endpointPorts(domain), { key, value: first.port });
}

/** ClusterIP traffic: balance over the internal policy's endpoints (non-empty). */
export function sharedInternal(b: TableBuilder, key: NftValue, endpoints: readonly EndpointIntent[]): NftVerdict {
  const chain = ensureBalance(b, 'service', 'primary', endpoints.length);
  fillList(b, 'service', 'primary', key, endpoints);
  return goto(chain);
}

function ensureExternalCluster(b: TableBuilder, domain: Domain, n: number): string {
  const name = sharedNames.external(domain, n);
  const balance = ensureBalance(b, domain, 'primary', n);
  b.addChain(name, [rule(verdict(jump(CHAIN.markForMasquerade))), rule(verdict(goto(balance)))]);
  return name;
}

/**
 * externalTrafficPolicy Local: pods (by pod CIDR) and the node itself (masqueraded) use
 * the cluster-wide endpoints; everyone else only this node's. With none here (nl = 0)
 * the chain ends without DNAT and `no-endpoint-*` drops the packet in filter.
 */
function ensureExternalLocal(b: TableBuilder, intent: RulesetIntent, domain: Domain, nc: number, nl: number): string {
  const name = sharedNames.externalLocal(domain, nc, nl);
  const cluster = ensureBalance(b, domain, 'primary', nc);
  const rules: NftRule[] = [];
  if (intent.podCIDRs !== null) rules.push(rule(lookup(saddr, SET.podCIDRs), verdict(goto(cluster))));
  rules.push(rule(fibLocal('saddr'), verdict(jump(CHAIN.markForMasquerade))));
  rules.push(rule(fibLocal('saddr'), verdict(goto(cluster))));
  if (nl > 0) rules.push(rule(verdict(goto(ensureBalance(b, domain, 'local', nl)))));
  b.addChain(name, rules);
  return name;
}

/**
 * External traffic to `key` (an external/LB address, or a NodePort). `cluster` must be
 * non-empty; `local` is used only with the Local policy.
 */
export function sharedExternal(
  b: TableBuilder,
  intent: RulesetIntent,
  domain: Domain,
  key: NftValue,
  policy: 'cluster' | 'local',
  cluster: readonly EndpointIntent[],
  local: readonly EndpointIntent[],
): NftVerdict {
  const chain =
    policy === 'cluster'
      ? ensureExternalCluster(b, domain, cluster.length)
      : ensureExternalLocal(b, intent, domain, cluster.length, local.length);
  fillList(b, domain, 'primary', key, cluster);
  if (policy === 'local') fillList(b, domain, 'local', key, local);
  return goto(chain);
}
