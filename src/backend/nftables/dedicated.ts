/**
 * Dedicated chains, kube-proxy's nftables shape, for the service ports the shared path
 * cannot express: ClientIP affinity, endpoints on different ports, or more than
 * MAX_SHARED_ENDPOINTS endpoints. Masquerading for ClusterIP traffic and hairpin stays
 * shared (the `services` and `masquerading` chains).
 *
 * Affinity: kube-proxy keeps one dynamic set of clients per endpoint. kpx keeps one per
 * service port, keyed `client . endpoint address . endpoint port`, with the same meaning
 * (a client is remembered per endpoint, refreshed on each new connection, forgotten after
 * the timeout). The kernel's cost of a set grows with the number of sets in the table
 * (creation and every rule's reference look sets up by name in a list), so 10x fewer sets
 * load several times faster (README: "What session affinity costs").
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { fibLocal, goto, jump, l4proto, lookup, rule, saddr, verdict, type TableBuilder } from './build.js';
import type { NftExpr, NftRule, NftValue, NftVerdict } from './model.js';
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
 * Most clients one service port's affinity set remembers: kube-proxy's per-endpoint sets
 * hold nft's default 65535 each, so this keeps that capacity for up to 16 endpoints. A
 * full set only stops remembering new clients: the update is a rule of its own, so a
 * failed update (NFT_BREAK) never skips the DNAT after it.
 */
export const AFFINITY_SET_SIZE = 1_048_576;

/** `client . endpoint address . endpoint port`: the endpoint is pinned into the key. */
function affinityKey(ep: EndpointIntent): NftExpr {
  return {
    kind: 'concat',
    parts: [saddr, { kind: 'pinned', field: 'daddr', value: ep.ip }, { kind: 'pinned', field: 'dport', value: ep.port }],
  };
}

function ensureAffinitySet(b: TableBuilder, names: DedicatedNames, timeout: number): void {
  b.addSet({
    name: names.affinity,
    key: [b.addrType, b.addrType, 'inet_service'],
    data: null,
    flags: ['dynamic', 'timeout'],
    timeout,
    size: AFFINITY_SET_SIZE,
  });
}

function ensureEndpoint(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, ep: EndpointIntent): string {
  const name = names.endpoint(ep);
  if (b.hasChain(name)) return name;
  const rules: NftRule[] = [];
  if (sp.affinityTimeoutSeconds !== null) {
    ensureAffinitySet(b, names, sp.affinityTimeoutSeconds);
    rules.push(rule({ kind: 'set-update', set: names.affinity, key: affinityKey(ep) }));
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
    endpoints.forEach((ep, i) => rules.push(rule(lookup(affinityKey(ep), names.affinity), verdict(goto(targets[i] as string)))));
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
