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
import { destKey, goto, nodePortKey, rule, sharedBundle, type SharedBundle, type TableBuilder } from './build.js';
import { externalPolicyRules } from './external-policy.js';
import type { NftChain, NftFamily, NftSet, NftValue, NftVerdict } from './model.js';
import { sharedNames, type Domain, type ListKind } from './names.js';

/** Larger lists would need as many index maps; such services get dedicated chains instead. */
export const MAX_SHARED_ENDPOINTS = 64;

function keyTypes(b: TableBuilder, domain: Domain) {
  return domain === 'service' ? [b.addrType, 'inet_proto' as const, 'inet_service' as const] : (['inet_proto', 'inet_service'] as const);
}

/**
 * Built once per process and shape, then handed to every part by reference: 10k service
 * ports over `balance-10` share one set of objects instead of building 10k copies (the
 * objects are never mutated; parts only count them).
 */
const bundles = new Map<string, SharedBundle>();

function useBundle(b: TableBuilder, id: string, build: () => SharedBundle): string {
  const cacheKey = `${b.family} ${id}`;
  let bundle = bundles.get(cacheKey);
  if (!bundle) bundles.set(cacheKey, (bundle = build()));
  b.useBundle(bundle);
  return bundle.name;
}

/**
 * The balance bundles, by family, domain, list and endpoint count: looked up for nearly every
 * service port, so without building a key string (and a closure) per lookup.
 */
const balanceBundles: Record<NftFamily, Record<Domain, Record<ListKind, SharedBundle[]>>> = {
  ip: { service: { primary: [], local: [] }, nodeport: { primary: [], local: [] } },
  ip6: { service: { primary: [], local: [] }, nodeport: { primary: [], local: [] } },
};

function ensureBalance(b: TableBuilder, domain: Domain, list: ListKind, n: number): string {
  const cache = balanceBundles[b.family][domain][list];
  const bundle = (cache[n] ??= balanceBundle(b, domain, list, n));
  b.useBundle(bundle);
  return bundle.name;
}

function balanceBundle(b: TableBuilder, domain: Domain, list: ListKind, n: number): SharedBundle {
  const key = domain === 'service' ? destKey : nodePortKey;
  const ports = sharedNames.endpointPorts(domain);
  const decls: Array<Omit<NftSet, 'elements'>> = [{ name: ports, key: [...keyTypes(b, domain)], data: 'inet_service', flags: [] }];
  const chains: NftChain[] = [];
  const branches: Array<[NftValue, NftVerdict]> = [];
  const ipMaps = sharedNames.endpointIPsList(domain, list, n);
  for (let i = 0; i < n; i++) {
    const ips = ipMaps[i]!;
    const chain = sharedNames.endpoint(domain, list, i);
    decls.push({ name: ips, key: [...keyTypes(b, domain)], data: b.addrType, flags: [] });
    chains.push({ name: chain, base: null, rules: [rule({ kind: 'dnat', addr: { map: ips, key }, port: { map: ports, key } })] });
    branches.push([i, goto(chain)]);
  }
  const name = sharedNames.balance(domain, list, n);
  chains.push({ name, base: null, rules: [rule({ kind: 'vmap', key: { kind: 'numgen', mod: n }, map: branches })] });
  return sharedBundle(name, decls, chains);
}

function fillList(b: TableBuilder, domain: Domain, list: ListKind, key: NftValue, endpoints: readonly EndpointIntent[]): void {
  b.addIndexed(sharedNames.endpointIPsList(domain, list, endpoints.length), key, endpoints);
  const first = endpoints[0];
  if (first) b.addElement(sharedNames.endpointPorts(domain), key, first.port);
}

/** ClusterIP traffic: balance over the internal policy's endpoints (non-empty). */
export function sharedInternal(b: TableBuilder, key: NftValue, endpoints: readonly EndpointIntent[]): NftVerdict {
  const chain = ensureBalance(b, 'service', 'primary', endpoints.length);
  fillList(b, 'service', 'primary', key, endpoints);
  return goto(chain);
}

function ensureExternalCluster(b: TableBuilder, domain: Domain, n: number): string {
  const balance = ensureBalance(b, domain, 'primary', n);
  return useBundle(b, `external ${domain} ${n}`, () => {
    const name = sharedNames.external(domain, n);
    return sharedBundle(name, [], [{ name, base: null, rules: externalPolicyRules('cluster', false, balance, null) }]);
  });
}

/** externalTrafficPolicy Local; with none here (nl = 0) `no-endpoint-*` drops what falls through. */
function ensureExternalLocal(b: TableBuilder, intent: RulesetIntent, domain: Domain, nc: number, nl: number): string {
  const cluster = ensureBalance(b, domain, 'primary', nc);
  const local = nl > 0 ? ensureBalance(b, domain, 'local', nl) : null;
  const podCIDRs = intent.podCIDRs !== null;
  return useBundle(b, `external-local ${domain} ${nc} ${nl} ${podCIDRs}`, () => {
    const name = sharedNames.externalLocal(domain, nc, nl);
    return sharedBundle(name, [], [{ name, base: null, rules: externalPolicyRules('local', podCIDRs, cluster, local) }]);
  });
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
