/**
 * Dedicated chains, kube-proxy's nftables shape, for the service ports the shared path
 * cannot express: ClientIP affinity (per-endpoint timeout sets), endpoints on different
 * ports, or more than MAX_SHARED_ENDPOINTS endpoints. Masquerading for ClusterIP traffic
 * and hairpin stays shared (the `services` and `masquerading` chains).
 */
import type { EndpointIntent, RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import { fibLocal, goto, jump, l4proto, lookup, rule, saddr, verdict, type TableBuilder } from './build.js';
import type { NftRule, NftValue, NftVerdict } from './model.js';
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

function ensureEndpoint(b: TableBuilder, sp: ServicePortIntent, names: DedicatedNames, ep: EndpointIntent): string {
  const name = names.endpoint(ep);
  if (b.hasChain(name)) return name;
  const rules: NftRule[] = [];
  if (sp.affinityTimeoutSeconds !== null) {
    const set = names.affinity(ep);
    b.addSet({ name: set, key: [b.addrType], data: null, flags: ['dynamic', 'timeout'], timeout: sp.affinityTimeoutSeconds });
    rules.push(rule({ kind: 'set-update', set, key: saddr }));
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
    endpoints.forEach((ep, i) => rules.push(rule(lookup(saddr, names.affinity(ep)), verdict(goto(targets[i] as string)))));
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
