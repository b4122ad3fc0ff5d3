/**
 * Dedicated chains, kube-proxy's nftables shape, for the service ports the shared path
 * cannot express: ClientIP affinity, endpoints on different ports, or more than
 * MAX_SHARED_ENDPOINTS endpoints. Masquerading for ClusterIP traffic and hairpin stays
 * shared (the `services` and `masquerading` chains).
 *
 * Affinity: kube-proxy keeps one dynamic set of clients per endpoint. kpx keeps one set for
 * the whole table, keyed `client . service port . endpoint`, with the same meaning (a client
 * is remembered per service port and endpoint, refreshed on each new connection, forgotten
 * after the service's timeout, which each entry carries). The kernel's cost of a set grows
 * with the number of sets in the table (creating one and every rule that references one
 * look sets up by name in a list), so one set loads far faster than thousands (README:
 * "What session affinity costs").
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { fibLocal, goto, jump, l4proto, lookup, rule, saddr, verdict, type TableBuilder } from './build.js';
import type { NftExpr, NftRule, NftSet, NftValue, NftVerdict } from './model.js';
import { dedicatedNames, type DedicatedNames } from './names.js';
import { CHAIN, SET } from './skeleton.js';
import { MAX_SHARED_ENDPOINTS } from './shared-paths.js';

export function needsDedicatedChains(sp: ServicePortIntent): boolean {
  const ports = new Set(sp.endpoints.map((ep) => ep.port));
  return (
    sp.affinityTimeoutSeconds !== null ||
    ports.size > 1 ||
    sp.clusterEndpoints.length > MAX_SHARED_ENDPOINTS ||
    sp.localEndpoints.length > MAX_SHARED_ENDPOINTS
  );
}

/**
 * Most clients the affinity set remembers, over all services: nft's default for a dynamic
 * set is 65535 (kube-proxy's per-endpoint sets each hold that many). The kernel allocates
 * by use, not by this bound (measured: no memory difference). A full set only stops
 * remembering new clients: the update is a rule of its own, so a failed update
 * (NFT_BREAK) never skips the DNAT after it.
 */
export const AFFINITY_SET_SIZE = 16_777_216;

const PROTOCOL_NUMBERS: Record<ServicePortIntent['protocol'], number> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * `client . ClusterIP . protocol<<16 | port . endpoint address . endpoint port`, the
 * service port and the endpoint pinned into the key. The service port's protocol and port
 * share one 32-bit slot: with six fields an IPv6 key runs out of nft 1.0.6's registers
 * (an assertion in netlink_linearize.c), five fit (56 bytes).
 */
function affinityKey(sp: ServicePortIntent, ep: EndpointIntent): NftExpr {
  return {
    kind: 'concat',
    parts: [
      saddr,
      { kind: 'pinned', field: 'daddr', value: sp.clusterIP },
      { kind: 'pinned', field: 'mark', value: PROTOCOL_NUMBERS[sp.protocol] * 65536 + sp.port },
      { kind: 'pinned', field: 'daddr', value: ep.ip },
      { kind: 'pinned', field: 'dport', value: ep.port },
    ],
  };
}

const affinitySets = {
  ip: affinitySet('ipv4_addr'),
  ip6: affinitySet('ipv6_addr'),
};

function affinitySet(addr: 'ipv4_addr' | 'ipv6_addr'): Omit<NftSet, 'elements'> {
  return { name: SET.affinity, key: [addr, addr, 'mark', addr, 'inet_service'], data: null, flags: ['dynamic', 'timeout'], size: AFFINITY_SET_SIZE };
}

function ensureEndpoint(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, ep: EndpointIntent): string {
  const name = names.endpoint(ep);
  if (b.hasChain(name)) return name;
  const rules: NftRule[] = [];
  if (sp.affinityTimeoutSeconds !== null) {
    b.addSet(affinitySets[b.family]);
    rules.push(rule({ kind: 'set-update', set: SET.affinity, key: affinityKey(sp, ep), timeout: sp.affinityTimeoutSeconds }));
  }
  rules.push(
    rule(
      { kind: 'match', left: l4proto, op: '==', right: sp.protocol },
      { kind: 'dnat', addr: { value: ep.ip }, port: { value: ep.port } },
    ),
  );
  b.addChain(name, rules);
  return name;
}

/** Affinity checks first (a client seen before returns to its endpoint), then a random pick. */
function ensureBalance(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, name: string, endpoints: readonly EndpointIntent[]): string {
  if (b.hasChain(name)) return name;
  const targets = endpoints.map((ep) => ensureEndpoint(b, sp, names, ep));
  const rules: NftRule[] = [];
  if (sp.affinityTimeoutSeconds !== null) {
    endpoints.forEach((ep, i) => rules.push(rule(lookup(affinityKey(sp, ep), SET.affinity), verdict(goto(targets[i] as string)))));
  }
  const branches: Array<[NftValue, NftVerdict]> = targets.map((target, i) => [i, goto(target)]);
  rules.push(rule({ kind: 'vmap', key: { kind: 'numgen', mod: endpoints.length }, map: branches }));
  b.addChain(name, rules);
  return name;
}

/** ClusterIP traffic: the internal policy's endpoints (non-empty). */
export function dedicatedInternal(b: TableBuilder, sp: ServicePortIntent): NftVerdict {
  const names = dedicatedNames(sp);
  return sp.internal.policy === 'local'
    ? goto(ensureBalance(b, sp, names, names.local, sp.localEndpoints))
    : goto(ensureBalance(b, sp, names, names.cluster, sp.clusterEndpoints));
}

/** External traffic (addresses and NodePort alike); the cluster list must be non-empty. */
export function dedicatedExternal(b: TableBuilder, intent: RulesetIntent, sp: ServicePortIntent): NftVerdict {
  const names = dedicatedNames(sp);
  if (b.hasChain(names.external)) return goto(names.external);
  const cluster = ensureBalance(b, sp, names, names.cluster, sp.clusterEndpoints);
  const rules: NftRule[] = [];
  if (sp.external?.policy !== 'local') {
    rules.push(rule(verdict(jump(CHAIN.markForMasquerade))), rule(verdict(goto(cluster))));
  } else {
    if (intent.podCIDRs !== null) rules.push(rule(lookup(saddr, SET.podCIDRs), verdict(goto(cluster))));
    rules.push(rule(fibLocal('saddr'), verdict(jump(CHAIN.markForMasquerade))));
    rules.push(rule(fibLocal('saddr'), verdict(goto(cluster))));
    if (sp.localEndpoints.length > 0) {
      rules.push(rule(verdict(goto(ensureBalance(b, sp, names, names.local, sp.localEndpoints)))));
    }
  }
  b.addChain(names.external, rules);
  return goto(names.external);
}
